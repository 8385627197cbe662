"""ui_keystroke: from a key pressed in the destination box to the updated suggestions and departures
list on screen, at large-station scale, beside the same two queries on a bare SQLite connection."""

from __future__ import annotations

import os
import random
import sqlite3
from datetime import UTC, datetime, time

GOAL_P99_MS = 16.0


def _keystrokes(initials: list[str], n: int, seed: int = 11) -> list[str]:
    """Words the clerk types, letter by letter: the initials of real destinations."""
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(w) for w in words) < n:
        words.append(rng.choice(initials))
    return words


def ui_keystroke(n: int = 600, db_path=None, *, quiet: bool = True):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtTest import QTest

    from app.bench.dataset import START, large_station_db
    from app.bench.harness import latency_figure, percentile, time_each
    from app.services.context import Terminal
    from app.services.station import home_station, open_station
    from app.ui import theme
    from app.ui.app import application, route_qt_messages
    from app.ui.backend import Backend
    from app.ui.sale_view import SaleView

    path = db_path or large_station_db()
    db = open_station(path, upgrade=False)
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        home = home_station(db)
        terminal = Terminal(station_code=home, terminal_id=f"{home}-T01", signing_key=os.urandom(32),
                            doc_hash_key=os.urandom(32))
        day = START
        now = datetime.combine(day, time(6, 0), tzinfo=terminal.zone).astimezone(UTC)
        backend = Backend(db, terminal, clock=lambda: now)
        app = application()
        if quiet:
            route_qt_messages()
        theme.apply(app, 1366)
        view = SaleView(backend)
        view.resize(1366, 700)
        view.show()
        app.processEvents()

        initials = backend.destination_initials()
        words = _keystrokes(initials, n)
        keys = [(w, k) for w in words for k in range(len(w))][:n]

        def keystroke(i: int) -> None:
            word, k = keys[i % len(keys)]
            if k == 0:
                view.destinationEdit.clear()
            QTest.keyClick(view.destinationEdit, word[k])
            app.processEvents()  # the repaint of the list and the table

        # The baseline: the same two reads on a bare sqlite3 connection, no store, no Qt.
        bare_search = "SELECT code FROM stations WHERE pinyin >= ? AND pinyin < ? ORDER BY pinyin, code LIMIT 13"
        bare_departures = (
            "SELECT d.id, d.time, d.schedule_code, f.full_fare, "
            "(SELECT count(*) FROM seats s WHERE s.departure_id = d.id AND s.state IN ('free', 'leased')) "
            "FROM route_stops rs JOIN departures d ON d.route = rs.route AND d.date = ? "
            "JOIN fares f ON f.route = d.route AND f.from_station = ? AND f.to_station = rs.station "
            "AND f.vehicle_class = d.vehicle_class WHERE rs.station = ? AND rs.seq > 0 ORDER BY d.time"
        )

        def bare(i: int) -> None:
            word, k = keys[i % len(keys)]
            p = word[: k + 1]
            hit = raw.execute(bare_search, (p, p + "\uffff")).fetchone()
            if hit:
                raw.execute(bare_departures, (day.isoformat(), home, hit[0])).fetchall()

        samples, baseline = [], []
        for _round in range(3):
            baseline += time_each(bare, n // 3)
            samples += time_each(keystroke, n // 3)
        view.close()
        app.processEvents()
        # Destroy the widgets now, while Qt is fully alive, not at interpreter exit.
        import shiboken6

        shiboken6.delete(view)
    finally:
        raw.close()
        db.dispose()
    figure = latency_figure("ui_keystroke", samples, baseline, goal=f"p99 < {GOAL_P99_MS:g} ms",
                            what="key in the destination box -> suggestions and departures repainted")
    figure.met = percentile(samples, 99) < GOAL_P99_MS
    return figure


def main() -> None:
    from app.bench.harness import format_table

    print(format_table([ui_keystroke()]))


if __name__ == "__main__":
    main()
