"""The shift settlement (交班结算) as lines a person reads: on the counter screen, on the printed
slip, and in the demo. The figures are the shifts service's report; this only names and orders them."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.money import format_price
from app.domain.ticket_types import TicketTypeTable


@dataclass(frozen=True)
class SettlementView:
    shift_id: str
    clerk: str
    opened_at: str
    first_stock_no: str
    last_stock_no: str
    stock_used: int
    stock_spoiled: int
    lines: list[tuple[str, int | None, int, str]]  # label, count (None: not counted), amount (fen), note
    amount_due: int
    cash_due: int
    report: dict


def settlement_view(report: dict, types: TicketTypeTable, *, en: bool = False, opened_at: str = "") -> SettlementView:
    """``report``: ``app.services.shifts`` settlement report; ``opened_at``: as the reader's clock shows it."""

    def type_name(code: str) -> str:
        if code in types:
            t = types.get(code)
            return (t.name_en or t.name) if en else t.name
        return code

    method_names = {"cash": "Cash" if en else "现金", "epay": "E-payment" if en else "电子支付"}
    lines: list[tuple[str, int | None, int, str]] = []
    sold = report["sold"]
    lines.append(("Sold" if en else "售票", sold["count"], sold["amount"], ""))
    for code, slot in sorted(sold["by_type"].items(), key=lambda kv: types.codes.index(kv[0]) if kv[0] in types else 99):
        lines.append(("  " + type_name(code), slot["count"], slot["amount"], ""))
    for method, slot in sorted(sold["by_method"].items()):
        lines.append(("  " + method_names.get(method, method), slot["count"], slot["amount"], ""))
    refunded = report["refunded"]
    fees = format_price(refunded["fees"])
    lines.append(("Refunded" if en else "退票", refunded["count"], -refunded["amount"],
                  f"fees {fees}" if en else f"手续费 {fees}"))
    voided = report["voided"]
    lines.append(("Voided" if en else "废票", voided["count"], -voided["amount"], ""))
    changed = report["changed"]
    fees = format_price(changed["fees"])
    lines.append(("Changed" if en else "改签", changed["count"], changed["amount"],
                  f"fees {fees}" if en else f"手续费 {fees}"))
    payments = report["payments"]
    for method in ("cash", "epay"):
        lines.append((("Net " if en else "净收 ") + method_names[method], None, payments.get(method, 0), ""))
    stock = report["stock"]
    rolls = stock["rolls"]
    return SettlementView(
        shift_id=report["shift_id"], clerk=report["clerk"], opened_at=opened_at or str(report["opened_at"]),
        first_stock_no=rolls[0]["first"] if rolls else "",
        last_stock_no=stock["issued"][-1] if stock["issued"] else "",
        stock_used=stock["printed_count"], stock_spoiled=stock["spoiled_count"], lines=lines,
        amount_due=report["amount_due"], cash_due=report["amount_due"], report=report,
    )
