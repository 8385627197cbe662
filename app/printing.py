"""The services' print jobs as ESC/POS bytes (drivers/printer's layout), bytes as PNG, and jobs
sent to a printer target. No Qt here: the counter window, the demo and the CLI share it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from app.errors import DeviceError


def _driver_error(exc) -> DeviceError:
    """A driver's error (``drivers.errors.DriverError``) as the application's: same fields."""
    return DeviceError(exc.message, en=exc.en, code=exc.code or "PRINTER", **exc.details)


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
        "notice": {"reprint": "补打", "change": "改签", "pickup": "取票", "reseat": "换座"}.get(job.kind, ""),
        "ticket_code": job.ticket_code,
    }


def tickets_bytes(jobs: list, profile: str = "80mm", zone: ZoneInfo | None = None,
                  offsets: tuple[float, float] = (0.0, 0.0)) -> bytes:
    """``offsets``: printer.offset_x_mm / offset_y_mm, the calibration of pre-printed stock."""
    from drivers.printer import layout
    from drivers.printer.errors import PrinterError

    try:
        prof = layout.get_profile(profile, offset_x_mm=float(offsets[0]), offset_y_mm=float(offsets[1]))
        return b"".join(layout.render_ticket(ticket_fields(job, zone), prof) for job in jobs)
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


def refund_slip_bytes(fields: dict, profile: str = "80mm") -> bytes:
    """The refund slip (退票凭证): ``fields`` as ``drivers.printer.layout.refund_rows`` reads them."""
    from drivers.printer import layout
    from drivers.printer.errors import PrinterError

    try:
        return layout.render_refund_slip(fields, profile)
    except PrinterError as exc:
        raise _driver_error(exc) from None


def road_bill_bytes(job, profile: str = "80mm") -> bytes:
    """A road bill job of the gate (``app.services.gate.RoadBillJob``) as ESC/POS bytes."""
    from drivers.printer import layout
    from drivers.printer.errors import PrinterError

    try:
        return layout.render_road_bill(job.fields, profile)
    except PrinterError as exc:
        raise _driver_error(exc) from None


@dataclass
class PrintedBill:
    """One road bill as it left for the printer, and where its bytes and preview were kept."""

    number: str
    reprint: bool
    bin_path: str
    png_path: str
    printer_ok: bool
    printer_status: str

    def to_json(self) -> dict:
        return asdict(self)


def print_road_bill(job, folder: Path, *, target: str | None = None, profile: str = "80mm") -> PrintedBill:
    """Lay the bill out, keep ``roadbill-<number>[-reprint].bin`` and its ``.png`` preview in ``folder``,
    and send it to ``target`` when there is one. A printer that cannot print (out of paper) is
    reported in ``printer_ok``/``printer_status``, never raised: the bill is already committed and
    numbered, and the gate prints it again (same number) once the printer is back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = road_bill_bytes(job, profile)
    stem = folder / (f"roadbill-{job.number}" + ("-reprint" if job.reprint else ""))
    stem.with_suffix(".bin").write_bytes(data)
    stem.with_suffix(".png").write_bytes(render_png(data))
    ok, status = True, "preview only"
    if target:
        try:
            result = send(target, data)
            ok, status = bool(result.ok), result.reason or ("ready" if result.ok else "not ready")
        except DeviceError as exc:
            ok, status = False, exc.text("zh")
    return PrintedBill(job.number, job.reprint, str(stem.with_suffix(".bin")), str(stem.with_suffix(".png")), ok,
                       status)


def render_png(data: bytes) -> bytes:
    from drivers.printer.errors import PrinterError
    from drivers.printer.render import render_png as render

    try:
        return render(data)
    except PrinterError as exc:
        raise _driver_error(exc) from None


@dataclass
class Printed:
    """One ticket as it left for the printer, and where its bytes and preview were kept."""

    kind: str
    ticket_id: str
    stock_no: str
    ticket_code: str
    bin_path: str
    png_path: str
    printer_ok: bool
    printer_status: str

    def to_json(self) -> dict:
        return asdict(self)


def send(target: str, data: bytes):
    """Send bytes to a printer target; a printer that cannot print is a DeviceError, never a silent loss."""
    from drivers.printer.errors import PrinterError
    from drivers.printer.transport import print_bytes

    try:
        return print_bytes(target, data)
    except PrinterError as exc:
        raise _driver_error(exc) from None


def print_jobs(jobs: list, folder: Path, *, target: str | None = None, profile: str = "80mm",
               zone: ZoneInfo | None = None) -> list[Printed]:
    """Lay out each job, keep ``<ticket>-<stock>.bin`` and its ``.png`` preview in ``folder``, and
    send it to ``target`` when there is one."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for job in jobs:
        data = tickets_bytes([job], profile, zone)
        stem = folder / f"{job.kind}-{job.ticket_id}-{job.stock_no}"
        stem.with_suffix(".bin").write_bytes(data)
        stem.with_suffix(".png").write_bytes(render_png(data))
        ok, status = True, "preview only"
        if target:
            result = send(target, data)
            ok, status = bool(result.ok), result.reason or ("ready" if result.ok else "not ready")
        out.append(Printed(job.kind, job.ticket_id, job.stock_no, job.ticket_code, str(stem.with_suffix(".bin")),
                           str(stem.with_suffix(".png")), ok, status))
    return out
