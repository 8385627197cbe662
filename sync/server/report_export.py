"""The day reports as tables: their columns (Chinese headers with English), CSV and an XLSX workbook.

One table per report (station, carrier, departures, reconciliation and its mismatches), each with
a total row where the figures add up. Amounts are fen in the reports; here they become yuan with
two decimals -- numbers in the workbook (formatted ``#,##0.00``), exact decimal text in CSV.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

TEXT, COUNT, MONEY = "text", "count", "money"


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = TEXT

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"


def _c(key, zh, en, kind=TEXT):
    return Column(key, zh, en, kind)


SALES_COLUMNS = [
    _c("window_tickets", "窗口售票", "Window tickets", COUNT),
    _c("window_amount", "窗口票款", "Window takings", MONEY),
    _c("web_tickets", "网售票", "Web tickets", COUNT),
    _c("web_amount", "网售票款", "Web takings", MONEY),
    _c("refunds", "退票", "Refunds", COUNT),
    _c("refund_amount", "退款", "Refunded", MONEY),
    _c("refund_fees", "退票手续费", "Refund fees", MONEY),
    _c("changes", "改签", "Changes", COUNT),
    _c("change_differences", "改签差价", "Change differences", MONEY),
    _c("change_fees", "改签费", "Change fees", MONEY),
    _c("voids", "废票", "Voids", COUNT),
    _c("void_amount", "废票金额", "Voided", MONEY),
    _c("net", "实收", "Net takings", MONEY),
]
CLEARING_COLUMNS = [
    _c("departures", "班次", "Departures", COUNT),
    _c("billed_departures", "路单", "Road bills", COUNT),
    _c("checked", "检票人数", "Checked", COUNT),
    _c("fares", "路单票款", "Fares", MONEY),
    _c("station_fee", "站务费", "Station fee", MONEY),
    _c("agency_fee", "代理费", "Agency fee", MONEY),
    _c("carrier_due", "应付承运", "Due to carrier", MONEY),
]


@dataclass(frozen=True)
class Table:
    name: str  # the sheet's name
    title: str
    columns: list[Column]
    rows: list[dict]
    totals: dict | None  # None: no total row


def tables(report: dict) -> list[Table]:
    """The tables of one report (the reconciliation has two: terminals and mismatches)."""
    kind, day = report["report"], report["date"]
    where = f" {report['station']}" if report.get("station") else ""
    if kind == "station":
        cols = [_c("station", "车站代码", "Station"), _c("station_name", "车站", "Station name")] + SALES_COLUMNS
        return [Table("车站日报 Station", f"车站日报 Station day report{where} {day}", cols, report["stations"],
                      report["totals"])]
    if kind == "carrier":
        cols = ([_c("carrier", "承运企业代码", "Carrier code"), _c("carrier_name", "承运企业", "Carrier")]
                + SALES_COLUMNS + CLEARING_COLUMNS)
        s = report["settings"]
        title = (f"承运企业日报与清分 Carrier day report and clearing{where} {day} "
                 f"(站务费 station fee {s['station_fee_percent']}%, 代理费 agency fee {s['agency_fee_percent']}%)")
        return [Table("承运清分 Carrier", title, cols, report["carriers"], report["totals"])]
    if kind == "departures":
        cols = [_c("departure_id", "班次", "Departure"), _c("time", "发车", "Departs"), _c("route", "线路", "Route"),
                _c("carrier_name", "承运企业", "Carrier"), _c("state", "检票状态", "Check state"),
                _c("gate", "检票口", "Gate"), _c("plate", "车牌", "Plate"), _c("driver", "驾驶员", "Driver"),
                _c("seats", "座位", "Seats", COUNT), _c("sold", "已售", "Sold", COUNT),
                _c("checked", "已检", "Checked", COUNT), _c("road_bill_no", "路单号", "Road bill"),
                _c("billed_count", "路单人数", "Billed", COUNT), _c("fares", "路单票款", "Fares", MONEY),
                _c("station_fee", "站务费", "Station fee", MONEY), _c("agency_fee", "代理费", "Agency fee", MONEY),
                _c("carrier_due", "应付承运", "Due to carrier", MONEY)]
        return [Table("发班 Departures", f"发班日报 Departures{where} {day}", cols, report["departures"],
                      report["totals"])]
    if kind == "reconciliation":
        cols = [_c("terminal_id", "终端", "Terminal"), _c("station", "车站", "Station"),
                _c("events", "事件", "Events", COUNT), _c("first_seq", "起始序号", "First seq", COUNT),
                _c("last_seq", "结束序号", "Last seq", COUNT), _c("tickets_sold", "售票", "Tickets sold", COUNT),
                _c("refunds", "退票", "Refunds", COUNT), _c("changes", "改签", "Changes", COUNT),
                _c("voids", "废票", "Voids", COUNT), _c("sales", "售票款", "Sales", MONEY),
                _c("refund_amount", "退款", "Refunded", MONEY), _c("refund_fees", "退票手续费", "Refund fees", MONEY),
                _c("void_amount", "废票金额", "Voided", MONEY), _c("net", "实收", "Net takings", MONEY),
                _c("mismatches", "不符", "Mismatches", COUNT)]
        summed = ("events", "tickets_sold", "refunds", "changes", "voids", "sales", "refund_amount", "refund_fees",
                  "void_amount", "net", "mismatches")
        totals = {k: sum(int(r[k] or 0) for r in report["terminals"]) for k in summed}
        mcols = [_c("terminal_id", "终端", "Terminal"), _c("kind", "类型", "Kind"), _c("seq", "序号", "Seq", COUNT),
                 _c("ticket_id", "票号", "Ticket"), _c("detail", "说明", "Detail")]
        return [Table("对账 Reconciliation", f"终端对账 Reconciliation per terminal{where} {day}", cols,
                      report["terminals"], totals),
                Table("不符 Mismatches", f"对账不符 Mismatches{where} {day}", mcols, report["mismatches"], None)]
    raise ValueError(f"no such report: {kind}")


def yuan(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def _cell(col: Column, value):
    if value is None:
        return None
    if col.kind == MONEY:
        return yuan(value)
    return value


TOTAL_LABEL = "合计 Total"


def _total_row(t: Table) -> dict:
    first = t.columns[0].key
    return {first: TOTAL_LABEL, **{c.key: t.totals.get(c.key) for c in t.columns if c.key in t.totals}}


def to_csv(report: dict) -> str:
    """Every table of the report, one after another (a blank line between), amounts in yuan."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for n, t in enumerate(tables(report)):
        if n:
            w.writerow([])
        w.writerow([c.header for c in t.columns])
        rows = t.rows + ([_total_row(t)] if t.totals is not None else [])
        for r in rows:
            w.writerow(["" if (v := _cell(c, r.get(c.key))) is None else str(v) for c in t.columns])
    return out.getvalue()


def write_xlsx(reports: list[dict], path) -> None:
    """One sheet per report table: a title row, the header, the rows, the total row."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for report in reports:
        for t in tables(report):
            ws = wb.create_sheet(t.name[:31])
            ws.append([t.title])
            ws["A1"].font = Font(bold=True, size=13)
            ws.append([f"{c.zh}\n{c.en}" for c in t.columns])
            for cell in ws[2]:
                cell.font = bold
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            rows = t.rows + ([_total_row(t)] if t.totals is not None else [])
            for r in rows:
                ws.append([_cell(c, r.get(c.key)) for c in t.columns])
            for i, c in enumerate(t.columns, start=1):
                letter = get_column_letter(i)
                if c.kind == MONEY:
                    for (cell,) in ws.iter_rows(min_row=3, min_col=i, max_col=i):
                        cell.number_format = "#,##0.00"
                # A Chinese character is about two columns wide; the English header stays on one line.
                width = max([len(c.zh) * 2 + 2, len(c.en) + 2]
                            + [_display_width(str(r.get(c.key) or "")) + 2 for r in rows[:200] if c.kind == TEXT])
                ws.column_dimensions[letter].width = min(max(width, 8), 48)
            if t.totals is not None:
                for cell in ws[ws.max_row]:
                    cell.font = bold
            ws.row_dimensions[2].height = 30
            ws.freeze_panes = "B3"
            # Printed: landscape, every column on one page wide.
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
    wb.save(path)


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def xlsx_bytes(reports: list[dict]) -> bytes:
    buf = io.BytesIO()
    write_xlsx(reports, buf)
    return buf.getvalue()
