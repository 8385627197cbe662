"""The data of the ``gate_keystroke`` bench (app/ui/bench.py), made here because the window's code
never touches the store: a copy of the large station's file (or a smaller province), the gate
checker 2001, 30 tickets sold on every departure of the checked day, and their ticket codes."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path


@dataclass
class GateBenchDay:
    path: Path
    day: date
    terminal: object  # app.services.context.Terminal
    sold: list  # (ticket_id, departure_id, seat_no)
    codes: list  # the ticket code of each, in the same order


def gate_bench_day(folder: Path, scale: dict | None = None, per_departure: int = 30) -> GateBenchDay:
    from app.bench.dataset import START, build_station_db, large_station_db
    from app.bench.gate import _sell_day
    from app.domain.ed25519 import PrivateKey
    from app.domain.ticket_code import TicketCodePayload, encode_ticket_code
    from app.services.context import Terminal
    from app.store.engine import open_database
    from app.store.province import get_setting
    from app.store.users import ensure_user

    path = Path(folder) / "gate.sqlite3"
    if scale is None:
        shutil.copyfile(large_station_db(), path)
    else:
        build_station_db(path, **scale)
    day = START + timedelta(days=1)
    db = open_database(path)
    try:
        with db.transaction() as session:
            ensure_user(session, "2001", "赵检票", "gate", "1234")
            station = get_setting(session, "home_station")
        key = PrivateKey.generate()
        terminal = Terminal(station_code=station, terminal_id=f"{station}-T02", signing_key=key,
                            doc_hash_key=os.urandom(32))
        sold = _sell_day(db, terminal, day.isoformat(), per_departure)
    finally:
        db.dispose()
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    codes = [encode_ticket_code(TicketCodePayload(t, d, s, "full", "", issued), key, terminal.key_id)
             for t, d, s in sold]
    return GateBenchDay(path, day, terminal, sold, codes)
