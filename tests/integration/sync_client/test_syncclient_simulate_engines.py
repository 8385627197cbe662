"""`kezhan simulate` over several stations on each engine: the same invariants on SQLite and on
PostgreSQL, and the report's load figures (events, events/s, upload and pull latency, the simulator's
own CPU) are there. The 50-terminal run these figures are made for is docs/scale.md's, by hand."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from tests.integration.line_province import DEST, HOME, MID
from tests.integration.sync_client.helpers import ADMIN, province_doc


@pytest.fixture
def engine_server(server_db_url):
    from sync.server import ServerThread

    srv = ServerThread(server_db_url, admin_token=ADMIN, province=province_doc(), sweep_interval=None)
    srv.start()
    yield srv
    srv.stop()


def test_simulate_over_two_stations_on_each_engine(engine_server, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path / "home"))
    code = main(["simulate", "--server", engine_server.url, "--admin-token", ADMIN, "--terminals", "6",
                 "--stations", "2", "--sales", "8", "--web-sales", "6", "--offline-windows", "1", "--seed", "3",
                 "--station", HOME, "--pace", "0.02", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["ok"] and report["converged"]
    assert report["missing"] == [] and report["duplicated"] == [] and report["double_sold_seats"] == []
    assert report["terminal_sales"] == report["server_tickets_by_channel"].get("terminal", 0) > 0
    # Three terminals at each of two stations (the home station and the next of the province).
    assert report["stations"] == [HOME, MID] and DEST not in report["stations"]
    stations = [t["station"] for t in engine_server.server.list_terminals()]
    assert sorted(stations) == [HOME] * 3 + [MID] * 3
    # The load figures: every event the terminals wrote reached the server, and was timed on the way.
    assert report["events"] == sum(t["server_high_water"] for t in report["per_terminal"]) >= report["terminal_sales"]
    assert report["events_per_second"] > 0
    assert report["upload"]["calls"] > 0 and report["upload"]["p99_ms"] >= report["upload"]["p50_ms"] > 0
    assert report["pull"]["calls"] > 0 and report["pull"]["p99_ms"] >= report["pull"]["p50_ms"] > 0
    # The server says how long it took each call: never longer than the terminal waited for it.
    assert 0 < report["upload"]["server_p99_ms"] <= report["upload"]["max_ms"]
    # Apart: while the windows sold, and while the offline stretch's backlogs went up when the links
    # came back (the backlog's upload is among those); together they are every call under load.
    assert report["backlog_when_links_returned"] == 0 or report["upload"]["draining"]["calls"] > 0
    for kind in ("upload", "pull"):
        parts = [report[kind][stretch] for stretch in ("selling", "draining")]
        assert sum(p["calls"] for p in parts) == report[kind]["calls"]
        assert max((p["max_ms"] for p in parts if p["calls"]), default=None) == report[kind]["max_ms"]
    assert report["simulator_cpu_seconds"] > 0 and report["seconds_releasing_leases"] >= 0
    # The pace asked for, and the wall-clock bounds of the load the server's own CPU is read for.
    assert report["pace_seconds"] == 0.02
    span = report["load_ended_at"] - report["load_started_at"]
    assert abs(span - report["seconds_under_load"]) < 0.5 and report["seconds_under_load"] >= report["seconds_selling"]


@pytest.mark.parametrize("pace", ["-1", "nan", "x", "5000"])
def test_simulate_refuses_a_pace_it_cannot_keep(pace, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "--server", "http://127.0.0.1:9", "--admin-token", ADMIN, "--pace", pace])
    assert exited.value.code == 2
    assert "--pace" in capsys.readouterr().err


def test_a_second_simulate_against_the_same_server_opens_rolls_of_its_own(engine_server, capsys, monkeypatch,
                                                                          tmp_path):
    """The first run's tickets come back in the second run's feed with their stock numbers; the
    second run's terminals must not open a roll those numbers are in (STOCK_USED)."""
    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path / "home"))
    for _run in range(2):
        code = main(["simulate", "--server", engine_server.url, "--admin-token", ADMIN, "--terminals", "2",
                     "--sales", "3", "--web-sales", "0", "--offline-windows", "0", "--station", HOME, "--json"])
        report = json.loads(capsys.readouterr().out)
        assert code == 0 and report["ok"] and report["terminal_sales"] > 0, report
    window = engine_server.server.export_tickets(channel="terminal")
    stock = [t["stock_no"] for t in window]
    assert len(window) > 2 and all(stock) and len(set(stock)) == len(stock)  # no number printed twice


def test_simulated_windows_open_at_their_own_moments(engine_server, capsys, monkeypatch, tmp_path):
    """Each window's first sale comes after a wait of its own, as every later one does: fifty first
    sales at one instant would be a burst of uploads no station's morning brings, and the run's slowest
    calls would be that burst's. With a mean of a second between sales, four windows' first sales
    (seed 1: waits of 0.84-1.59 s drawn for them) span at least 0.3 s; all at once, some 0.05 s."""
    from datetime import datetime

    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path / "home"))
    code = main(["simulate", "--server", engine_server.url, "--admin-token", ADMIN, "--terminals", "4",
                 "--sales", "1", "--web-sales", "0", "--offline-windows", "0", "--seed", "1", "--station", HOME,
                 "--pace", "1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"], report
    first = {}
    for ticket in engine_server.server.export_tickets(channel="terminal"):
        sold = datetime.fromisoformat(ticket["sold_at"].replace("Z", "+00:00"))
        first[ticket["terminal_id"]] = min(first.get(ticket["terminal_id"], sold), sold)
    assert len(first) == 4
    assert (max(first.values()) - min(first.values())).total_seconds() >= 0.3
