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
