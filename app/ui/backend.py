"""The window's counter: the services' :class:`~app.services.counter.Counter` plus what reaches the
devices and the sync link, which the services do not import (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from app.services import shifts
from app.services.counter import Counter
from sync.client.client import CURSOR_ACKED


class Backend(Counter):
    """What the counter window asks for: the services' answers, the printer's bytes, the upload backlog."""

    # printer.offset_x_mm / offset_y_mm from the configuration (set by run_gui): the pre-printed
    # stock's calibration, in the bytes sent and so in the preview drawn from them.
    printer_offsets: tuple[float, float] = (0.0, 0.0)

    def ticket_bytes(self, ticket_ids: Iterable[str]) -> bytes | None:
        """The ESC/POS bytes of the tickets, one after the other (each ends with its cut)."""
        jobs = self.print_jobs(ticket_ids)
        if not jobs:
            return None
        from app import printing

        return printing.tickets_bytes(jobs, profile=self.printer_profile, zone=self.terminal.zone,
                                      offsets=self.printer_offsets)

    def settlement_bytes(self, settlement: shifts.Settlement) -> bytes | None:
        from app import printing

        # The slip leaves the screen and goes in a file of paper slips: it carries its dates, not only
        # the times the screen shows for today.
        report = settlement.report
        opened = datetime.fromisoformat(str(report["opened_at"]).replace("Z", "+00:00"))
        view = replace(self.settlement_view_of(report), opened_at=self._slip_time(opened))
        return printing.settlement_bytes(view, settlement, station=self.home_name,
                                         closed_at=self._slip_time(self.now()), profile=self.printer_profile)

    def _slip_time(self, instant: datetime) -> str:
        return f"{instant.astimezone(self.terminal.zone):%Y-%m-%d %H:%M}"

    def operation_slip_bytes(self, kind: str, outcome) -> bytes | None:
        """The slip an operation hands the passenger besides a ticket: a refund's 退票凭证 with its
        fee (F3, and F11's conflict refund). None for the others."""
        refund = getattr(outcome, "raw", None)
        if kind != "refund" or refund is None:
            return None
        from app import printing

        [ticket] = self.tickets_by_ids([refund.ticket_id]) or [None]
        fields = {
            "station": self.home_name, "ticket_id": refund.ticket_id, "fee": refund.fee, "total": refund.total,
            "price": refund.refund_amount + refund.fee, "forced": refund.forced,
            "approved_by": refund.approved_by, "method": refund.method,
            "tier": "" if refund.forced else refund.tier, "also_refunded": list(refund.also_refunded),
            "clerk": self.user.code if self.user is not None else "",
            "refunded_at": self._slip_time(self.now()),
        }
        if ticket is not None:
            fields.update(stock_no=ticket.stock_no, passenger=ticket.passenger, passenger_doc=ticket.doc_masked,
                          date=ticket.date, time=ticket.time, schedule_code=ticket.schedule_code,
                          destination=ticket.destination, ticket_type=ticket.type_name, price=ticket.price,
                          insurance=max(0, refund.refund_amount + refund.fee - ticket.price))
        return printing.refund_slip_bytes(fields, profile=self.printer_profile)

    def render_png(self, data: bytes) -> bytes:
        from app import printing

        return printing.render_png(data)

    def pending_events(self) -> int:
        """Outbox events the server has not acknowledged yet."""
        return self.events_not_acknowledged(CURSOR_ACKED)
