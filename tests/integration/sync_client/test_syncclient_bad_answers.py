"""A server (or something posing as one) answering garbage, a web page, a huge body, another protocol
version, or with a clock an hour away: the terminal says what is wrong, loses nothing, keeps trying."""

from __future__ import annotations

import json
import time

import pytest

from app.errors import RuleViolation
from sync.client.transport import Transport
from tests.integration.sync_client.helpers import check_invariants, departure_ids
from tests.integration.sync_client.proxy import http_answer

CASES = {
    "garbage": http_answer(200, b"\x00\xff\x13garbage{{{", "application/octet-stream"),
    "html": http_answer(502, b"<!DOCTYPE html><html><body>Bad Gateway</body></html>", "text/html"),
    "html200": http_answer(200, b"<html><body>Please log in to the Wi-Fi</body></html>", "text/html"),
    "json_garbage": http_answer(200, b'{"acked_through": ', "application/json"),
    "too_large": http_answer(200, b'{"x": "' + b"a" * (3 * 1024 * 1024) + b'"}', "application/json"),
    "version": http_answer(409, json.dumps({"error": "PROTOCOL_VERSION", "message": "v2 only"}).encode(),
                           "application/json", {"Kezhan-Protocol": "2"}),
    "not_an_object": http_answer(200, b"[1, 2, 3]", "application/json"),
}
EXPECTED_KIND = {"garbage": "garbage", "html": "link", "html200": "html", "json_garbage": "garbage",
                 "too_large": "too_large", "version": "version", "not_an_object": "shape"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unusable_answers_give_a_clear_status_and_lose_nothing(server, proxy, rigs, case):
    rig = rigs(via=proxy)
    rig.client.transport.max_answer_bytes = 1024 * 1024
    assert rig.client.run_once().ok
    rig.open_shift()
    for dep in departure_ids()[:3]:
        rig.sell(dep)
    pending = rig.client.pending_events()
    proxy.mode = ("replace", CASES[case])
    for _ in range(3):  # retries go on, and keep failing the same clear way
        report = rig.client.run_once()
        assert not report.ok
        assert report.error_kind == EXPECTED_KIND[case], report
        status = rig.statuses[-1]
        assert status.state == "offline" and status.problem and status.problem_kind == EXPECTED_KIND[case]
        assert rig.client.pending_events() == pending
    proxy.mode = None
    assert rig.client.drain(timeout=10)
    assert rig.statuses[-1].state == "online" and rig.statuses[-1].problem is None
    check_invariants(server, [rig])


def test_a_terminal_clock_an_hour_off_measures_the_offset_and_gets_through(server, rigs):
    skew = 3600.0
    rig = rigs(clock=lambda: time.time() + skew)
    assert rig.client.transport.offset == 0.0
    report = rig.client.run_once()
    assert report.ok, report
    assert abs(rig.client.transport.offset + skew) < 5
    assert abs(rig.statuses[-1].clock_offset + skew) < 5
    rig.open_shift()
    rig.sell(departure_ids()[0])
    assert rig.client.drain(timeout=10)
    check_invariants(server, [rig])


def test_the_server_time_on_a_refusal_corrects_the_clock_for_the_retry(server, rigs):
    """The very first request is signed with a clock two hours fast; the STALE_TIMESTAMP refusal
    carries the server's time, and the one retry with the measured offset passes."""
    rig = rigs()
    t = Transport(server.url, rig.client.transport.credentials, clock=lambda: time.time() + 7200)
    try:
        answer = t.call("GET", "/v1/changes", query={"limit": 1})
        assert "changes" in answer
        assert abs(t.offset + 7200) < 5
    finally:
        t.close()


def test_a_server_whose_clock_is_an_hour_ahead_is_followed_not_fought(tmp_path):
    from datetime import UTC, datetime, timedelta

    from sync.server import ServerThread
    from tests.integration.sync_client.helpers import ADMIN, TerminalRig, province_doc

    srv = ServerThread(str(tmp_path / "server.sqlite3"), admin_token=ADMIN, province=province_doc(),
                       sweep_interval=None, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    srv.start()
    rig = None
    try:
        rig = TerminalRig.create(srv, tmp_path / "terminal")
        assert rig.client.run_once().ok
        assert abs(rig.client.transport.offset - 3600) < 5
        rig.open_shift()
        rig.sell(departure_ids()[0])
        assert rig.client.drain(timeout=10)
        check_invariants(srv, [rig])
        # Lease expiries are the server's: judged on its clock, the fresh leases are live here.
        assert rig.statuses[-1].lease_coverage.seats > 0
        # The counter judges them on the server's clock too. Offline 45 minutes later by this
        # terminal's clock, the 30-minute leases have ended for the server, so none is sold from.
        assert abs(rig.terminal.server_offset.total_seconds() - 3600) < 5
        rig.terminal.go_offline(datetime.now(UTC) + timedelta(hours=1))
        with pytest.raises(RuleViolation) as info:
            rig.sell(departure_ids()[1], now=datetime.now(UTC) + timedelta(minutes=45))
        assert info.value.code == "NO_LEASED_SEATS"
    finally:
        if rig is not None:
            rig.close()
        srv.stop()
