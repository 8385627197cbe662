"""Conflicts, reconciliation, the ticket export and the alarms."""

from typing import Literal

from fastapi import APIRouter, Response

from sync.server.routes.deps import ADMIN, Day, Server, Signed

router = APIRouter()


@router.get("/v1/conflicts", tags=["terminal"])
def conflicts(t: Signed, server: Server, status: str | None = None):
    return {"conflicts": server.conflicts_of(t["terminal_id"], status)}


@router.get("/v1/reconciliation", tags=["terminal"])
def reconciliation(t: Signed, date: Day, server: Server):
    return server.reconcile(t["terminal_id"], date)


@router.get("/v1/station/day", tags=["terminal"])
def station_day(t: Signed, date: Day, server: Server):
    """The terminal's own station's day in figures, for its supervisor (docs/supervisor.md)."""
    return server.station_day(t["station"], date)


@router.get("/v1/admin/tickets", tags=["admin"], dependencies=ADMIN)
def export(server: Server, terminal: str | None = None, date: str | None = None, channel: str | None = None):
    return {"tickets": server.export_tickets(terminal_id=terminal, day=date, channel=channel)}


@router.get("/v1/admin/departures", tags=["admin"], dependencies=ADMIN)
def departures(date: Day, server: Server, station: str | None = None):
    """Each departure of a local day as its gate left it (发班信息)."""
    return {"date": date, "departures": server.departures(date, station=station)}


@router.get("/v1/admin/reconciliation", tags=["admin"], dependencies=ADMIN)
def admin_reconciliation(terminal: str, date: Day, server: Server):
    return server.reconcile(terminal, date)


@router.get("/v1/admin/alarms", tags=["admin"], dependencies=ADMIN)
def alarms(server: Server):
    return {"alarms": server.alarms()}


@router.get("/v1/admin/conflicts", tags=["admin"], dependencies=ADMIN)
def admin_conflicts(terminal: str, server: Server, status: str | None = None):
    return {"conflicts": server.conflicts_of(terminal, status)}


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/v1/admin/reports/{kind}", tags=["admin"], dependencies=ADMIN)
def day_report(kind: Literal["station", "carrier", "departures", "reconciliation"], date: Day,
               server: Server, station: str | None = None, format: Literal["json", "csv", "xlsx"] = "json"):
    """The station's or the province's day in figures (docs/reports.md): per station, per carrier with
    its clearing, per departure, or every terminal's reconciliation; as JSON (fen), CSV or XLSX (yuan)."""
    report = server.day_report(kind, date, station=station)
    if format == "json":
        return report
    from sync.server import report_export

    name = f"kezhan-{kind}-{date}{'-' + station if station else ''}"
    if format == "csv":
        return Response(report_export.to_csv(report).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    body = report_export.xlsx_bytes([report])
    return Response(body, media_type=XLSX_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
