"""Every call survives a link that loses a third of what it carries: `kezhan simulate` (its set-up,
its selling, its report) completes through a proxy that cuts every third request or answer, with
nothing missing, nothing doubled and no seat sold twice; and an enrolment whose answer was lost is
retried to the same terminal."""

from __future__ import annotations

import itertools
import threading

from app.store.engine import open_database
from sync.client import enrol
from sync.client.identity import load_identity
from tests.integration.sync_client.helpers import ADMIN, HOME, issue_code

from .test_syncclient_cli import run

FAULTS = ("drop_request", "drop_response", "cut_response")


def every_third(proxy):
    """Of every three requests, one is lost: the request itself, its answer, or half its answer."""
    counter, lock = itertools.count(), threading.Lock()

    def choose(_first_line):
        with lock:
            n = next(counter)
        return (FAULTS[(n // 3) % 3], None) if n % 3 == 2 else None

    proxy.chooser = choose


def test_simulate_completes_through_a_link_that_cuts_a_third_of_everything(server, proxy, capsys, monkeypatch,
                                                                         tmp_path):
    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path / "home"))
    every_third(proxy)
    code, report = run(capsys, "simulate", "--server", f"http://127.0.0.1:{proxy.port}", "--admin-token", ADMIN,
                       "--terminals", "2", "--sales", "8", "--web-sales", "8", "--offline-windows", "1",
                       "--seed", "7", "--station", HOME, "--json")
    assert code == 0, report
    assert report["ok"] and report["converged"]
    assert report["missing"] == [] and report["duplicated"] == [] and report["double_sold_seats"] == []
    assert report["conflicts_without_task"] == [] and report["event_mismatches"] == []
    # Exactly what was sold is on the server: no web order made twice by a retry, none lost.
    assert report["terminal_sales"] == report["server_tickets_by_channel"].get("terminal", 0)
    assert report["web_sales"] == report["server_tickets_by_channel"].get("web", 0)
    assert len(server.server.list_terminals()) == 2
    kinds = {kind for _line, kind in proxy.log}
    assert set(FAULTS) <= kinds  # the faults did happen


def test_an_enrolment_whose_answer_is_lost_is_retried_to_the_same_terminal(server, proxy, tmp_path):
    code = issue_code(server.url)
    proxy.faults(("drop_response", None), ("cut_response", None))  # the server enrols; the answer is lost twice
    db = open_database(tmp_path / "t.sqlite3")
    try:
        got = enrol(db, f"http://127.0.0.1:{proxy.port}", code)
        assert load_identity(db).terminal_id == got["terminal_id"]
    finally:
        db.dispose()
    assert [t["terminal_id"] for t in server.server.list_terminals()] == [got["terminal_id"]]
    assert [kind for _line, kind in proxy.log] == ["drop_response", "cut_response", "pass"]


def test_a_wizard_calling_enrol_again_with_its_key_gets_the_same_terminal(server, proxy, tmp_path):
    code = issue_code(server.url)
    proxy.faults(("drop_response", None))
    db = open_database(tmp_path / "t.sqlite3")
    try:
        # One attempt per call: the first call fails with its answer lost; the wizard's "try again"
        # calls once more with the same key.
        first_error = None
        try:
            enrol(db, f"http://127.0.0.1:{proxy.port}", code, idempotency_key="wizard-enrol-0001", attempts=1)
        except Exception as exc:  # noqa: BLE001 - the error the wizard would show
            first_error = exc
        assert first_error is not None and first_error.code == "LINK_DOWN"
        got = enrol(db, f"http://127.0.0.1:{proxy.port}", code, idempotency_key="wizard-enrol-0001", attempts=1)
    finally:
        db.dispose()
    assert [t["terminal_id"] for t in server.server.list_terminals()] == [got["terminal_id"]]


def test_a_seat_request_whose_answer_is_lost_holds_one_seat(server, proxy, rigs):
    from tests.integration.sync_client.helpers import departure_ids

    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    dep = departure_ids()[2]

    def held():
        return {s for lease in server.server.leases_of(rig.client.terminal_id) if lease["departure_id"] == dep
                for s in lease["seats"]}

    before = held()
    proxy.match = "/v1/seats/request"
    proxy.faults(("drop_response", None))  # the server grants a seat; the answer never comes
    answer = rig.client.request_seat(dep, None)
    assert [kind for line, kind in proxy.log if "/v1/seats/request" in line] == ["drop_response", "pass"]
    # Asked twice for "any free seat", granted once: the retry got the first answer.
    assert held() - before == {answer["seat_no"]}
