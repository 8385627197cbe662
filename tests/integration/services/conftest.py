"""A fresh terminal database per test: a copy of one template file (migrated, tiny province loaded,
users enrolled) so every test starts from the same real SQLite file without paying for scrypt and
migrations each time."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from app.domain.ed25519 import PrivateKey
from app.services import PassengerIn, PaymentIn, Terminal, open_shift, sell
from app.store.engine import backup_file, open_database
from app.store.province import load_province
from app.store.users import ensure_user
from tests.integration.store.tiny_province import D_0800, HOME, ID_A, NINGBO, NOW, tiny_province

TERMINAL_ID = f"{HOME}-T01"
DOC_KEY = b"province-document-hash-key-0001"
SIGNING_KEY = PrivateKey.from_private_bytes(bytes(range(32)))

CLERK, CLERK_PW = "1001", "clerk-one"
CLERK2, CLERK2_PW = "1002", "clerk-two"
SUPERVISOR, SUPERVISOR_PW = "9001", "supervisor"
GATE, GATE_PW = "2001", "gate-pass"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = open_database(path)
    with db.transaction() as session:
        load_province(session, tiny_province())
        ensure_user(session, CLERK, "王售票", "clerk", CLERK_PW)
        ensure_user(session, CLERK2, "李售票", "clerk", CLERK2_PW)
        ensure_user(session, SUPERVISOR, "张站长", "supervisor", SUPERVISOR_PW)
        ensure_user(session, GATE, "赵检票", "gate", GATE_PW)
    db.dispose()
    # A single self-contained file (WAL folded in) that tests copy.
    packed = path.with_name("packed.sqlite3")
    backup_file(path, packed)
    return packed


@pytest.fixture
def db_path(template_db, tmp_path):
    path = tmp_path / "kezhan.sqlite3"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def terminal():
    return Terminal(station_code=HOME, terminal_id=TERMINAL_ID, signing_key=SIGNING_KEY, doc_hash_key=DOC_KEY)


@pytest.fixture
def shift(db, terminal):
    return open_shift(db, terminal, clerk=CLERK, first_stock_no="00100001", last_stock_no="00100500", now=NOW)


@pytest.fixture
def sale(db, terminal, shift):
    """One full-fare ticket to Ningbo on the 08:00, paid 100 yuan cash."""
    return sell(
        db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
        passengers=[PassengerIn("full", "张三", doc_number=ID_A)],
        payment=PaymentIn("cash", tendered=10000), now=NOW + timedelta(minutes=1),
    )
