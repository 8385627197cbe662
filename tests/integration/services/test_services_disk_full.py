"""A sale when the disk fills up: the clerk is told, nothing half-written, the next sale after space
is freed carries on from the same stock number and seq."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from app.errors import StorageError
from app.services import PassengerIn, PaymentIn, sell
from app.store.engine import open_database
from tests.integration.services.conftest import CLERK
from tests.integration.store.tiny_province import D_0800, D_1400, NINGBO, NOW, resident_id


def _sell(db, terminal, n, departure=D_0800):
    return sell(db, terminal, clerk=CLERK, departure_id=departure, stop=NINGBO,
                passengers=[PassengerIn("full", "乘客", doc_number=resident_id(serial=f"{n:03d}"))],
                payment=PaymentIn("cash"), now=NOW + timedelta(minutes=1))


def test_a_full_disk_refuses_the_sale_cleanly(db, db_path, terminal, shift):
    db.dispose()
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    full = open_database(db_path, pragmas={"max_page_count": pages + 2})
    sold = []
    with pytest.raises(StorageError) as info:
        for n in range(1, 90):
            sold.append(_sell(full, terminal, n, D_0800 if n <= 45 else D_1400).ticket_ids[0])
    full.dispose()
    assert info.value.code == "DISK_FULL" and "磁盘已满" in info.value.message
    assert sold, "some sales fit before the disk filled"
    con = sqlite3.connect(db_path)
    try:
        assert [r[0] for r in con.execute("SELECT id FROM tickets ORDER BY id")] == sold
        seqs = [r[0] for r in con.execute("SELECT seq FROM outbox ORDER BY seq")]
        assert seqs == list(range(1, len(sold) + 2))  # shift.opened + one per sale, no gap
        assert con.execute("SELECT next_no FROM stock_rolls").fetchone()[0] == f"{100001 + len(sold):08d}"
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()
    # Space again: selling resumes with the next number and seq.
    roomy = open_database(db_path)
    result = _sell(roomy, terminal, 99, D_1400)
    roomy.dispose()
    assert result.print_jobs[0].stock_no == f"{100001 + len(sold):08d}"
    assert result.seq == len(sold) + 2
