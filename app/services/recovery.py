"""A file that lost acknowledged events: never issuing a number the server or the printed roll holds.

A bit flipped in the WAL makes SQLite drop every transaction after the damaged frame; an older copy
put back does the same. The file is consistent but behind: its counters would hand out again the
seqs, ticket ids and stock numbers of sales the server has acknowledged and the clerk has printed.
The sync client notices at its next exchange (the server's acknowledged seq is past everything this
file has) and calls :func:`advance_past_server` in the transaction that raises its alarm: the
counters jump past the server's marks, and the clerk must confirm the next blank on the roll
(:func:`confirm_next_stock_no`) before another ticket is printed.
"""

from __future__ import annotations

from datetime import datetime

from app.domain.stock import format_stock_no, parse_stock_no, parse_ticket_id
from app.errors import RuleViolation
from app.services.context import Terminal, audit, cursor, open_shift_of, require_now, utc_text
from app.store import outbox, sync_state
from app.store import shifts as shift_store
from app.store.engine import Database

STOCK_CONFIRM_KEY = "stock_confirm"


def advance_past_server(
    cur, terminal_id: str, *, high_water: int, last_ticket_id: str | None, last_stock_no: str | None,
    local_last: int, at: datetime,
) -> dict:
    """Counters past what the server holds, the skipped seqs recorded, the roll to be confirmed.
    Returns what was done (for the alarm's details)."""
    seq_to = outbox.raise_counter(cur, f"outbox_seq:{terminal_id}", high_water)
    ticket_to = None
    if last_ticket_id:
        try:
            ticket_to = outbox.raise_counter(cur, f"ticket_seq:{terminal_id}", parse_ticket_id(last_ticket_id).seq)
        except RuleViolation:
            ticket_to = None
    if high_water > local_last:
        lost = sync_state.setting_value(cur, outbox.LOST_EVENTS_KEY, []) or []
        lost.append({"terminal_id": terminal_id, "first": local_last + 1, "last": high_water, "at": utc_text(at)})
        sync_state.put_setting_value(cur, outbox.LOST_EVENTS_KEY, lost)
    sync_state.put_setting_value(cur, STOCK_CONFIRM_KEY, {"server_last_stock_no": last_stock_no, "at": utc_text(at)})
    return {"outbox_seq": seq_to, "ticket_seq": ticket_to, "lost_seqs": [local_last + 1, high_water],
            "server_last_stock_no": last_stock_no}


def require_roll_confirmed(cur) -> None:
    """``STOCK_CONFIRM_REQUIRED`` while the printed roll may be ahead of this file's stock counter."""
    pending = sync_state.setting_value(cur, STOCK_CONFIRM_KEY)
    if pending is None:
        return
    last = (pending or {}).get("server_last_stock_no") if isinstance(pending, dict) else None
    known_zh = f"（省平台记录的最后票号：{last}）" if last else ""
    known_en = f" (the last stock number the server holds: {last})" if last else ""
    raise RuleViolation(
        f"本机数据库丢失了已上传的售票记录，票卷可能已用到更后面的票号{known_zh}。"
        "请核对票卷上实际的下一张空白票号并确认后再出票（售票窗口会请您输入；命令行：kezhan db confirm-stock）。",
        en="This terminal's database lost sales the server had already acknowledged, so the roll may be "
           f"further on than this file knows{known_en}. Check the next blank on the roll and confirm it "
           "before printing again (the counter window asks for it; on the command line: `kezhan db confirm-stock`).",
        code="STOCK_CONFIRM_REQUIRED",
        server_last_stock_no=last,
    )


def confirm_next_stock_no(db: Database, terminal: Terminal, *, clerk: str, stock_no: str, now: datetime) -> str:
    """The clerk has looked at the roll: its next blank is ``stock_no``. It must lie on the open roll,
    not before the roll's own next number, and past the last number the server holds."""
    now = require_now(now)
    number = parse_stock_no(stock_no)
    with db.transaction() as session:
        cur = cursor(session)
        shift = open_shift_of(cur, terminal, clerk)
        pending = sync_state.setting_value(cur, STOCK_CONFIRM_KEY) or {}
        server_last = pending.get("server_last_stock_no") if isinstance(pending, dict) else None
        floor = max(shift.next_no, parse_stock_no(server_last) + 1 if server_last else 0)
        if number < floor:
            raise RuleViolation(
                f"票号 {format_stock_no(number)} 可能已经印出：下一张票号至少是 {format_stock_no(floor)}",
                en=f"Stock number {format_stock_no(number)} may already be printed: the next one is at least "
                   f"{format_stock_no(floor)}",
                code="STOCK_NO_USED", floor=format_stock_no(floor),
            )
        if shift.last_no is not None and number > shift.last_no:
            raise RuleViolation(
                f"票号 {format_stock_no(number)} 不在本票卷上（最后一张 {format_stock_no(shift.last_no)}）",
                en=f"Stock number {format_stock_no(number)} is past the roll's last {format_stock_no(shift.last_no)}",
                code="STOCK_NOT_ON_ROLL",
            )
        shift_store.set_roll_next(cur, shift.roll_id, format_stock_no(number))
        sync_state.delete_setting(cur, STOCK_CONFIRM_KEY)
        audit(cur, terminal, clerk, "stock_confirmed", shift.id,
              {"next_stock_no": format_stock_no(number), "was": format_stock_no(shift.next_no)}, now)
    return format_stock_no(number)
