"""The window's counter: the services' :class:`~app.services.counter.Counter` plus what reaches the
devices and the sync link, which the services do not import (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterable

from app.services import shifts
from app.services.counter import Counter
from sync.client.client import CURSOR_ACKED


class Backend(Counter):
    """What the counter window asks for: the services' answers, the printer's bytes, the upload backlog."""

    def ticket_bytes(self, ticket_ids: Iterable[str]) -> bytes | None:
        """The ESC/POS bytes of the tickets, one after the other (each ends with its cut)."""
        jobs = self.print_jobs(ticket_ids)
        if not jobs:
            return None
        from app import printing

        return printing.tickets_bytes(jobs, profile=self.printer_profile, zone=self.terminal.zone)

    def settlement_bytes(self, settlement: shifts.Settlement) -> bytes | None:
        from app import printing

        return printing.settlement_bytes(self.settlement_view_of(settlement.report), settlement,
                                         station=self.home_name, closed_at=self.local_clock(self.now()),
                                         profile=self.printer_profile)

    def render_png(self, data: bytes) -> bytes:
        from app import printing

        return printing.render_png(data)

    def pending_events(self) -> int:
        """Outbox events the server has not acknowledged yet."""
        return self.events_not_acknowledged(CURSOR_ACKED)
