"""``kezhan printer …`` and ``kezhan sim printer`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from app.cli import main
from drivers.printer import PrinterSimulator, render_test_ticket

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def sim(tmp_path):
    with PrinterSimulator(tmp_path / "jobs") as s:
        yield s


def test_printer_test_prints_to_the_simulator_and_reports_ready(sim, capsys):
    assert main(["printer", "test", "--target", sim.target, "--profile", "58mm"]) == 0
    out = capsys.readouterr().out
    assert "测试票已打印" in out and "打印机就绪" in out
    (job,) = sim.wait_for_jobs(1)
    assert job.data.endswith(render_test_ticket("58mm"))
    with Image.open(job.png_path) as img:
        assert img.width == 576  # the simulator draws 80 mm paper by default


def test_printer_test_json_and_paper_out_exit_code(sim, capsys):
    sim.set_condition("paper_out")
    assert main(["printer", "test", "--target", sim.target, "--json"]) == 5
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["ok"] is False and info["sent"] is False
    assert info["status"]["conditions"] == ["paper_out"]
    assert captured.err.strip() == "kezhan: 未打印：打印机缺纸"


def test_printer_status_json(sim, capsys):
    sim.set_condition("paper_near_end")
    assert main(["printer", "status", "--target", sim.target, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["ready"] is True and info["conditions"] == ["paper_near_end"]
    assert info["target"] == sim.target


def test_printer_status_of_a_silent_printer_is_one_line_and_non_zero(sim, capsys):
    sim.set_condition("silent")
    assert main(["printer", "status", "--target", sim.target]) == 5
    err = capsys.readouterr().err
    assert err.strip() == "kezhan: 打印机无状态应答"


def test_bad_target_is_one_line(capsys):
    assert main(["printer", "status", "--target", "lpt1"]) == 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "打印机地址「lpt1」无效" in err[0] and "'" not in err[0]


def test_render_writes_a_png(tmp_path, capsys):
    src = tmp_path / "t.bin"
    main(["printer", "test", "--target", f"file:{src}", "--profile", "58mm"])
    out = tmp_path / "t.png"
    assert main(["printer", "render", str(src), "--png", str(out), "--profile", "58mm"]) == 0
    with Image.open(out) as img:
        assert img.width == 384 and img.height > 600


def test_render_of_garbage_is_one_line(tmp_path, capsys):
    src = tmp_path / "bad.bin"
    src.write_bytes(b"\x1b@hello\x1dv0\x00\xff")
    assert main(["printer", "render", str(src), "--png", str(tmp_path / "x.png")]) == 5
    assert "打印数据不完整" in capsys.readouterr().err


def test_sim_printer_command_prints_its_address_first_and_draws_jobs(tmp_path):
    out_dir = tmp_path / "sim"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "sim", "printer", "--port", "0", "--out", str(out_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("printer simulator listening on tcp:127.0.0.1:")
        target = first.rsplit(" ", 1)[1]
        assert main(["printer", "test", "--target", target]) == 0
        deadline = time.monotonic() + 10
        while not (out_dir / "job-0001.png").exists():
            assert time.monotonic() < deadline, "no PNG from the simulator"
            time.sleep(0.1)
        (out_dir / "printer-state").write_text("cover_open")
        deadline = time.monotonic() + 5
        while main(["printer", "status", "--target", target]) != 5:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_targets_without_a_back_channel(capsys):
    assert main(["printer", "test", "--target", "dummy"]) == 0
    assert "已发送（该连接方式无法读取打印机状态）" in capsys.readouterr().out
    assert main(["printer", "status", "--target", "dummy"]) == 5
    assert capsys.readouterr().err.strip() == "kezhan: dummy 连接方式无法读取打印机状态"
