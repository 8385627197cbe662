"""What the machine around the terminal can get wrong — a config that is a folder, a data folder
that is a file, a full disk under the log — is said in one line, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def kezhan(home, *args, **env):
    env = dict(os.environ, KEZHAN_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.parametrize("command", [["sync", "--status"], ["db", "check"], ["db", "backup"]])
def test_kezhan_toml_that_is_a_folder_is_one_line(kezhan_home, command):
    (kezhan_home / "kezhan.toml").mkdir()
    result = kezhan(kezhan_home, *command, KEZHAN_LANG="en")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "is a folder, not a file" in result.stderr and "kezhan.toml" in result.stderr


def test_the_doctor_names_a_kezhan_toml_that_is_a_folder_on_its_config_line(kezhan_home):
    (kezhan_home / "kezhan.toml").mkdir()
    result = kezhan(kezhan_home, "doctor", KEZHAN_LANG="en")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    config_line = next(line for line in result.stdout.splitlines() if line.startswith("✗ config"))
    assert "is a folder, not a file" in config_line


@pytest.mark.parametrize("command", [["sync", "--status"], ["db", "check"], ["gui"]])
def test_kezhan_home_that_is_a_file_is_one_line(tmp_path, command):
    home = tmp_path / "home"
    home.write_text("not a folder")
    result = kezhan(home, *command, KEZHAN_LANG="en")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"KEZHAN_HOME must be a folder, but {home} is a file" in result.stderr
    assert home.read_text() == "not a folder"


def test_sync_status_on_a_zero_byte_database_refuses_and_leaves_it(kezhan_home):
    db = kezhan_home / "kezhan.sqlite3"
    db.write_bytes(b"")
    result = kezhan(kezhan_home, "sync", "--status", KEZHAN_LANG="en")
    assert result.returncode != 0
    assert "the database file is empty (0 bytes)" in result.stderr and "kezhan db restore" in result.stderr
    assert result.stderr.count("\n") == 1
    assert db.stat().st_size == 0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs a device that is always full")
def test_a_full_disk_under_the_log_is_said_once(kezhan_home):
    # /dev/full fails every write with ENOSPC, as a full data disk does.
    logs = kezhan_home / "logs"
    logs.mkdir()
    (logs / "kezhan.log").symlink_to("/dev/full")
    script = ("from app import logsetup; import logging\n"
              "logsetup.configure()\n"
              "for i in range(200): logging.getLogger('kezhan.test').info('record %d', i)\n"
              "print('went on')\n")
    env = dict(os.environ, KEZHAN_HOME=str(kezhan_home))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stdout == "went on\n"
    assert result.stderr.count("\n") == 1, result.stderr[:2000]
    assert "cannot write the log file" in result.stderr and "No space left on device" in result.stderr
