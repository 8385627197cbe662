"""Issue 11, finding 2, over the feed: a terminal of the departure's own station (which needs the
passengers to check them at the gate) pulls every channel's tickets; with its own keys, the brute
force that recovered the numbers before finds no unique candidate in what it pulled, nor in the
reconciliation report it may fetch, and the server keeps one seat per document with a key it never
sends."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from app.domain.identity import document_hash
from tests.integration.id_brute_force import candidates

from .conftest import DEST, SOON, id_number


def _pull(t) -> tuple[list[dict], str]:
    changes, texts, cursor = [], [], None
    while True:
        r = t.call("GET", "/v1/changes?limit=5000" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.text
        texts.append(r.text)
        body = r.json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["more"]:
            return changes, "".join(texts)


def _shown(p: dict) -> str:
    """What a passenger row shows of the document's hash: the tag now (a full hash before)."""
    return p.get("doc_tag") or p.get("doc_hash")


def test_the_feed_and_the_report_a_terminal_pulls_give_no_unique_candidate(server):
    clerk, gate = server.terminal(), server.terminal()
    number, web_number = id_number("window passenger"), id_number("web passenger")
    sale = clerk.sale(SOON, 1, doc_number=number)
    assert clerk.upload([sale]).json()["conflicts"] == []
    r = server.post_admin("/v1/web/orders", {"departure_id": SOON, "stop": DEST, "passengers": [
        {"name": "李四", "doc_type": "resident_id", "doc_number": web_number}]})
    assert r.status_code == 201, r.text

    changes, text = _pull(gate)
    assert number not in text and web_number not in text
    key = gate.doc_hash_key
    for n in (number, web_number):
        assert document_hash(key, "resident_id", n)[:8] not in text  # no more of the hash than its tag
    rows = [c["data"]["passenger"] for c in changes if c["kind"] in ("gate_ticket", "web_ticket")]
    assert len(rows) == 3  # the window's ticket; the web ticket's gate row and its pick-up row
    for p in rows:
        truth = web_number if p["name"] == "李四" else number
        found = candidates(p["doc_masked"], _shown(p), key, regions=[truth[:6]])
        assert truth in found and len(found) > 1, found

    report = clerk.call("GET", "/v1/reconciliation?date=2026-11-24")
    assert report.status_code == 200, report.text
    assert number not in report.text and document_hash(key, "resident_id", number)[:8] not in report.text
    [ticket] = report.json()["tickets"]
    p = ticket["passenger"]
    found = candidates(p["doc_masked"], _shown(p), key, regions=[number[:6]])
    assert number in found and len(found) > 1, found
    assert "doc_pepper" not in json.dumps(report.json())


def test_a_database_from_before_is_rehashed_once_under_the_servers_own_key(tmp_path):
    """tickets.doc_hash held the terminals' hash (their key, the one every terminal has); at start the
    server makes it again from the number under its own pepper, once, and keeps the tag key."""
    from sqlalchemy import select

    from sync.server import db as dbmod
    from sync.server import feed, models
    from sync.server.context import ServerContext
    from sync.server.documents import DocumentKey

    ctx = ServerContext(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    number = id_number("old")
    with ctx.tx() as conn:
        dbmod.set_meta(conn, "doc_hash_key", "a2V6aGFuLW9sZC1kb2MtaGFzaC1rZXktMDAwMDAwMDA=")
        conn.execute(models.tickets.insert(), [
            {"ticket_id": "T1", "order_id": "O1", "channel": "terminal", "departure_id": SOON, "status": "active",
             "ticket_type": "full", "sold_at": "2026-11-24T00:00:00Z", "doc_type": "resident_id",
             "doc_number": number, "doc_hash": "terminal-hash"},
            {"ticket_id": "T2", "order_id": "O2", "channel": "terminal", "departure_id": SOON, "status": "active",
             "ticket_type": "full", "sold_at": "2026-11-24T00:00:00Z", "doc_type": None, "doc_number": None,
             "doc_hash": "no-number"}])
        # What the feed published then: the terminals' full hash and the old mask.
        old = document_hash(base64.b64decode("a2V6aGFuLW9sZC1kb2MtaGFzaC1rZXktMDAwMDAwMDA="), "resident_id", number)
        feed.publish(conn, "gate_ticket", "T1", {"ticket_id": "T1", "passenger": {
            "name": "张三", "doc_type": "resident_id", "doc_masked": number[:6] + "*" * 8 + number[-4:],
            "doc_hash": old}}, at=datetime(2026, 11, 24, tzinfo=UTC), scope="station:330102001")
    keys = DocumentKey(ctx).keys
    with ctx.reader() as conn:
        hashes = dict(conn.execute(select(models.tickets.c.ticket_id, models.tickets.c.doc_hash)).all())
        assert dbmod.get_meta(conn, "doc_hash_key") == "a2V6aGFuLW9sZC1kb2MtaGFzaC1rZXktMDAwMDAwMDA="
    assert hashes == {"T1": keys.server_hash("resident_id", number), "T2": None}
    assert hashes["T1"] != document_hash(keys.tag_key, "resident_id", number)
    assert keys.tag("resident_id", number) == document_hash(keys.tag_key, "resident_id", number)[:2]
    # The feed's old passenger row now says what it would say today; its id (and every cursor) is kept.
    with ctx.reader() as conn:
        [(row_id, text)] = conn.execute(select(models.changes.c.id, models.changes.c.data)).all()
    assert json.loads(text)["passenger"] == {"name": "张三", "doc_type": "resident_id",
                                             "doc_masked": "*" * 14 + number[-4:], "doc_tag": old[:2]}
    assert old[2:10] not in text
    ctx.close()
