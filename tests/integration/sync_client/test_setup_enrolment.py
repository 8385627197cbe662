"""The set-up steps' enrolment (app/setup.py) over a link that loses requests and answers: the real
server behind the fault-injecting proxy; the terminal retries with one signing key and one
idempotency key, and the province ends up with one terminal."""

from __future__ import annotations

from app.setup import SetupSession
from tests.integration.sync_client.helpers import issue_code


def session_at(tmp_path) -> SetupSession:
    waits: list[float] = []
    session = SetupSession(tmp_path / "kezhan.toml", sleep=waits.append, attempts=5, backoff=0.5)
    session.config.database.path = str(tmp_path / "kezhan.sqlite3")
    session.waits = waits
    return session


def test_enrolment_gets_through_a_link_that_drops_a_third_of_its_requests(server, proxy, tmp_path):
    code = issue_code(server.url)
    # Every third request is lost on the way (the health check passes, the first two enrol tries
    # do not reach the server).
    proxy.match = "/v1/enrol"
    proxy.faults(("drop_request", None), ("drop_request", None))
    session = session_at(tmp_path)
    result = session.enrol(proxy.url, code)
    assert result.ok, result.en
    assert session.waits == [0.5, 1.0]  # backed off, doubling
    assert [t["terminal_id"] for t in server.server.list_terminals()] == [result.data["terminal_id"]]
    sent = [r for r in proxy.requests_seen if r.startswith(b"POST /v1/enrol")]
    assert len(sent) == 3
    keys = {line for r in sent for line in r.split(b"\r\n") if line.lower().startswith(b"idempotency-key:")}
    assert len(keys) == 1  # one key for the three tries
    bodies = {r.split(b"\r\n\r\n", 1)[1] for r in sent}
    assert len(bodies) == 1  # and the same public key in each

    # The step again, the code spent: the same terminal, nothing sent.
    before = len(proxy.requests_seen)
    again = session.enrol(proxy.url, code)
    assert again.ok and again.data["terminal_id"] == result.data["terminal_id"] and again.data["already_enrolled"]
    assert not any(r.startswith(b"POST /v1/enrol") for r in proxy.requests_seen[before:])


def test_a_link_losing_every_other_request_from_the_first_still_enrols_one_terminal(server, proxy, tmp_path):
    code = issue_code(server.url)
    seen = []

    def every_other(first_line):
        seen.append(first_line)
        return ("drop_request", None) if len(seen) % 2 == 1 else None  # the 1st, 3rd, 5th...

    proxy.chooser = every_other
    session = session_at(tmp_path)
    result = session.enrol(proxy.url, code)
    assert result.ok, result.en
    assert [t["terminal_id"] for t in server.server.list_terminals()] == [result.data["terminal_id"]]
    # The link check lost its first try and the enrolment its first: both were tried again.
    assert [line.split()[1] for line in seen] == ["/v1/health", "/v1/health", "/v1/enrol", "/v1/enrol"]


def test_a_link_that_never_answers_fails_after_the_tries_and_enrols_nothing(server, proxy, tmp_path):
    code = issue_code(server.url)
    proxy.match = "/v1/enrol"
    proxy.mode = ("drop_request", None)
    session = session_at(tmp_path)
    result = session.enrol(proxy.url, code)
    assert not result.ok and result.data["code"] == "LINK_DOWN" and result.data["attempts"] == 5
    assert server.server.list_terminals() == []
    assert session.config.terminal.id == ""


def test_a_retry_after_a_lost_answer_is_the_same_terminal(server, proxy, tmp_path):
    code = issue_code(server.url)
    proxy.match = "/v1/enrol"
    proxy.faults(("drop_response", None))  # the server enrols, the answer never comes back
    session = session_at(tmp_path)
    result = session.enrol(proxy.url, code)
    assert result.ok, result.en
    assert len(server.server.list_terminals()) == 1
    assert [t["terminal_id"] for t in server.server.list_terminals()] == [result.data["terminal_id"]]
