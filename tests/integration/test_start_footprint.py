"""What `kezhan gui` loads on its way to the window: Alembic only when a migration is due, the
reference server's stack never, and the display asked about without a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import qtprobe
from app.store import engine
from app.store.engine import SCHEMA_HEAD, known_revisions, migrate

ROOT = Path(__file__).resolve().parents[2]
SERVER_STACK = ["alembic", "fastapi", "sync.server", "starlette", "uvicorn"]


def test_the_schema_head_constant_is_alembics_head():
    # A new migration must move SCHEMA_HEAD with it (app/store/engine.py).
    assert SCHEMA_HEAD == known_revisions()[1]


def _python(code: str, **env) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_opening_a_current_file_does_not_load_alembic(tmp_path):
    path = tmp_path / "k.sqlite3"
    migrate(path)
    code = ("import sys; from app.services.station import open_station; "
            f"db = open_station({str(path)!r}, verify=True); db.dispose(); print('alembic' in sys.modules)")
    assert _python(code) == "False"


def test_a_file_behind_the_constant_is_still_migrated(tmp_path, monkeypatch):
    """The fast path trusts the constant only when the versions folder agrees: a constant left behind
    by a new migration costs the fast path, never the migration."""
    path = tmp_path / "k.sqlite3"
    migrate(path)
    monkeypatch.setattr(engine, "SCHEMA_HEAD", "0001")
    assert not engine._is_head("0001")
    assert migrate(path)["to"] == known_revisions()[1]


@pytest.mark.slow
def test_the_window_opens_on_an_enrolled_station_without_the_server_stack(tmp_path):
    from app import demo

    station = demo.start_station(tmp_path / "station", with_reader=False)
    station.stop()
    report = tmp_path / "shown.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KEZHAN_HOME": str(tmp_path / "home"),
           "KEZHAN_CONFIG": str(station.config.source), "KEZHAN_SHOWN_REPORT": str(report)}
    done = subprocess.run([sys.executable, "-m", "app", "gui"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    shown = json.loads(report.read_text(encoding="utf-8"))
    assert shown["rss"] > 0 and shown["modules"] > 100  # the window was shown and reported
    assert not set(shown["loaded"]) & set(SERVER_STACK), shown["loaded"]
    # The sign-in screen is up before the store's ORM, the services, the sync client and the
    # terminal's key are loaded; they had loaded when the window reported itself ready.
    assert shown["loaded_at_shown"] == []
    assert shown["ready"] >= shown["shown"] and shown["ready_modules"] > shown["modules"]


@pytest.mark.slow
def test_a_damaged_station_found_after_the_first_paint_still_ends_the_command_with_its_error(tmp_path):
    """The file is checked once the sign-in screen is up: the window goes and `kezhan gui` exits with
    the damage named in one line and the storage exit code, as it did when it checked first."""
    import sqlite3

    from app import demo

    station = demo.start_station(tmp_path / "station", with_reader=False)
    station.stop()
    path = Path(station.config.db_path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'stations'").fetchone()[0]
    con.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size:root * page_size] = b"\xde\xad\xbe\xef" * (page_size // 4)
    path.write_bytes(bytes(data))
    report = tmp_path / "shown.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KEZHAN_HOME": str(tmp_path / "home"),
           "KEZHAN_CONFIG": str(station.config.source), "KEZHAN_SHOWN_REPORT": str(report), "KEZHAN_LANG": "en"}
    done = subprocess.run([sys.executable, "-m", "app", "gui"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "damaged" in done.stderr and "Traceback" not in done.stderr
    shown = json.loads(report.read_text(encoding="utf-8"))
    assert "shown" in shown and "ready" not in shown  # the window was up; the services never were


def _no_child(*args, **kwargs):
    raise AssertionError(f"a child process was started: {args}")


def test_an_unreachable_x_display_is_reported_without_a_child_process(monkeypatch):
    if qtprobe.plugin_dir() is None or not (qtprobe.plugin_dir() / "platforms" / "libqxcb.so").is_file():
        pytest.skip("no X11 platform plugin here")
    monkeypatch.setenv("DISPLAY", ":87")  # no server there
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("subprocess.run", _no_child)
    problem = qtprobe.display_problem()
    assert problem is not None and "cannot connect to the X display ':87'" in problem


def test_a_reachable_x_display_is_accepted_without_a_child_process(monkeypatch, tmp_path):
    import shutil

    if not shutil.which("Xvfb") or qtprobe.plugin_dir() is None:
        pytest.skip("needs Xvfb and Qt's X11 plugin")
    display = f":{200 + os.getpid() % 300}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
        import time

        for _ in range(100):
            if socket.exists():
                break
            time.sleep(0.05)
        monkeypatch.setenv("DISPLAY", display)
        monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        monkeypatch.setattr("subprocess.run", _no_child)
        assert qtprobe.display_problem() is None
    finally:
        server.terminate()
        server.wait(10)


def test_a_command_needing_the_left_out_server_says_which_part_to_install(monkeypatch, capsys, tmp_path):
    from app.cli import main

    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path))
    monkeypatch.setenv("KEZHAN_LANG", "en")
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as in the release bundle: not there
    for name in [m for m in sys.modules if m.startswith("sync.server")]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["demo", "--headless", "--no-screens", "--out", str(tmp_path / "out")]) == 69
    assert "optional demo server part (kezhan-demo-server)" in capsys.readouterr().err
