"""`kezhan gui` as a technician starts it, in processes of their own: one window per database, and
none on a damaged file."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.gui.line_server import enrolled_station

pytestmark = pytest.mark.gui


def _station(server, tmp_path):
    """An enrolled station file and a data folder whose kezhan.toml points at it and the server."""
    from app import config as app_config
    from app.store.users import ensure_user

    path = tmp_path / "station.sqlite3"
    db = enrolled_station(server, path)
    with db.transaction() as session:  # set up, so kezhan gui opens the counter, not the set-up wizard
        ensure_user(session, "9901", "技术员", "technician", "tech-secret")
    db.dispose()
    home = tmp_path / "home"
    home.mkdir()
    cfg = app_config.Config()
    cfg.database.path, cfg.server.url = str(path), server.url
    cfg.printer.target = f"file:{tmp_path / 'printer.bin'}"
    app_config.save(cfg, home / "kezhan.toml")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KEZHAN_HOME=str(home), KEZHAN_LANG="en")
    return path, env


def _gui(env, **kw):
    return [sys.executable, "-m", "app", "gui"], dict(env=env, cwd=os.getcwd(), text=True, **kw)


def test_a_second_kezhan_gui_on_one_database_is_refused_in_one_line(server, tmp_path):
    path, env = _station(server, tmp_path)
    args, kw = _gui(env)
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    try:
        owner = path.with_name(path.name + ".owner")
        for _ in range(600):  # until the first window holds the database (or has died)
            if owner.exists() or first.poll() is not None:
                break
            time.sleep(0.1)
        assert first.poll() is None, first.stderr.read()
        second = subprocess.run(args, capture_output=True, timeout=90, **kw)
        assert second.returncode != 0
        assert second.stderr.count("\n") == 1, second.stderr
        assert f"already open in kezhan gui (process {first.pid}" in second.stderr
        assert "Only one counter window per database" in second.stderr
        assert first.poll() is None  # the first window goes on
    finally:
        first.terminate()
        first.wait(timeout=30)


def test_kezhan_gui_refuses_a_damaged_file_with_the_way_out(server, tmp_path):
    path, env = _station(server, tmp_path)
    from tests.integration.store.test_store_damage import _scribble

    _scribble(path, "vehicle_classes")  # a page the window never reads before the first sale
    args, kw = _gui(env)
    result = subprocess.run(args, capture_output=True, timeout=90, **kw)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "the database file is damaged; nothing can be sold into it" in result.stderr
    for way_out in ("kezhan db check --full", "kezhan db restore", "kezhan sync enrol"):
        assert way_out in result.stderr
