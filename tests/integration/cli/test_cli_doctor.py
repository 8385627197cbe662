"""`kezhan doctor` as a technician runs it: a real data directory, a real database file."""

import json
import subprocess
import sys

from app.store.engine import migrate


def kezhan(*args, env_home):
    import os

    env = dict(os.environ, KEZHAN_HOME=str(env_home))
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=120)


def checks(out):
    return {c["name"]: c for c in json.loads(out)["checks"]}


def test_fresh_machine_fails_on_the_missing_database(kezhan_home):
    result = kezhan("doctor", "--json", env_home=kezhan_home)
    assert result.returncode == 1
    found = checks(result.stdout)
    assert found["database"]["status"] == "fail"
    assert "kezhan db migrate" in found["database"]["detail"]
    assert found["disk"]["status"] in ("ok", "warn")
    assert found["clock"]["status"] == "ok"


def test_a_migrated_database_passes(kezhan_home):
    (kezhan_home / "kezhan.toml").write_text('[station]\ncode = "330104001"\n[terminal]\nid = "330104001-T01"\n')
    migrate(kezhan_home / "kezhan.sqlite3")
    result = kezhan("doctor", "--json", env_home=kezhan_home)
    found = checks(result.stdout)
    assert found["database"]["status"] == "ok", found
    assert found["integrity"]["status"] == "ok"
    assert found["config"]["status"] == "ok"


def test_a_foreign_file_is_named_not_a_traceback(kezhan_home):
    (kezhan_home / "kezhan.sqlite3").write_bytes(b"this is a spreadsheet, not a database" * 100)
    result = kezhan("doctor", env_home=kezhan_home)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "✗ database" in result.stdout


def test_a_bad_config_value_is_one_line(kezhan_home):
    (kezhan_home / "kezhan.toml").write_text("[terminal]\npresale_days = -3\n")
    result = kezhan("doctor", env_home=kezhan_home)
    assert result.returncode == 1
    line = [ln for ln in result.stdout.splitlines() if "config" in ln][0]
    assert line.startswith("✗") and "presale_days" in line


def test_devices_and_the_server_link_are_checked_for_real(kezhan_home, tmp_path):
    from drivers.idcard.simulator import ReaderSimulator
    from drivers.printer import PrinterSimulator
    from sync.server.runner import ServerThread

    with PrinterSimulator(tmp_path / "printer", port=0) as printer, ReaderSimulator("resident") as reader, \
            ServerThread(f"sqlite:///{tmp_path / 'server.sqlite3'}", empty=True, admin_token="t") as server:
        (kezhan_home / "kezhan.toml").write_text(
            f'[printer]\ntarget = "{printer.target}"\n[reader]\nport = "{reader.url}"\n'
            f'[server]\nurl = "{server.url}"\n'
        )
        found = checks(kezhan("doctor", "--json", env_home=kezhan_home).stdout)
        assert found["printer"]["status"] == "ok", found["printer"]
        assert found["reader"]["status"] == "ok", found["reader"]
        assert "115200" in found["reader"]["detail"]
        assert found["server"]["status"] == "ok", found["server"]
        assert found["font"]["status"] == "ok"

        printer.set_condition("paper_out")
        found = checks(kezhan("doctor", "--json", env_home=kezhan_home).stdout)
        assert found["printer"]["status"] == "fail" and "paper_out" in found["printer"]["detail"]

    result = kezhan("doctor", "--json", env_home=kezhan_home)  # everything gone now
    found = checks(result.stdout)
    assert result.returncode == 1
    assert found["server"]["status"] == "fail" and found["printer"]["status"] == "fail"
    assert found["reader"]["status"] == "fail"



def test_a_standing_sync_alarm_fails_and_names_the_way_out(kezhan_home):
    import sqlite3

    from sync.client.client import ALARM_TEXT, CURSOR_ALARM

    (kezhan_home / "kezhan.toml").write_text('[station]\ncode = "330104001"\n[terminal]\nid = "330104001-T01"\n')
    path = kezhan_home / "kezhan.sqlite3"
    migrate(path)
    assert checks(kezhan("doctor", "--json", env_home=kezhan_home).stdout)["sync alarm"]["status"] == "ok"
    zh, en = ALARM_TEXT["ROLLED_BACK"]
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT INTO sync_cursors (name, value) VALUES (?, ?)",
                    (CURSOR_ALARM, json.dumps({"code": "ROLLED_BACK", "message": zh, "en": en})))
    con.close()
    result = kezhan("doctor", "--json", env_home=kezhan_home)
    assert result.returncode == 1
    alarm = checks(result.stdout)["sync alarm"]
    assert alarm["status"] == "fail"
    assert "ROLLED_BACK" in alarm["detail"] and "kezhan sync clear-alarm" in alarm["detail"]
