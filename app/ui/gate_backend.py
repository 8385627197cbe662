"""The gate view's gate: the services' :class:`~app.services.gate.Gate` plus the road bill's printer
bytes and the sync nudge, which the services do not import (as :mod:`app.ui.backend` does for the
counter)."""

from __future__ import annotations

from collections.abc import Callable

from app.services.gate import Gate


class GateBackend(Gate):
    """What the gate view asks for beyond the services' answers."""

    def __init__(self, *args, printer_profile: str = "80mm", on_local_event: Callable[[], None] | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.printer_profile = printer_profile or "80mm"
        self.on_local_event = on_local_event

    def road_bill_bytes(self, departure_id: str, *, reprint: bool = False) -> bytes | None:
        """The road bill's ESC/POS bytes (a reprint says 补打 and keeps its number), or None when the
        departure has none. A job may come as bytes or as the fields of the printer's road bill layout."""
        jobs = self.road_bill_jobs(departure_id, reprint=reprint)
        if not jobs:
            return None
        out = b""
        for job in jobs:
            if isinstance(job, bytes | bytearray):
                out += bytes(job)
                continue
            data = getattr(job, "data", None)
            if isinstance(data, bytes | bytearray):
                out += bytes(data)
                continue
            from drivers.printer.layout import render_road_bill

            fields = job if isinstance(job, dict) else getattr(job, "fields", None) or vars(job)
            out += render_road_bill(fields, self.printer_profile)
        return out or None

    def render_png(self, data: bytes) -> bytes:
        from app import printing

        return printing.render_png(data)

    def after_local_event(self) -> None:
        """A check or a transition went into the outbox: the sync link uploads it soon."""
        if self.on_local_event is not None:
            self.on_local_event()
