"""`kezhan setup` as a technician rolling out PCs runs it: a fresh data folder, the reference server
over loopback, the printer simulator on TCP and the ID card reader simulator on a pseudo-terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.gui.line_server import issue_code, line_server


def kezhan(*args, home, **env):
    environ = dict(os.environ, KEZHAN_HOME=str(home), KEZHAN_LANG="en", **env)
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=environ,
                          timeout=120)


@pytest.fixture
def server(tmp_path):
    yield from line_server(tmp_path)


@pytest.fixture
def home(tmp_path):
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def printer_sim(tmp_path):
    from drivers.printer.simulator import PrinterSimulator

    sim = PrinterSimulator(tmp_path / "printer").start()
    yield sim
    sim.stop()


def test_setup_enrols_prints_and_is_the_same_terminal_when_run_again(server, home, printer_sim, monkeypatch):
    code = issue_code(server.url)
    args = ("setup", "--server", server.url, "--code", code, "--role", "both", "--gates", "3,4",
            "--printer", printer_sim.target, "--password-env", "TECH_PW", "--json")
    first = kezhan(*args, home=home, TECH_PW="tech-secret-1")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["ok"] and result["terminal_id"].endswith("-T01")
    printer_sim.wait_for_jobs(1)  # the test ticket reached the printer

    config = tomllib.loads((home / "kezhan.toml").read_text(encoding="utf-8"))
    assert config["terminal"]["role"] == "both" and config["terminal"]["gates"] == ["3", "4"]
    assert config["terminal"]["id"] == result["terminal_id"]
    assert config["server"]["url"] == server.url
    assert config["printer"]["target"] == printer_sim.target

    # The same command again (the code is spent by now): same terminal, nothing enrolled twice.
    second = kezhan(*args, home=home, TECH_PW="tech-secret-1")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["terminal_id"] == result["terminal_id"]
    server_step = next(s for s in again["steps"] if s["step"] == "server")
    assert server_step["already_enrolled"] is True
    assert len(server.server.list_terminals()) == 1

    # The wizard would not open: the terminal is ready, and doctor agrees on the config.
    from app.setup import readiness

    monkeypatch.setenv("KEZHAN_HOME", str(home))
    assert readiness(home / "kezhan.toml") == []
    doctor = kezhan("doctor", "--json", home=home)
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["config"]["status"] == "ok" and checks["server"]["status"] in ("ok", "warn")


def test_a_wrong_code_is_one_line_and_a_non_zero_exit(server, home):
    result = kezhan("setup", "--server", server.url, "--code", "ABCD-EFGH-JKMN", "--role", "window", home=home)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["kezhan setup: server: the enrolment code is not valid: check it"]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_server_answering_html_is_named_as_such(home):
    class Portal(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"<!doctype html><html><body>Please log in to the hotel wifi</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    portal = ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    thread = threading.Thread(target=portal.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{portal.server_address[1]}"
        result = kezhan("setup", "--server", url, "--code", "ABCD-EFGH-JKMN", "--role", "window", home=home)
    finally:
        portal.shutdown()
        portal.server_close()
    assert result.returncode != 0
    assert "web page" in result.stderr
    assert result.stderr.count("\n") == 1
    # The role step worked and was kept; the terminal is still not enrolled.
    config = tomllib.loads((home / "kezhan.toml").read_text(encoding="utf-8"))
    assert config["terminal"]["role"] == "window" and config["terminal"]["id"] == ""


def test_a_gate_without_gate_numbers_and_a_dead_printer_each_fail_their_own_line(server, home):
    code = issue_code(server.url)
    result = kezhan("setup", "--server", server.url, "--code", code, "--role", "gate",
                    "--printer", "tcp:127.0.0.1:9", home=home)
    assert result.returncode != 0
    failed = [line.split(":")[1].strip() for line in result.stderr.splitlines()]
    assert failed == ["role", "printer"]
    assert "enrolled as" in result.stdout  # the enrolment between them went through


def test_setup_probes_the_reader_on_its_pseudo_terminal(server, home):
    from drivers.idcard.simulator import ReaderSimulator

    sim = ReaderSimulator(baud=57600)  # not the first speed tried: the probe has to find it
    port = sim.start()
    try:
        code = issue_code(server.url)
        result = kezhan("setup", "--server", server.url, "--code", code, "--role", "window", "--reader", port,
                        "--json", home=home)
    finally:
        sim.stop()
    assert result.returncode == 0, result.stderr
    step = next(s for s in json.loads(result.stdout)["steps"] if s["step"] == "reader")
    assert step["port"] == port and step["baud"] == 57600
    config = tomllib.loads((home / "kezhan.toml").read_text(encoding="utf-8"))
    assert config["reader"]["port"] == port and config["reader"]["baud"] == str(step["baud"])


def test_users_unlock_clears_a_lock(home):
    from datetime import UTC, datetime

    from app.errors import RuleViolation
    from app.services import auth
    from app.services.context import Terminal
    from app.store.engine import open_database
    from app.store.users import ensure_user

    db = open_database(home / "kezhan.sqlite3")
    with db.transaction() as session:
        ensure_user(session, "1001", "李售票", "clerk", "1234")
    terminal = Terminal(station_code="330104001", terminal_id="330104001-T01", signing_key=bytes(range(32)),
                        doc_hash_key=b"k" * 32)
    for _ in range(auth.MAX_FAILED_ATTEMPTS):
        with pytest.raises(RuleViolation, match="错误"):
            auth.login(db, terminal, "1001", "wrong", now=datetime.now(UTC))
    with pytest.raises(RuleViolation, match="已锁定"):
        auth.login(db, terminal, "1001", "1234", now=datetime.now(UTC))
    db.engine.dispose()

    result = kezhan("users", "unlock", "1001", home=home)
    assert result.returncode == 0, result.stderr
    assert "1001: unlocked" in result.stdout
    db = open_database(home / "kezhan.sqlite3")
    assert auth.login(db, terminal, "1001", "1234", now=datetime.now(UTC)).code == "1001"
    db.engine.dispose()
    missing = kezhan("users", "unlock", "4242", home=home)
    assert missing.returncode != 0 and "no account with the code 4242" in missing.stderr


def test_doctor_on_a_gbk_console(home):
    # A Windows console in code page 936 cannot show ✓ or ✗: doctor still prints its checklist.
    result = subprocess.run([sys.executable, "-m", "app", "doctor"], capture_output=True,
                            env=dict(os.environ, KEZHAN_HOME=str(home), PYTHONIOENCODING="gbk"), timeout=120)
    assert result.returncode == 1  # no database yet: a failed check, not a crash (70)
    out = result.stdout.decode("gbk")
    assert "× database" in out and ("√ disk" in out or "! disk" in out)
    for args in (["--help"], ["setup", "--help"], ["users", "--help"], ["printer", "--help"]):
        other = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True,
                               env=dict(os.environ, KEZHAN_HOME=str(home), PYTHONIOENCODING="gbk"), timeout=120)
        assert other.returncode == 0, other.stderr.decode("gbk", "replace")


def test_doctor_bundle_from_the_command_line(home, tmp_path):
    (home / "logs").mkdir()
    (home / "logs" / "kezhan.log").write_text("INFO sold to 330106198512120016\n", encoding="utf-8")
    result = kezhan("doctor", "--bundle", str(tmp_path / "out"), "--json", home=home)
    bundle = json.loads(result.stdout)["bundle"]
    import zipfile

    with zipfile.ZipFile(bundle) as z:
        log = z.read("logs/kezhan.log").decode("utf-8")
    assert "330106198512120016" not in log and "[ID]" in log
