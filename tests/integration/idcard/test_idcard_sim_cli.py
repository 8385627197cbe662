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
