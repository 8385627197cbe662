"""A gate terminal on the demo database: the gate checker 2001, a departure at one gate with tickets
sold on it, the clock moved to its check opening, and the window built as a "both" terminal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.services import PassengerIn, PaymentIn, sell
from tests.gui.conftest import CLERK2, Keyboard, destination_with_departures, make_window, valid_id

CHECKER, CHECKER_PASSWORD = "2001", "2468"


@dataclass
class GateDay:
    departure_id: str
    gate: str
    station: str
    jobs: list  # the print jobs of the tickets sold on the departure (ticket_code, stock_no, ...)


def add_checker(db) -> None:
    from app.store.users import ensure_user

    with db.transaction() as session:
        ensure_user(session, CHECKER, "赵检票", "gate", CHECKER_PASSWORD)


def gate_day(backend, clock, passengers: list[tuple[str, str]] | None = None) -> GateDay:
    """Tickets on the first sellable departure to a busy destination, then the clock at its check
    opening (+1 minute). ``passengers``: (name, ID number) pairs; three made-up ones by default."""
    add_checker(backend.db)
    station, _ = destination_with_departures(backend)
    departure = next(d for d in backend.departures(station, backend.today()) if d.sellable)
    passengers = passengers or [(f"旅客{n}", valid_id(600 + n)) for n in range(3)]
    # Sold by the other clerk on a shift of their own: the clerk a test signs in owes no paper.
    from app.services import shifts

    shifts.open_shift(backend.db, backend.terminal, clerk=CLERK2, first_stock_no="00500001", now=clock())
    jobs = []
    for name, number in passengers:
        result = sell(backend.db, backend.terminal, clerk=CLERK2, departure_id=departure.id, stop=station,
                      passengers=[PassengerIn("full", name, doc_number=number)], payment=PaymentIn("cash"),
                      now=clock())
        jobs += result.print_jobs
    from app.ui.gate_backend import GateBackend

    probe = GateBackend(backend.db, backend.terminal, clock=clock, gates=(departure.gate,))
    info = probe.departure(departure.id)
    if clock() < info.opens_at:
        clock.now = info.opens_at + timedelta(minutes=1)
    return GateDay(departure.id, departure.gate, station, jobs)


def gate_window(qtbot, backend, clock, day: GateDay, *, role: str = "both", **devices):
    from PySide6.QtWidgets import QApplication

    from app.ui import theme
    from app.ui.gate_backend import GateBackend

    gate = GateBackend(backend.db, backend.terminal, clock=clock, language=theme.language(), gates=(day.gate,))
    win = make_window(qtbot, backend, gate=gate, role=role, **devices)
    # Window shortcuts (the F-keys) answer only in the active window; offscreen, a new window is not
    # always made active by being shown.
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=3000)
    # A burst's keys stay a burst when a loaded test machine pauses between two of them (a real
    # scanner's gap is a few milliseconds, a person's a hundred or more).
    win.wedge.detector.key_gap = 0.25
    win.wedge.detector.stall = 1.0
    return win


def sign_in_gate(keys: Keyboard) -> None:
    keys.type(CHECKER)
    keys.enter()
    keys.type(CHECKER_PASSWORD)
    keys.enter()
    assert keys.window.checking(), keys.window.loginView.messageLabel.text()


def open_check(keys: Keyboard, plate: str = "浙A12345", driver: str = "王师傅") -> None:
    """F2, the plate, Enter, the driver, Enter: as a checker opens the check."""
    from PySide6.QtCore import Qt

    keys.press(Qt.Key.Key_F2)
    dialog = keys.window.dialog
    assert dialog is not None and dialog.objectName() == "gate_openDialog"
    keys.type(plate)
    keys.enter()
    keys.type(driver)
    keys.enter()
    assert keys.window.dialog is None, dialog.messageLabel.text()
