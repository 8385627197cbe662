"""destination_search: one pinyin-initials prefix lookup per keystroke at large-station scale,
beside a bare indexed SQLite prefix query on the same file."""

from __future__ import annotations

import random
import sqlite3

from app.bench.harness import Figure, latency_figure, percentile, time_each

GOAL_P99_MS = 2.0


def keystroke_prefixes(initials: list[str], n: int, seed: int = 7) -> list[str]:
    """What clerks type: the initials of real destinations, one more letter per keystroke."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        word = rng.choice(initials)
        out.extend(word[: k + 1] for k in range(len(word)))
    return out[:n]


def destination_search(n: int = 2000, db_path=None) -> Figure:
    from app.bench.dataset import large_station_db
    from app.store.engine import open_database, sqlite_uri
    from app.store.queries import search_destinations

    path = db_path or large_station_db()
    raw = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
    initials = [row[0] for row in raw.execute("SELECT pinyin FROM stations WHERE pinyin != ''")]
    stations = len(initials)
    prefixes = keystroke_prefixes(initials, n)

    bare_sql = "SELECT code, name, pinyin, city FROM stations WHERE pinyin >= ? AND pinyin < ? LIMIT 10"
    plan = " ".join(str(r[-1]) for r in raw.execute("EXPLAIN QUERY PLAN " + bare_sql, ("HZ", "HZ\uffff")))

    def bare(i: int) -> None:
        p = prefixes[i % n]
        raw.execute(bare_sql, (p, p + "\uffff")).fetchall()

    db = open_database(path, upgrade=False)
    try:
        with db.read() as session:

            def through_store(i: int) -> None:
                search_destinations(session, prefixes[i % n])

            # Interleave the two so a noisy neighbour slows both alike.
            samples, baseline = [], []
            for _round in range(4):
                baseline += time_each(bare, n // 4)
                samples += time_each(through_store, n // 4)
    finally:
        db.dispose()
        raw.close()
    figure = latency_figure("destination_search", samples, baseline,
                            goal=f"p99 < {GOAL_P99_MS} ms", stations=stations, baseline_plan=plan)
    figure.met = percentile(samples, 99) < GOAL_P99_MS
    return figure
