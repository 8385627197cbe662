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
        """The road bill's ESC/POS bytes (a reprint says 补打 and keeps its number)."""
        jobs = self.road_bill_jobs(departure_id, reprint=reprint)
        if not jobs:
            return None
        from app import printing

        return b"".join(printing.road_bill_bytes(job, profile=self.printer_profile) for job in jobs)

    def station_departures(self) -> list:
        """Today's departures at every gate of the station: a ride change or a merge may go to a bus
        that leaves from another gate than this terminal's."""
        mine, self.gates = self.gates, ()
        try:
            return self.departures()
        finally:
            self.gates = mine

    def render_png(self, data: bytes) -> bytes:
        from app import printing

        return printing.render_png(data)

    def after_local_event(self) -> None:
        """A check or a transition went into the outbox: the sync link uploads it soon."""
        if self.on_local_event is not None:
            self.on_local_event()
