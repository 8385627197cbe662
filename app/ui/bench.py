"""ui_keystroke: from a key pressed in the destination box to the updated suggestions and departures
list on screen, at large-station scale, beside the same two queries on a bare SQLite connection.

gate_keystroke: from the Enter that ends a keyboard-wedge scan to the verdict painted over the gate
view, beside the gate service's own check of the same kind of ticket (what the window adds to it)."""

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


def gate_keystroke(n: int = 300, warmup: int = 20, scale: dict | None = None, *, quiet: bool = True):
    """Each sample: a ticket's code in the gate view's entry field (not timed), then its Enter — through
    the entry's key handling, ``Gate.check_text`` (the check row, its outbox event and the commit) and
    the verdict panel — until the verdict panel has been painted (the code's own repaint in the field
    is let through first, as a scanner's burst is painted while it arrives) (a paint event reached it and
    returned; the view paints it in the Enter's handler, else the sample runs on through the event
    loop until it has). What follows the paint — the sound, the flush that makes the check durable,
    the counters, seat map, last verdicts and status bar — is timed on to the event loop's return and
    reported as ``after_paint_p50`` / ``after_paint_p99``. The baseline is ``Gate.check_text`` alone
    on other tickets of the same day. ``scale``: a smaller province
    (``app.bench.dataset.build_station_db`` arguments) for a quick run."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import shutil
    import tempfile
    from datetime import timedelta
    from pathlib import Path
    from time import perf_counter_ns

    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtTest import QTest

    from app.bench.gate_screen import gate_bench_day
    from app.bench.harness import latency_figure, percentile
    from app.services.station import open_station
    from app.ui.app import application, build_window, route_qt_messages
    from app.ui.backend import Backend
    from app.ui.gate_backend import GateBackend

    folder = Path(tempfile.mkdtemp(prefix="kezhan-bench-"))
    window = None
    db = None
    try:
        data = gate_bench_day(folder, scale)
        db = open_station(data.path, upgrade=False)
        terminal, sold, codes = data.terminal, data.sold, data.codes
        issued = datetime(2026, 1, 1, tzinfo=UTC)
        clock_at = [issued]
        clock = lambda: clock_at[0]  # noqa: E731
        gate = GateBackend(db, terminal, clock=clock)
        backend = Backend(db, terminal, clock=clock)
        app = application()
        if quiet:
            route_qt_messages()
        window = build_window(backend, width=1366, gate=gate, role="gate")
        window.resize(1366, 768)
        window.show()
        window._logged_in(window._sign_in("2001", "1234"))
        view = window.gateMode.view
        app.processEvents()

        class PaintSeen(QObject):
            """Counts the paint events that reach the verdict panel."""

            count = 0

            def eventFilter(self, obj, event):  # noqa: N802
                if event.type() == QEvent.Type.Paint:
                    PaintSeen.count += 1
                return False

        seen = PaintSeen()
        view.verdictPanel.installEventFilter(seen)

        opened: set[str] = set()
        departs = {}

        def at_departure(dep_id: str) -> None:
            """The clock ten minutes before ``dep_id`` leaves, its check open."""
            if not departs:
                for d in gate.departures(data.day):
                    departs[d.id] = d.departs_at
            clock_at[0] = departs[dep_id] - timedelta(minutes=10)
            if dep_id not in opened:
                gate.open_check(dep_id, vehicle="浙A00000", driver="王师傅")
                opened.add(dep_id)

        # Even tickets through the window, odd ones through the service alone: the same day, the same mix.
        ui_items = list(range(0, len(sold), 2))[: n + warmup]
        bare_items = list(range(1, len(sold), 2))[: n + warmup]

        def keystroke(i: int) -> None:
            k = ui_items[i]
            ticket_id, dep_id, _seat = sold[k]
            if view.current is None or view.current.id != dep_id:
                at_departure(dep_id)
                view.refresh()
                view.choose(dep_id)
            entry = view.entryEdit
            # The code goes in whole (a scanner's burst is ~100 keys in a few ms; typed here key by key
            # on a loaded machine, a pause would split it); the Enter is a real key event.
            entry.setText(codes[k])
            app.processEvents()  # the text's own repaint is not the scan's
            painted_before = PaintSeen.count
            start = perf_counter_ns()
            QTest.keyClick(entry, Qt.Key.Key_Return)
            if PaintSeen.count == painted_before:
                app.processEvents()  # not painted in the handler: the event loop paints it
                if PaintSeen.count == painted_before:
                    raise RuntimeError(f"bench scan {i}: the verdict panel was not painted")
                timings.append((perf_counter_ns() - start) / 1e6)
                after.append(timings[-1])
            else:
                timings.append((perf_counter_ns() - start) / 1e6)
                app.processEvents()  # what follows the paint
                after.append((perf_counter_ns() - start) / 1e6)
            verdict = view.verdictPanel.verdict
            if verdict is None or verdict.ticket_id != ticket_id or verdict.code != "BOARD":
                raise RuntimeError(f"bench scan {i} did not board: {verdict and (verdict.code, verdict.ticket_id, verdict.en)} "
                                   f"(ticket {ticket_id})")

        def bare(i: int) -> None:
            k = bare_items[i]
            _ticket_id, dep_id, _seat = sold[k]
            at_departure(dep_id)
            start = perf_counter_ns()
            verdict = gate.check_text(codes[k], dep_id)
            bare_timings.append((perf_counter_ns() - start) / 1e6)
            gate.flush()  # as the view does after the paint (not timed here either)
            if verdict.code != "BOARD":
                raise RuntimeError(f"bench check {i} did not board: {verdict.code}")

        timings: list[float] = []
        after: list[float] = []
        bare_timings: list[float] = []
        count = min(n + warmup, len(ui_items), len(bare_items))
        # The samples are taken inside the calls (from the Enter on), so the code's entry is not in them;
        # the first ``warmup`` of each are dropped.
        for i in range(count):
            keystroke(i)
        for i in range(count):
            bare(i)
        samples, baseline, after_paint = timings[warmup:], bare_timings[warmup:], after[warmup:]
    finally:
        if window is not None:
            window.close()
            import shiboken6

            shiboken6.delete(window)
        if db is not None:
            db.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    figure = latency_figure("gate_keystroke", samples, baseline, goal=f"p99 < {GOAL_P99_MS:g} ms",
                            what="wedge scan's Enter -> verdict painted over the gate view",
                            departures_checked=len(opened), after_paint_p50=percentile(after_paint, 50),
                            after_paint_p99=percentile(after_paint, 99))
    figure.met = percentile(samples, 99) < GOAL_P99_MS
    return figure


def main() -> None:
    from app.bench.harness import format_table

    print(format_table([ui_keystroke()]))


if __name__ == "__main__":
    main()
