"""The log shared by several processes at once (the window, `kezhan sync`, a `kezhan doctor` beside
them), rotating small so that every process meets a rotation made by another."""

from __future__ import annotations

import subprocess
import sys

WRITERS, RECORDS = 4, 300

SCRIPT = """
import logging, sys
from app.logsetup import SharedFileHandler
handler = SharedFileHandler(sys.argv[1], maxBytes=8000, backupCount=200)
handler.setFormatter(logging.Formatter("%(message)s"))
log = logging.getLogger("w"); log.addHandler(handler); log.setLevel(logging.INFO)
for i in range(int(sys.argv[3])):
    log.info("writer %s record %05d " + "x" * 40, sys.argv[2], i)
"""


def test_four_processes_lose_no_record_and_tear_no_line(tmp_path):
    path = tmp_path / "kezhan.log"
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(path), str(w), str(RECORDS)])
             for w in range(WRITERS)]
    assert [p.wait(timeout=120) for p in procs] == [0] * WRITERS
    files = sorted(tmp_path.glob("kezhan.log*"))
    files = [f for f in files if not f.name.endswith(".lock")]
    assert len(files) >= 5  # it rotated many times while four processes wrote
    lines = [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == WRITERS * RECORDS
    assert all(line.startswith("writer ") and line.endswith("x" * 40) for line in lines)
    assert len(set(lines)) == WRITERS * RECORDS
    assert all(f.stat().st_size <= 8000 for f in files)
