"""Print jobs of the services -> ESC/POS bytes (drivers/printer's layout), and bytes -> PNG."""

from __future__ import annotations

from dataclasses import asdict

from app.domain.money import format_price
from app.errors import DeviceError


def _driver_error(exc: Exception) -> DeviceError:
    zh = getattr(exc, "zh", "") or str(exc)
    en = getattr(exc, "en", "") or str(exc)
    return DeviceError(zh, en=en, code=getattr(exc, "code", None) or "PRINTER")


def tickets_bytes(jobs: list) -> bytes:
    from drivers.printer import ticket as layout

    return b"".join(layout.ticket_bytes(asdict(job)) for job in jobs)


def settlement_bytes(view, settlement, english: bool) -> bytes:
    from drivers.printer import ticket as layout

    return layout.report_bytes(view, settlement, english)


def render_png(data: bytes) -> bytes:
    from drivers.printer.errors import PrinterError
    from drivers.printer.render import render_png as render

    try:
        return render(data)
    except PrinterError as exc:
        raise _driver_error(exc) from None


__all__ = ["format_price", "render_png", "settlement_bytes", "tickets_bytes"]
