"""A real reference server on loopback per test, a controllable clock, and a signing client."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from app.domain.ed25519 import PrivateKey
from app.domain.stock import make_ticket_id, parse_terminal_id
from sync import protocol
from sync.server import ServerThread, Settings
from tests.integration.line_province import CHILD, DEST, FULL, HOME, MID, departure, line_province  # noqa: F401

ADMIN = "admin-token-for-tests"
START = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai


class Clock:
    """The server's clock, moved by the test; signed requests are stamped from it too."""

    def __init__(self, start: datetime = START):
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw) -> None:
        self.t += timedelta(**kw)


def province_doc(seats: int = 10) -> dict:
    return line_province([
        departure("2026-11-25", "09:00", seats),  # tomorrow morning: far from any cut-off
        # An hour after START: the lease cut-off (30 min) comes at 08:30 local.
        departure("2026-11-24", "09:00", seats, gate="1"),
    ], seats=seats, ticket_types=[FULL, CHILD])


TOMORROW = f"{HOME}-20261125-K0900"
SOON = f"{HOME}-20261124-K0900"


def public_key_b64() -> str:
    raw = PrivateKey.generate().public_key().public_bytes()
    return protocol.encode_public_key(raw)


# The gate's outbox events (docs/protocol.md § The gate) with the contract's fields; a test names only
# what it cares about. As the terminal's gate writes them, until a test drives a real gate.
GATE_DEFAULTS = {
    "gate.opened": {"gate": "1", "plate": "浙A12345", "driver": "王师傅", "checker": "2001", "late": False},
    "gate.stopped": {"gate": "1", "checker": "2001"},
    "ticket.checked": {"gate": "1", "checker": "2001", "via": "code", "seat_no": None, "printed_version": 0,
                       "unknown": False},
    "ticket.check_undone": {"reason": "检错了", "approver": "9001"},
    "ticket.ride_changed": {"seat_no": None, "reason": "原班故障", "approver": "9001"},
    "departure.merged": {"reason": "客少并班", "approver": "9001"},
    "roadbill.made": {"gate": "1", "checker": "2001", "plate": "浙A12345", "driver": "王师傅", "rows": [],
                      "totals": {"count": 0, "amount": 0}, "fees": {"station_fee": 0, "agency_fee": 0},
                      "checked": 0, "free_children": 0},
    "roadbill.reprinted": {},
    "roadbill.voided": {"reason": "车辆更换", "approver": "9001"},
}


class Terminal:
    """The least a terminal needs to talk to the server: its id, its secret, a signed request."""

    def __init__(self, base: str, terminal_id: str, secret: str, clock: Clock):
        self.base, self.terminal_id, self.secret, self.clock = base, terminal_id, secret, clock
        self.session = requests.Session()
        self.seq = 0
        self.ticket_seq = 0

    def prepare(self, method: str, path: str, body=None, *, raw: bytes | None = None, timestamp=None,
                nonce=None) -> requests.PreparedRequest:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        req = requests.Request(method, self.base + path, data=data or None,
                               headers={"Content-Type": "application/json"} if data else {}).prepare()
        ts = int(self.clock().timestamp()) if timestamp is None else timestamp
        req.headers.update(protocol.sign_headers(
            terminal_id=self.terminal_id, secret=self.secret, method=method, path_qs=req.path_url,
            body=data, timestamp=ts, nonce=nonce))
        return req

    def send(self, req: requests.PreparedRequest) -> requests.Response:
        return self.session.send(req, timeout=10)

    def call(self, method: str, path: str, body=None, **kw) -> requests.Response:
        return self.send(self.prepare(method, path, body, **kw))

    def event(self, type_: str, payload: dict, seq: int | None = None) -> dict:
        if seq is None:
            self.seq += 1
            seq = self.seq
        ev = {"terminal_id": self.terminal_id, "seq": seq, "event_id": uuid.uuid4().hex, "type": type_,
              "created_at": self.clock().isoformat().replace("+00:00", "Z"), "payload": payload}
        ev["hash"] = protocol.event_hash(ev)
        return ev

    def gate(self, type_: str, seq: int | None = None, **payload) -> dict:
        """A gate event of ``type_`` (``GATE_DEFAULTS`` filled in with ``payload``)."""
        return self.event(type_, {**GATE_DEFAULTS[type_], **payload}, seq)

    def next_ticket_id(self) -> str:
        """The next id of this terminal's own id space, as its counter would number it."""
        self.ticket_seq += 1
        return make_ticket_id(*parse_terminal_id(self.terminal_id), self.ticket_seq)

    def sale(self, departure_id: str, seat_no: int | None, *, ticket_id: str | None = None, price: int = 3250,
             stop: str = DEST, seq: int | None = None, doc_number: str | None = None) -> dict:
        ticket_id = ticket_id or self.next_ticket_id()
        ticket = {"ticket_id": ticket_id, "departure_id": departure_id, "seat_no": seat_no, "ticket_type": "full",
                  "fare": price, "price": price, "insurance": 0, "stop": stop,
                  # A passenger of their own per ticket: the server keeps one seat per document.
                  "passenger": {"name": "张三", "doc_type": "resident_id",
                                "doc_number": doc_number or id_number(ticket_id)},
                  "carried_by": None, "stock_no": None}
        payload = {"order_id": "O-" + ticket_id, "clerk": "c01", "shift_id": "S1",
                   "sold_at": self.clock().isoformat().replace("+00:00", "Z"),
                   "payment": {"method": "cash", "amount": price, "tendered": price, "change": 0, "reference": None},
                   "tickets": [ticket]}
        return self.event("ticket.sold", payload, seq)

    def upload(self, events: list[dict]) -> requests.Response:
        return self.call("POST", "/v1/events", {"events": events})


def id_number(seed: str) -> str:
    """A valid 18-digit number of its own for each ``seed`` (a ticket id): a birth date in 1950-2009."""
    from datetime import date, timedelta

    from app.domain.identity import check_char

    n = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    born = date(1950, 1, 1) + timedelta(days=n % 21900)
    first17 = f"330106{born:%Y%m%d}{(n >> 20) % 1000:03d}"
    return first17 + check_char(first17)


class Harness:
    def __init__(self, srv: ServerThread, clock: Clock):
        self.srv, self.clock, self.url = srv, clock, srv.url
        self.admin = {"Authorization": f"Bearer {ADMIN}", protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION}

    def post_admin(self, path: str, body=None) -> requests.Response:
        return requests.post(self.url + path, json=body, headers=self.admin, timeout=10)

    def get_admin(self, path: str, **params) -> requests.Response:
        return requests.get(self.url + path, params=params, headers=self.admin, timeout=10)

    def issue_code(self, station: str = HOME) -> str:
        r = self.post_admin("/v1/admin/enrolment-codes", {"station": station})
        assert r.status_code == 201, r.text
        return r.json()["code"]

    def enrol_raw(self, code: str, public_key: str | None = None) -> requests.Response:
        return requests.post(self.url + "/v1/enrol", json={"code": code, "public_key": public_key or public_key_b64()},
                             headers={protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION}, timeout=10)

    def terminal(self, station: str = HOME) -> Terminal:
        r = self.enrol_raw(self.issue_code(station))
        assert r.status_code == 201, r.text
        body = r.json()
        t = Terminal(self.url, body["terminal_id"], body["secret"], self.clock)
        t.doc_hash_key = base64.b64decode(body["doc_hash_key"])  # what a terminal's keys include
        return t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def settings():
    return Settings(lease_ttl=timedelta(minutes=10), lease_block=3, lease_max=6,
                    lease_cutoff=timedelta(minutes=30), seat_hold=timedelta(minutes=2), max_body_bytes=256 * 1024)


@pytest.fixture
def server(server_db_url, clock, settings):
    """A server on each engine in turn (``server_db_url``: SQLite, then a throwaway PostgreSQL)."""
    srv = ServerThread(server_db_url, admin_token=ADMIN, province=province_doc(), clock=clock,
                       settings=settings, sweep_interval=None)
    srv.start()
    yield Harness(srv, clock)
    srv.stop()
