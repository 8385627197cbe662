"""The OS file lock under the window's single-instance lock and the shared log (app/oslock.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.oslock import FileLock, Timeout

ROOT = Path(__file__).resolve().parents[3]


def test_a_second_holder_in_the_same_process_waits_then_gives_up(tmp_path):
    path = tmp_path / "x.lock"
    first = FileLock(path, timeout=0)
    first.acquire()
    second = FileLock(path)
    started = time.monotonic()
    with pytest.raises(Timeout):
        second.acquire(timeout=0.2)
    assert time.monotonic() - started >= 0.2
    assert not second.is_locked
    first.release()
    with second:  # free again: the context manager takes and gives it back
        assert second.is_locked
    assert not second.is_locked


def test_the_lock_of_a_process_that_died_is_free(tmp_path):
    path = tmp_path / "x.lock"
    script = textwrap.dedent(f"""
        import os, sys
        from app.oslock import FileLock
        FileLock({str(path)!r}, timeout=0).acquire()
        print("held", flush=True)
        sys.stdin.readline()
        os._exit(9)  # no release: the OS drops the lock with the process
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(Timeout):
            FileLock(path, timeout=0).acquire()
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(timeout=30)
    finally:
        child.kill()
    lock = FileLock(path, timeout=0)
    lock.acquire()
    lock.release()
