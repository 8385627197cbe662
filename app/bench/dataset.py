"""The large-station data set the benchmarks run on: 1,000 departures a day × 15 days, 3,000
destinations. Building it takes a while, so it is cached by its parameters in the data directory
and reused by later runs (a cached file is re-checked for its schema revision before use)."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

from app import paths

log = logging.getLogger("kezhan.bench")

LARGE = {"days": 15, "departures_per_day": 1000, "destinations": 3000}
START = date(2026, 1, 1)  # fixed, so the cached file is the same one whatever day the bench runs


def build_station_db(path: Path, *, days: int, departures_per_day: int, destinations: int,
                     start_date: date = START) -> dict:
    from app.demodata import generate_province
    from app.store.engine import open_database
    from app.store.province import load_province

    doc = generate_province(start_date=start_date, days=days, departures_per_day=departures_per_day,
                            destinations=destinations)
    db = open_database(path)
    try:
        with db.transaction() as session:
            counts = load_province(session, doc)
    finally:
        db.dispose()
    return counts


def large_station_db(scale: dict | None = None) -> Path:
    """The cached large-station database file (built on first use)."""
    from app.store.engine import StorageError, inspect_file, known_revisions

    scale = scale or LARGE
    folder = paths.data_dir() / "bench-cache"
    folder.mkdir(parents=True, exist_ok=True)
    name = "station-{days}d-{departures_per_day}x-{destinations}dest.sqlite3".format(**scale)
    path = folder / name
    if path.exists():
        try:
            if inspect_file(path) == known_revisions()[1]:
                return path
        except StorageError:
            pass
        path.unlink()
    tmp = path.with_suffix(".building")
    for leftover in folder.glob(tmp.name + "*"):
        leftover.unlink()
    log.info("building the large-station data set %s", scale)
    build_station_db(tmp, **scale)
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    return path
