"""Signed requests: a captured request replayed, or altered on the way, is refused by the server; the
terminal loses nothing and gets through once the link is honest again."""

from __future__ import annotations

import socket

from tests.integration.sync_client.helpers import check_invariants, departure_ids, server_events


def _send_raw(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        # One request, then close: ask the server to close after answering.
        s.sendall(raw.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_replayed_upload_is_refused(server, proxy, rigs):
    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    rig.open_shift()
    rig.sell(departure_ids()[0])
    assert rig.client.run_once().ok
    uploads = [r for r in proxy.requests_seen if r.startswith(b"POST /v1/events")]
    assert uploads
    answer = _send_raw(server.port, uploads[-1])
    assert b" 401 " in answer.split(b"\r\n", 1)[0]
    assert b"REPLAYED_NONCE" in answer
    check_invariants(server, [rig])


def test_a_tampered_upload_is_refused_and_retried_intact(server, proxy, rigs):
    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    rig.open_shift()
    sale = rig.sell(departure_ids()[0])
    price = str(sale.total).encode()

    def cheaper(request: bytes) -> bytes:
        # Same length, so the framing holds and only the signature can tell.
        return request.replace(b'"amount":' + price, b'"amount":' + b"1" * len(price), 1)

    proxy.match = "/v1/events"
    proxy.mode = ("tamper_request", cheaper)
    report = rig.client.run_once()
    assert not report.ok and "BAD_SIGNATURE" in report.error
    assert server_events(server, rig.client.terminal_id) == []
    assert rig.statuses[-1].problem_kind == "refused"
    proxy.mode = None
    assert rig.client.drain(timeout=10)
    check_invariants(server, [rig])
    [ticket] = server.server.export_tickets()
    assert ticket["price"] == sale.total


def test_a_forged_signature_from_someone_without_the_secret_is_refused(server, proxy, rigs):
    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    raw = next(r for r in proxy.requests_seen if r.startswith(b"GET /v1/changes"))
    head, _, _ = raw.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"kezhan-nonce")]
    forged = b"\r\n".join(lines + [b"Kezhan-Nonce: 0123456789abcdef0123456789abcdef"]) + b"\r\n\r\n"
    answer = _send_raw(server.port, forged)
    assert b"BAD_SIGNATURE" in answer
