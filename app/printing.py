"""The services' print jobs as ESC/POS bytes (drivers/printer's layout), and bytes as PNG."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.errors import DeviceError


def _driver_error(exc: Exception) -> DeviceError:
    zh = getattr(exc, "zh", "") or str(exc)
    en = getattr(exc, "en", "") or str(exc)
    return DeviceError(zh, en=en, code=getattr(exc, "code", None) or "PRINTER")


def ticket_fields(job, zone: ZoneInfo | None = None) -> dict:
    """A ``PrintJob`` of the services as the layout's ticket fields."""
    zone = zone or ZoneInfo("Asia/Shanghai")
    return {
        "station": job.origin_name,
        "stock_no": job.stock_no,
        "origin": job.origin_name,
        "destination": job.destination_name,
        "date": job.date,
        "time": job.time,
        "schedule_code": job.schedule_code,
        "seat": job.seat_no,
        "ticket_type": job.ticket_type_name,
        "price": job.price,
        "insurance": job.insurance,
        "insurance_name": job.insurance_name,
        "vehicle_class": job.vehicle_class_name,
        "gate": job.gate,
        "clerk": job.clerk,
        "passenger_name": job.passenger_name,
        "passenger_doc": job.doc_masked,
        "ticket_id": job.ticket_id,
        "sold_at": job.sold_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "notice": {"reprint": "补打", "change": "改签", "pickup": "取票"}.get(job.kind, ""),
        "ticket_code": job.ticket_code,
    }


def tickets_bytes(jobs: list, profile: str = "80mm", zone: ZoneInfo | None = None) -> bytes:
    from drivers.printer import layout
    from drivers.printer.errors import PrinterError

    try:
        return b"".join(layout.render_ticket(ticket_fields(job, zone), profile) for job in jobs)
    except PrinterError as exc:
        raise _driver_error(exc) from None


def settlement_bytes(view, settlement, *, station: str, closed_at: str, profile: str = "80mm") -> bytes:
    from drivers.printer import layout
    from drivers.printer.errors import PrinterError

    lines = []
    for name, count, amount, note in view.lines:
        value = f"{count} 张 {layout.money(amount)}" if count else layout.money(amount)
        lines.append([name.strip(), value + (f"（{note}）" if note else "")])
    lines.append(["实点现金", settlement.cash_counted if settlement.cash_counted is not None else "—"])
    if settlement.difference is not None:
        lines.append(["差额", settlement.difference])
    data = {
        "station": station,
        "clerk": view.clerk,
        "shift_id": view.shift_id,
        "opened_at": view.opened_at,
        "closed_at": closed_at,
        "stock_from": view.first_stock_no,
        "stock_to": view.last_stock_no,
        "lines": lines,
        "amount_due": view.amount_due,
    }
    try:
        return layout.render_settlement(data, profile)
    except PrinterError as exc:
        raise _driver_error(exc) from None


def render_png(data: bytes) -> bytes:
    from drivers.printer.errors import PrinterError
    from drivers.printer.render import render_png as render

    try:
        return render(data)
    except PrinterError as exc:
        raise _driver_error(exc) from None
