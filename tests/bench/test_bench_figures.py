"""The benchmarks run end to end on small data and report what `kezhan bench --json` promises.
No timing is asserted here: the goals are judged from `kezhan bench` output, as ratios."""

import json

from app.bench.dataset import build_station_db
from app.bench.harness import percentile
from app.bench.sale import id_numbers, sale_commit
from app.bench.search import destination_search, keystroke_prefixes
from app.cli import main
from app.domain.identity import validate_resident_id


def test_percentile_is_nearest_rank():
    samples = list(range(1, 101))
    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile([5.0], 99) == 5.0


def test_generated_id_numbers_are_valid_and_distinct():
    numbers = id_numbers(500)
    assert len(set(numbers)) == 500
    from datetime import date

    for number in numbers[:50]:
        validate_resident_id(number, date(2026, 1, 1))


def test_keystrokes_are_growing_prefixes_of_real_initials():
    prefixes = keystroke_prefixes(["HZ", "SXK"], 10, seed=1)
    assert all(any(word.startswith(p) for word in ("HZ", "SXK")) for p in prefixes)
    assert len(prefixes) == 10


def test_destination_search_reports_against_an_indexed_baseline(tmp_path):
    path = tmp_path / "small.sqlite3"
    build_station_db(path, days=1, departures_per_day=50, destinations=300)
    figure = destination_search(n=200, db_path=path).to_json()
    assert figure["name"] == "destination_search" and figure["unit"] == "ms" and figure["n"] == 200
    assert figure["p99"] >= figure["p50"] > 0 and figure["baseline"] > 0
    # The baseline must really be an index walk, or the ratio would flatter us.
    assert "USING INDEX" in figure["notes"]["baseline_plan"]
    assert figure["notes"]["stations"] == 301


def test_sale_commit_replays_the_same_writes(tmp_path):
    figure = sale_commit(n=30, warmup=2, workdir=tmp_path).to_json()
    assert figure["n"] == 30 and figure["ratio"] > 0
    # A sale writes its ticket, passenger, order, payment, seat, stock, outbox, counters and audit rows.
    assert figure["notes"]["statements_per_sale"] >= 6


def test_bench_json_lists_every_field(capsys, monkeypatch):
    import app.bench.registry as registry

    monkeypatch.setattr(registry, "BENCHMARKS", {"sale_commit": "app.bench.sale:sale_commit"})
    monkeypatch.setattr("app.bench.sale.sale_commit.__defaults__", (20, 2, None))
    assert main(["bench", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"name", "value", "unit", "baseline", "ratio", "n", "p50", "p99"} <= set(rows[0])


def test_shift_settlement_compares_the_same_shift_on_a_fresh_and_an_aged_file(tmp_path):
    from app.bench.settlement import shift_settlement

    figure = shift_settlement(n=3, warmup=1, workdir=tmp_path, year={"days": 2, "tickets_per_day": 200}).to_json()
    assert figure["name"] == "shift_settlement" and figure["n"] == 3 and figure["unit"] == "ms"
    assert figure["value"] > 0 and figure["baseline"] > 0
    notes = figure["notes"]
    # The aged file really holds the history, and the shift came out the same on both files.
    assert notes["year"]["tickets"] == 400 and notes["year"]["shifts"] == 8 and notes["year"]["events"] > 400
    assert notes["same_figures_on_both_files"] is True
    assert set(notes["preview_ms"]) == {"year", "fresh", "ratio"} == set(notes["close_ms"]) == set(notes["sale_p50_ms"])


def test_the_year_history_settles_like_the_shifts_it_wrote(tmp_path):
    """Each closed shift of the history carries the settlement of its own rows."""
    import json

    from app.bench.dataset import write_year_history
    from app.bench.settlement import CLERK, _station_file, _terminal
    from app.store.engine import open_database

    path = tmp_path / "year.sqlite3"
    _station_file(path)
    db = open_database(path)
    try:
        counts = write_year_history(db, _terminal(db), days=1, tickets_per_day=800, clerk=CLERK)
    finally:
        db.dispose()
    import sqlite3

    con = sqlite3.connect(path)
    settlements = [json.loads(s) for (s,) in con.execute("SELECT settlement FROM shifts ORDER BY id")]
    con.close()
    assert counts["shifts"] == 4 and counts["tickets"] == 800
    assert [s["sold"]["count"] for s in settlements] == [200, 200, 200, 200]
    # 3 % refunded at 3.50 yuan fee, 2 % changed at 2 yuan, 0.5 % voided, over the 800 tickets.
    assert sum(s["refunded"]["count"] for s in settlements) == 24
    assert sum(s["refund_fees"] for s in settlements) == 24 * 350
    assert sum(s["changed"]["fees"] for s in settlements) == 16 * 200
    assert sum(s["voided"]["count"] for s in settlements) == 4


def test_db_check_archives_a_scaled_year_and_reports_both_sizes(tmp_path):
    from app.bench.retention import db_check

    figure = db_check(days=40, scale=0.02, keep_days=10, workdir=tmp_path).to_json()
    notes = figure["notes"]
    assert figure["name"] == "db_check" and figure["unit"] == "ms" and figure["baseline"] > 0
    # The sales of the days before the window left the live file, which shrank; the archive holds them.
    assert notes["moved"]["tickets"] > 0 and notes["archive_files"] >= 1
    assert notes["live_mb_after"] < notes["live_mb_before"]
    assert abs(notes["full_scale_mb_after"] * 0.02 - notes["live_mb_after"]) < 0.1
    assert notes["departures_list_ms_before"] > 0 and notes["departures_list_ms_after"] > 0


def test_gate_verdict_boards_every_scan_beside_a_verify_and_lookup_baseline(tmp_path):
    from app.bench.gate import gate_verdict

    figure = gate_verdict(n=40, warmup=2, scale={"days": 2, "departures_per_day": 20, "destinations": 60},
                          workdir=tmp_path).to_json()
    assert figure["name"] == "gate_verdict" and figure["n"] == 40 and figure["unit"] == "ms"
    assert figure["p99"] >= figure["p50"] > 0 and figure["baseline"] > 0 and figure["ratio"] > 0
    assert figure["notes"]["departures_checked"] >= 2 and figure["notes"]["refused_p99"] > 0
    # The flush that makes each boarding durable is timed beside the verdict, not inside it.
    notes = figure["notes"]
    assert notes["flushed_after_each_board"] and notes["flush_p50"] > 0
    assert notes["durable_p50"] >= figure["p50"] and notes["durable_p99"] >= figure["p99"]


def test_cold_start_and_rss_start_launch_the_window_and_a_bare_one(tmp_path):
    """Both figures come from real launches of `kezhan gui` on an enrolled station and of a bare
    PySide6 window; every run reported a shown window."""
    from app.bench import startup

    startup._cache.clear()
    cold = startup.cold_start(runs=2, workdir=tmp_path).to_json()
    rss = startup.rss_start(runs=2, workdir=tmp_path).to_json()
    assert cold["name"] == "cold_start" and cold["unit"] == "ms" and cold["n"] == 2
    assert len(cold["notes"]["app_ms"]) == len(cold["notes"]["bare_ms"]) == 2
    assert min(cold["notes"]["app_ms"]) > 0 and min(cold["notes"]["bare_ms"]) > 0
    assert cold["notes"]["app_cpu_ms"] > 0 and cold["notes"]["bare_cpu_ms"] > 0
    # The app's window loads far more than the bare one: it is really the counter window.
    assert cold["notes"]["app_modules"] > cold["notes"]["bare_modules"] > 50
    assert rss["name"] == "rss_start" and rss["unit"] == "MB" and rss["n"] == 2
    assert rss["baseline"] > 10 and rss["value"] > rss["baseline"]
    assert cold["goal"].startswith("≤ 3×") and rss["goal"].startswith("≤ 2×")
    assert isinstance(cold["met"], bool) and isinstance(rss["met"], bool)
