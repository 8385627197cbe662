"""The newcomer's first run: `kezhan demo --headless --out DIR` on a machine with no display.

Everything is real: the embedded provincial server on loopback, the reader simulator on a
pseudo-terminal, the TCP 9100 printer simulator, the terminal's SQLite file, Qt offscreen.
"""

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from PIL import Image


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, KEZHAN_HOME=str(out / "home"), QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run([sys.executable, "-m", "app", "demo", "--out", str(out)], capture_output=True,
                            text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    # What a newcomer sees on the console: the demo's own lines, both streams.
    return out, result.stdout + result.stderr, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_no_display_falls_back_to_the_scripted_day(demo_day):
    _out, console, _summary = demo_day
    assert "no display" in console
    assert "Traceback" not in console
    # Qt's offscreen platform talks while screenshots are taken; that belongs in the log file.
    assert "propagateSizeHints" not in console and "QPA" not in console


def test_every_counter_operation_happened(demo_day):
    _out, _stdout, summary = demo_day
    steps = [s["step"] for s in summary["steps"]]
    for wanted in ("shift opened", "sale, ID card tapped on the reader", "refund", "change", "void", "reprint",
                   "pickup of a web ticket", "gate check", "sync", "offline sale and drain", "shift closed"):
        assert wanted in steps
    tapped = next(s for s in summary["steps"] if s["step"] == "sale, ID card tapped on the reader")
    assert "*" in tapped["passenger"]  # the card's number, masked as in every list


def test_every_ticket_type_was_sold(demo_day):
    out, _stdout, _summary = demo_day
    con = sqlite3.connect(out / "station" / "kezhan.sqlite3")
    types = {row[0] for row in con.execute("SELECT DISTINCT ticket_type FROM tickets")}
    assert {"full", "child", "free_child", "student", "disabled"} <= types


def test_the_settlement_adds_up_and_the_drawer_balances(demo_day):
    _out, _stdout, summary = demo_day
    settlement = summary["settlement"]
    assert summary["counts"]["sold"] >= 10
    assert summary["counts"]["refunded"] == 1 and summary["counts"]["voided"] == 1
    assert summary["counts"]["changed"] == 1
    closed = next(s for s in summary["steps"] if s["step"] == "shift closed")
    assert closed["difference"] == 0 and closed["amount_due"] == settlement["amount_due"]


def test_tickets_were_printed_as_escpos_with_previews(demo_day):
    out, _stdout, summary = demo_day
    printed = summary["tickets_printed"]
    assert len(printed) >= 10
    for ticket in printed:
        data = open(ticket["bin_path"], "rb").read()
        assert data.startswith(b"\x1b@")  # ESC @ initialises the printer
        assert b"\x1dV" in data  # and the ticket ends with a cut
        image = Image.open(ticket["png_path"])
        assert image.width == 576 and image.height > 400
        assert ticket["printer_ok"], ticket["printer_status"]
    # The printer simulator received the same jobs over TCP and rendered them too.
    jobs = sorted((out / "station" / "printer").glob("job-*.png"))
    assert len(jobs) >= len(printed)
    # The refund's slip (退票凭证) too, beside the tickets.
    refund = next(s for s in summary["steps"] if s["step"] == "refund")
    slip = Image.open(refund["slip"])
    assert slip.width == 576 and slip.height > 300
    assert open(refund["slip"].replace(".png", ".bin"), "rb").read().startswith(b"\x1b@")


def test_gate_check_accepts_the_signed_code_and_refuses_a_tampered_one(demo_day):
    _out, _stdout, summary = demo_day
    gate = next(s for s in summary["steps"] if s["step"] == "gate check")
    assert gate["signature"] == "valid" and gate["verdict"] == "board"
    assert gate["tampered_code"] == "CODE_FORGED"


def test_sync_reached_the_server_and_survived_the_outage(demo_day):
    _out, _stdout, summary = demo_day
    offline = next(s for s in summary["steps"] if s["step"] == "offline sale and drain")
    assert offline["link_down_seen"] and offline["sold_offline"]
    assert offline["pending_while_offline"] >= 1 and offline["drained"] and offline["pending_after"] == 0
    assert summary["pending_events"] == 0
    assert summary["server_tickets"] >= summary["counts"]["sold"]


def test_screenshots_of_the_main_screens(demo_day):
    out, _stdout, summary = demo_day
    names = {os.path.basename(p) for p in summary["screens"]}
    for screen in ("sale", "seatmap", "refund", "settlement"):
        for size in ("1366x768", "1920x1080"):
            assert f"{screen}-{size}.png" in names
    image = Image.open(out / "screens" / "sale-1366x768.png")
    assert image.size == (1366, 768)
    assert len(image.convert("L").getcolors(65536)) > 20  # a drawn screen, not a blank one


def test_the_gate_day_checked_refused_and_printed_its_road_bill(demo_day):
    out, _stdout, summary = demo_day
    gate = next(s for s in summary["steps"] if s["step"] == "gate day")
    verdicts = {s["scan"]: s["verdict"] for s in gate["scans"]}
    assert verdicts["forged code"] == "FORGED"
    assert verdicts["refunded ticket"] == "REFUNDED"
    assert verdicts["ticket for another bus"] == "WRONG_DEPARTURE"
    assert verdicts["old paper of a reprinted ticket"] == "SUPERSEDED"
    boarded = [s for s in gate["scans"] if s["scan"] == "passenger"]
    assert boarded and all(s["verdict"] == "BOARD" for s in boarded)
    assert gate["checked"] == len(boarded) and gate["state"] == "stopped"
    bill = summary["road_bill"]
    assert bill["printer_ok"] and bill["totals"]["count"] == len(boarded)
    data = open(bill["bin_path"], "rb").read()
    assert data.startswith(b"\x1b@") and bill["number"].encode() in data
    assert Image.open(bill["png_path"]).width == 576
    con = sqlite3.connect(out / "station" / "kezhan.sqlite3")
    assert con.execute("SELECT count(*) FROM gate_checks WHERE undone_at IS NULL").fetchone()[0] == len(boarded)
    assert con.execute("SELECT printed_at IS NOT NULL FROM road_bills").fetchone()[0] == 1
