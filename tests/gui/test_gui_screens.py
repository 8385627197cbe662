"""The screenshots `kezhan demo` and `kezhan gui --screens` save: taken in the evening, after the
day's last bus, they still show a sale under way and its seat map (tomorrow's), not an empty list."""

from __future__ import annotations

import pytest

from tests.gui.conftest import CLERK, CLERK_PASSWORD

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("hours_after_seven, day_shown", [(0, 0), (16, 1)])  # 07:00 and 23:00
def test_screenshots_show_a_sale_and_its_seat_map_morning_and_night(qtbot, backend, clock, tmp_path,
                                                                    hours_after_seven, day_shown):
    from datetime import timedelta

    from app.services.context import cursor
    from app.ui.app import save_screens

    clock.advance(hours=hours_after_seven)
    today = backend.today()
    files = save_screens(tmp_path / "screens", backend.db, terminal=backend.terminal, clerk=CLERK,
                         password=CLERK_PASSWORD, clock=clock, sizes=[(1366, 768)])
    assert sorted(p.name for p in files) == ["refund-1366x768.png", "sale-1366x768.png",
                                             "seatmap-1366x768.png", "settlement-1366x768.png"]
    with backend.db.read() as session:
        cur = cursor(session)
        cur.execute("SELECT d.departs_at FROM tickets t JOIN departures d ON d.id = t.departure_id")
        departs = [row[0] for row in cur.fetchall()]
    # The refund dialog's example ticket: sold on the day the sale view shows.
    assert len(departs) == 1
    assert backend.terminal.local_date(_instant(departs[0])) == today + timedelta(days=day_shown)


def _instant(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))
