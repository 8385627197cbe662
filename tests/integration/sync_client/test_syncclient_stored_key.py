"""A terminal enrolled before the Ed25519 library changed (``cryptography`` then, libsodium now) keeps
its key: the identity row as that release wrote it loads, and signs the same ticket codes."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.ticket_code import TicketCodePayload, decode_ticket_code, encode_ticket_code
from app.store.engine import open_database
from app.store.models import SyncIdentity
from app.store.sync_state import record_enrolment
from sync.client import make_terminal
from sync.client.identity import public_keys

# Written by the previous release's enrolment (cryptography's raw private and public bytes, base64):
# the key, its public half as registered with the server, and a code it signed.
STORED_KEY = "jheG9dA+zbq3E3/0Vj+7XvnD5DXt4wx1IGxhK9uRlKY="
STORED_PUBLIC = "hk9jTLEYZh/bnJ1xANaaRJ19J3oVUwpSNiwLDzIHS+k="
PAYLOAD = TicketCodePayload("330102001-T01-000042", "D20260105-0800-A", 7, "full", "3f",
                            datetime(2026, 1, 5, 7, 30, tzinfo=UTC))
OLD_CODE = ("KZ2.330102001-T01.WyIzMzAxMDIwMDEtVDAxLTAwMDA0MiIsIkQyMDI2MDEwNS0wODAwLUEiLDcsImZ1bGwiLCIzZiIsMTc2"
            "NzU5ODIwMF0.rmLbSsxbMHPnR4UyOT6eERetBFI-ykOWKX8QR1IFDVeBUwyWFjUqpCvza3CHEsaJJH2NXv7ERqSeJ2kAx5LPAw")


def test_a_key_stored_by_the_previous_release_signs_the_same_codes(tmp_path):
    db = open_database(tmp_path / "kezhan.sqlite3")
    try:
        with db.transaction() as session:
            record_enrolment(session, SyncIdentity(
                terminal_id="330102001-T01", station_code="330102001", server_url="http://127.0.0.1:9",
                secret="s" * 32, signing_key=STORED_KEY, key_id="330102001-T01",
                enrolled_at=datetime(2026, 1, 1, tzinfo=UTC)), STORED_PUBLIC, None)
        terminal = make_terminal(db)
        assert encode_ticket_code(PAYLOAD, terminal.signing_key, terminal.key_id) == OLD_CODE
        # The gate reads the old code with the public key from the store.
        assert decode_ticket_code(OLD_CODE, public_keys(db)) == PAYLOAD
        assert decode_ticket_code(OLD_CODE, terminal.public_keys) == PAYLOAD
    finally:
        db.dispose()
