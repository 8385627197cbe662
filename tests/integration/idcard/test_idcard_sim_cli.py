import json
import subprocess
import sys

import pytest

from drivers.idcard import NoCardError, Reader


@pytest.fixture
def run_sim():
    procs = []

    def start(*args):
        proc = subprocess.Popen([sys.executable, "-m", "app", "sim", "idcard", *args], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc, proc.stdout.readline().strip()

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.stdin.write("quit\n")
            proc.stdin.flush()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def send(proc, command):
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    assert proc.stderr.readline().startswith("ok:")


def test_sim_prints_the_path_first_and_serves_the_card(run_sim):
    proc, path = run_sim("--card", "foreign2017")
    assert path.startswith("/dev/")
    with Reader(path, "auto", timeout=0.5, probe_timeout=0.2) as reader:
        assert reader.read_card(timeout=2).card_type == "foreign_permanent_2017"


def test_sim_over_tcp_with_a_card_file_and_live_commands(run_sim, tmp_path):
    card = {"type": "foreign2023", "name": "安娜", "sex": "2", "birth": "19920615", "name_en": "LI, ANNA",
            "number": "911724199206150027", "valid_from": "20230601", "valid_to": "20330601", "nationality": "ESP"}
    path = tmp_path / "anna.json"
    path.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    proc, url = run_sim("--card", "none", "--tcp", "0")
    assert url.startswith("socket://127.0.0.1:")
    with Reader(url, 115200, timeout=0.5) as reader:
        with pytest.raises(NoCardError):
            reader.read_card(timeout=0.2)
        assert proc.stderr.readline().startswith("commands:")
        send(proc, f"place {path}")
        data = reader.read_card(timeout=2).to_json()
        assert (data["name"], data["name_en"], data["number_valid"]) == ("安娜", "LI, ANNA", True)


def test_sim_refuses_an_unknown_card(run_sim):
    proc, first = run_sim("--card", "nonsense")
    assert first == ""
    assert proc.wait(5) != 0
    assert "nonsense" in proc.stderr.read()


def ctl(port, *words):
    return subprocess.run([sys.executable, "-m", "app", "sim", "idcard-ctl", "--port", str(port), *words],
                          capture_output=True, text=True, timeout=30)


def test_a_running_simulator_takes_cards_from_another_process_on_its_control_port(run_sim):
    # Started in the background with nothing on its stdin, as a technician runs it beside `kezhan gui`.
    proc, url = run_sim("--card", "none", "--tcp", "0", "--control", "0")
    line = proc.stderr.readline()
    assert line.startswith("control port 127.0.0.1:"), line
    port = int(line.split(":")[1].split()[0])
    with Reader(url, 115200, timeout=0.5) as reader:
        with pytest.raises(NoCardError):
            reader.read_card(timeout=0.2)
        done = ctl(port, "place", "hmt")
        assert (done.returncode, done.stdout.strip()) == (0, "ok: place hmt")
        assert reader.read_card(timeout=2).card_type == "hmt_residence"
        assert ctl(port, "status").stdout.strip() == "ok: card"
        assert ctl(port, "lift").returncode == 0
        with pytest.raises(NoCardError):
            reader.read_card(timeout=0.3)
        assert ctl(port, "status").stdout.strip() == "ok: no card"
        wrong = ctl(port, "place", "nonsense")
        assert wrong.returncode == 1 and wrong.stdout.startswith("error:") and "nonsense" in wrong.stdout


def test_the_control_command_says_so_in_one_line_when_no_simulator_answers():
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    done = ctl(port, "lift")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and str(port) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
