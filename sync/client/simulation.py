"""A station's worth of terminals selling at once against a provincial server, with scripted link cuts.

``kezhan simulate`` drives this; so can a test. Terminals are real: each has its own database (migrated,
enrolled through the server's admin token), sells through ``app.services`` on a thread of its own and
syncs through its own :class:`SyncClient` — reaching the server through a :class:`LinkRelay` that the
script cuts to play a lost link.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import shutil
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

from app.domain.stock import parse_terminal_id
from app.errors import KezhanError, RuleViolation, SyncError
from app.store.engine import raw_cursor
from sync import protocol
from sync.client.transport import new_idempotency_key

log = logging.getLogger("kezhan.simulate")

CLERK, CLERK_PASSWORD = "8001", "simulated-clerk"
SALE_ATTEMPTS = 5  # departures tried for one sale before it counts as not made


class CuttableListener(ABC):
    """A listener on loopback in front of the server whose ``cut()`` drops every connection it serves
    and refuses new ones until ``restore()`` — the terminal's view of a cable pulled out. A subclass
    says what serving an accepted connection is (``_serve_connection``)."""

    def __init__(self, upstream_host: str, upstream_port: int, *, thread_name: str):
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.is_cut = False
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name=f"{thread_name}-{self.port}").start()

    def cut(self) -> None:
        self.is_cut = True
        with self._lock:
            socks = list(self._socks)
            self._socks.clear()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def restore(self) -> None:
        self.is_cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.is_cut:
                with contextlib.suppress(OSError):
                    client.close()
                continue
            self._serve_connection(client)

    @abstractmethod
    def _serve_connection(self, client: socket.socket) -> None:
        """Serve one accepted connection until either side closes it."""


class LinkRelay(CuttableListener):
    """A TCP relay: every byte passes both ways untouched while the link is up."""

    def __init__(self, upstream_host: str, upstream_port: int):
        super().__init__(upstream_host, upstream_port, thread_name="relay")

    def _serve_connection(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            client.close()
            return
        with self._lock:
            self._socks.update((client, upstream))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or self.is_cut:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with self._lock:
                    self._socks.discard(s)


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _latency_figures(calls: list[tuple[float, float | None]]) -> dict:
    """Count, median, p99 and max of call durations as the terminals saw them, and the median and p99
    of the server's own time for the same calls (its Server-Timing), in milliseconds; ``calls`` holds
    (seconds, the server's seconds or None) pairs."""
    ordered, inside = sorted(took for took, _ in calls), sorted(server for _, server in calls if server is not None)
    return {"calls": len(ordered), "p50_ms": _percentile(ordered, 0.5), "p99_ms": _percentile(ordered, 0.99),
            "max_ms": round(1000 * ordered[-1], 1) if ordered else None,
            "server_p50_ms": _percentile(inside, 0.5), "server_p99_ms": _percentile(inside, 0.99)}


@dataclass
class SimTerminal:
    index: int
    path: Path
    db: object
    terminal: object
    client: object
    relay: LinkRelay
    sold: list[str] = field(default_factory=list)
    sold_offline: int = 0
    refused: Counter = field(default_factory=Counter)


@contextlib.contextmanager
def _cursor(t: SimTerminal):
    """A read of a simulated terminal's store, on the sqlite3 cursor the store functions take."""
    with t.db.read() as session:
        cur = raw_cursor(session)
        try:
            yield cur
        finally:
            cur.close()


def _resident_id(rng: random.Random) -> str:
    from app.domain.identity import check_char

    birth = (datetime(1950, 1, 1) + timedelta(days=rng.randrange(0, 60 * 365))).strftime("%Y%m%d")
    first17 = "110101" + birth + f"{rng.randrange(0, 1000):03d}"
    return first17 + check_char(first17)


class Simulation:
    def __init__(self, server_url: str, admin_token: str, folder: Path, *, terminals: int = 3, sales: int = 30,
                 web_sales: int = 20, offline_windows: int = 2, seed: int = 1, station: str,
                 timeout: float = 120.0, pace: float = 0.01, stations: int = 1, stale_map: float | None = None,
                 confirm_seats: bool = True):
        self.server_url = server_url.rstrip("/")
        self.admin_token = admin_token
        self.folder = Path(folder)
        self.n_terminals, self.sales, self.web_sales = terminals, sales, web_sales
        self.offline_windows, self.seed, self.station = offline_windows, seed, station
        self.timeout, self.pace = timeout, pace
        self.n_stations = max(1, stations)
        self.stations: list[str] = [station]
        # Each successful upload and pull call, by (kind, phase of the run): the seconds it took as the
        # terminals saw it and as the server stamped it. The phases: "set-up", "selling", then
        # "draining" (the links are back and the backlogs go up), then "after".
        self.latency: dict[tuple[str, str], list[tuple[float, float | None]]] = {}
        self._latency_lock = threading.Lock()
        self.phase = "set-up"
        # stale_map: seconds between the terminals' pulls, and no sync after each sale -- the seat map
        # of a counter whose sync loop runs in a process of its own. confirm_seats=False sells pool
        # seats on the map's word alone, as terminals did before online seats were confirmed.
        self.stale_map, self.confirm_seats = stale_map, confirm_seats
        self.http = requests.Session()
        # Attempts of each set-up, admin, web and report call over a failing link.
        self.attempts = 12
        self.terminals: list[SimTerminal] = []
        self.web_sold: list[str] = []
        self.web_refused: Counter = Counter()
        self.errors: list[str] = []

    # ------------------------------------------------------------------ server calls (admin, web)

    def _admin(self, method: str, path: str, **kw) -> dict:
        """An admin or web call, retried with backoff while the link fails; a call that changes
        something carries one idempotency key over its attempts, so a lost answer is not a second
        enrolment code or a second web order."""
        headers = {"Authorization": f"Bearer {self.admin_token}", "Kezhan-Protocol": "1"}
        if method != "GET":
            headers[protocol.H_IDEMPOTENCY_KEY] = new_idempotency_key()
        wait, failure = 0.05, ""
        for _attempt in range(self.attempts):
            try:
                r = self.http.request(method, self.server_url + path, timeout=30, headers=headers, **kw)
                body = r.json()
            except (requests.RequestException, ValueError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if not isinstance(body, dict):
                    failure = f"HTTP {r.status_code}: not a JSON object"
                elif r.status_code >= 500 or body.get("error") == "IDEMPOTENCY_IN_PROGRESS":
                    failure = f"HTTP {r.status_code} {body.get('error')}"
                elif r.status_code >= 400:
                    raise SyncError(f"省平台拒绝：{body.get('error')}", en=f"server refused {path}: "
                                    f"{body.get('error')} {body.get('message', '')}", code=str(body.get("error")),
                                    status=r.status_code, body=body)
                else:
                    return body
            time.sleep(wait)
            wait = min(wait * 2, 1.0)
        raise SyncError(f"无法连接省平台：{failure}", en=f"cannot reach the server: {failure}", code="LINK_DOWN")

    def _run_once_ok(self, t: SimTerminal, what: str) -> None:
        """One whole sync cycle (upload, leases, pull), cycles repeated while the link fails."""
        report = None
        for _attempt in range(self.attempts):
            report = t.client.run_once()
            if report.ok:
                return
            time.sleep(0.05)
        raise SyncError(f"模拟终端同步失败：{report.error}", en=f"{what} failed: {report.error}", code="SIM_SETUP")

    # ------------------------------------------------------------------ set-up

    def setup(self) -> None:
        from app.store.engine import open_database
        from app.store.users import ensure_user
        from sync.client import SyncClient, enrol, make_terminal

        parts = urlsplit(self.server_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
        # One empty database migrated, copied for each terminal: a terminal's own first start would
        # migrate its file the same way, and fifty migrations were CPU the server never saw.
        template = self.folder / "template.sqlite3"
        open_database(template).dispose()
        for i in range(self.n_terminals):
            if i == 1 and self.n_stations > 1:
                self._pick_stations(self.terminals[0])
            station = self.stations[i % len(self.stations)]
            code = self._admin("POST", "/v1/admin/enrolment-codes", json={"station": station,
                                                                          "label": f"simulated {i + 1}"})["code"]
            path = self.folder / f"terminal{i + 1}" / "kezhan.sqlite3"
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, path)
            db = open_database(path)
            with db.transaction() as session:
                ensure_user(session, CLERK, "模拟售票员", "clerk", CLERK_PASSWORD)
            enrol(db, self.server_url, code, label=f"simulated {i + 1}", attempts=self.attempts)
            terminal = make_terminal(db)
            relay = LinkRelay(host, port)
            # The counter's own cycle (SyncClient's default interval and backoff): after each sale, which
            # pokes it, now and then when idle, and offline backing off to a try every 30 s (a sale or the
            # link's return pokes it at once); with --stale-map, only every that many seconds.
            cycle = {"interval": self.stale_map} if self.stale_map else {}
            client = SyncClient(db, server_url=relay.url, terminal=terminal, timeout=(1.0, 10.0), **cycle)
            self._time_calls(client.transport)
            if self.confirm_seats:
                # Online, a pool seat is confirmed by the server before the sale takes it, as at a counter.
                terminal.seat_confirmer = client.confirm_seat
            self.terminals.append(SimTerminal(i + 1, path, db, terminal, client, relay))
            if i == 0:
                self._run_once_ok(self.terminals[0], "first sync")
        for t in self.terminals[1:]:
            self._run_once_ok(t, "first sync")
        for t in self.terminals:
            from app.services import open_shift

            # A roll of its own, numbered by the terminal's id (station and number), which the server
            # never gives twice: a second run against the same server opens no roll the first used.
            first, last = self._roll_of(t)
            open_shift(t.db, t.terminal, clerk=CLERK, first_stock_no=first, last_stock_no=last, now=self.now(t))

    @staticmethod
    def _roll_of(t: SimTerminal) -> tuple[str, str]:
        station, number = parse_terminal_id(t.client.terminal_id)
        with _cursor(t) as cur:
            codes = [r[0] for r in cur.execute("SELECT code FROM stations ORDER BY code")]
        block = f"{codes.index(station) if station in codes else 99:02d}{number:03d}"
        return f"{block}000001", f"{block}999999"

    def _pick_stations(self, first: SimTerminal) -> None:
        """The first terminal's station and the next ones of the province (by code) that its feed
        brought, for terminals spread over several stations; they sell on the same departures (a
        network sale of another station's bus), the contention a province's peak brings."""
        with _cursor(first) as cur:
            codes = [r[0] for r in cur.execute("SELECT code FROM stations ORDER BY code")]
        others = [c for c in codes if c != self.station]
        self.stations = [self.station] + others[:self.n_stations - 1]

    def _time_calls(self, transport) -> None:
        call = transport.call

        def timed(method: str, path: str, **kw):
            started = time.perf_counter()
            answer = call(method, path, **kw)
            kind = "upload" if path.endswith("/events") else "pull" if path.endswith("/changes") else None
            if kind is not None:
                took = time.perf_counter() - started
                server = transport.server_ms / 1000 if transport.server_ms is not None else None
                with self._latency_lock:
                    self.latency.setdefault((kind, self.phase), []).append((took, server))
            return answer

        transport.call = timed

    def now(self, t: SimTerminal) -> datetime:
        return t.client.now()

    def targets(self, t: SimTerminal) -> list[tuple[str, str]]:
        """(departure, stop) pairs open for leases now, nearest first: where the contention is."""
        from app.store.departures import departures_with_seats

        cutoff = (self.now(t) + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with _cursor(t) as cur:
            rows = departures_with_seats(cur, after=cutoff, min_seats=10, limit=200)
        wanted = max(2, (self.n_terminals * self.sales + self.web_sales) // 20 + 1)
        return [(r.departure_id, r.last_stop) for r in rows if r.last_stop][:wanted]

    # ------------------------------------------------------------------ selling

    def _sell_loop(self, t: SimTerminal, targets, start: threading.Event) -> None:
        from app.services import PassengerIn, PaymentIn, sell

        rng = random.Random(self.seed * 1000 + t.index)
        # Online and offline stretches alternate, the last one offline: when selling ends every
        # terminal holds a backlog, and convergence is measured from the moment all links return.
        segments = 2 * self.offline_windows
        per = max(1, self.sales // segments) if segments else self.sales + 1
        start.wait()
        # Windows open and sell at their own moments, as at a station: every one's first sale at the
        # same instant would be a burst of fifty uploads and pulls no morning brings, and the run's
        # slowest calls would be that burst's, not the day's.
        time.sleep(rng.uniform(0, 2 * self.pace))
        t.client.start()
        for n in range(self.sales):
            segment = min(n // per, segments - 1) if segments else 0
            offline = segment % 2 == 1
            if offline and not t.relay.is_cut:
                t.relay.cut()
                t.client.poke()
            elif not offline and t.relay.is_cut:
                t.relay.restore()
                t.client.poke()
            made = False
            # A few departures, not every one: a window whose leases and the pool are empty gives up
            # on the sale as a clerk would, instead of costing a sell() per target departure.
            for _attempt in range(min(len(targets), SALE_ATTEMPTS)):
                departure_id, stop = rng.choice(targets)
                if not t.terminal.online and not self._leased_here(t, departure_id):
                    # Offline the departure list shows the seats leased here, as at a counter: with
                    # none, the clerk tells the passenger so and never starts the sale.
                    t.refused["NO_LEASED_SEATS"] += 1
                    continue
                try:
                    result = sell(t.db, t.terminal, clerk=CLERK, departure_id=departure_id, stop=stop,
                                  passengers=[PassengerIn("full", f"旅客{t.index}-{n}", doc_number=_resident_id(rng))],
                                  payment=PaymentIn("cash"), now=datetime.now(UTC) + timedelta(seconds=t.client.transport.offset))
                except RuleViolation as exc:
                    t.refused[exc.code] += 1
                    continue
                except KezhanError as exc:
                    t.refused[exc.code] += 1
                    continue
                t.sold.extend(result.ticket_ids)
                t.sold_offline += 1 if t.relay.is_cut else 0
                if self.stale_map is None:
                    t.client.poke()
                made = True
                break
            if not made:
                t.refused["NO_SALE"] += 1
            time.sleep(rng.uniform(0, 2 * self.pace))

    @staticmethod
    def _leased_here(t: SimTerminal, departure_id: str) -> bool:
        from app.store.seats import leased_seats_left

        with t.db.read() as session:
            return leased_seats_left(session, [departure_id], t.client.now())[departure_id] > 0

    def _web_loop(self, targets, start: threading.Event) -> None:
        rng = random.Random(self.seed * 1000 + 999)
        # The web's orders spread over the windows' selling time, whatever the pace.
        pace = self.pace * self.sales / self.web_sales if self.web_sales else self.pace
        start.wait()
        for _ in range(self.web_sales):
            departure_id, stop = rng.choice(targets)
            try:
                order = self._admin("POST", "/v1/web/orders",
                                    json={"departure_id": departure_id, "stop": stop,
                                          "passengers": [{"name": "网购旅客"}]})
                self.web_sold.extend(tk["ticket_id"] for tk in order["tickets"])
            except KezhanError as exc:
                self.web_refused[exc.code] += 1
            time.sleep(rng.uniform(0, 2 * pace))

    # ------------------------------------------------------------------ run and report

    def run(self) -> dict:
        started = time.monotonic()
        cpu_started = time.process_time()
        self.setup()
        targets = self.targets(self.terminals[0])
        if not targets:
            raise SyncError("省平台没有可售班次", en="the server has no departure open for sale", code="SIM_NO_DEPARTURES")
        start = threading.Event()
        threads = [threading.Thread(target=self._sell_loop, args=(t, targets, start), daemon=True)
                   for t in self.terminals]
        threads.append(threading.Thread(target=self._web_loop, args=(targets, start), daemon=True))
        for th in threads:
            th.start()
        self.phase = "selling"  # the figures are those under load, not the set-up's first pulls
        selling_started = time.monotonic()
        wall_load_started = time.time()
        cpu_load_started = time.process_time()
        start.set()
        for th in threads:
            th.join()
        sales_done = time.monotonic()
        self.phase = "draining"
        backlog = sum(t.client.pending_events() for t in self.terminals)
        for t in self.terminals:
            t.relay.restore()
            t.client.start()  # already running, unless its window's loop ended before it opened
            t.client.poke()
        converged = self._wait_converged(sales_done + self.timeout)
        converge_seconds = time.monotonic() - sales_done
        load_seconds = time.monotonic() - selling_started
        load_cpu = time.process_time() - cpu_load_started
        wall_load_ended = time.time()
        self.phase = "after"
        for t in self.terminals:
            t.client.stop()
            self._run_once_ok(t, "the last sync")  # one last pull: every terminal sees the final conflicts
        report = self.report(targets)
        release_started = time.monotonic()
        for t in self.terminals:
            # These terminals are done: their leases would only stand in the way of the next run.
            with contextlib.suppress(Exception):
                t.client.release_leases()
        events = sum(p["events"] or 0 for p in report["per_terminal"])
        report.update({
            "stations": list(dict.fromkeys(self.stations[i % len(self.stations)] for i in range(len(self.terminals)))),
            "events": events,
            "events_per_second": round(events / load_seconds, 1) if load_seconds > 0 else None,
            "backlog_events_per_second": (round(backlog / converge_seconds, 1)
                                          if backlog and converge_seconds > 0 else None),
            "upload": self._figures("upload"),
            "pull": self._figures("pull"),
            "simulator_cpu_seconds": round(time.process_time() - cpu_started, 3),
            "simulator_cpu_seconds_under_load": round(load_cpu, 3),
            "seconds_under_load": round(load_seconds, 3),
            # Wall-clock bounds of the load (selling to converged), so the server's own CPU can be
            # read for the same stretch (tests/integration/scale_run.py).
            "load_started_at": round(wall_load_started, 3),
            "load_ended_at": round(wall_load_ended, 3),
            "pace_seconds": self.pace,
            "seconds_releasing_leases": round(time.monotonic() - release_started, 3),
        })
        report.update({
            "converged": converged,
            "seconds_to_converge": round(converge_seconds, 3),
            "backlog_when_links_returned": backlog,
            "seconds_selling": round(sales_done - selling_started, 3),
            "seconds_total": round(time.monotonic() - started, 3),
        })
        report["ok"] = bool(converged and not report["missing"] and not report["duplicated"]
                            and not report["double_sold_seats"] and not report["conflicts_without_task"]
                            and not report["event_mismatches"])
        return report

    def _figures(self, kind: str) -> dict:
        """A call kind's figures under load, and apart for its two stretches: while the windows sell,
        and while the backlogs of the offline stretch drain, every terminal at once, when the links
        come back (a burst once after an outage, told apart from the selling day's calls)."""
        with self._latency_lock:
            selling = list(self.latency.get((kind, "selling"), ()))
            draining = list(self.latency.get((kind, "draining"), ()))
        return {**_latency_figures(selling + draining), "selling": _latency_figures(selling),
                "draining": _latency_figures(draining)}

    def _wait_converged(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if all(t.client.pending_events() == 0 for t in self.terminals):
                return True
            for t in self.terminals:
                t.client.poke()
            time.sleep(0.05)
        return False

    def report(self, targets) -> dict:
        from app.store.outbox import last_seq as last_outbox_seq
        from app.store.outbox import payloads_of_type
        from app.store.tasks import task_kinds
        from app.store.tickets import live_counter_tickets

        server_tickets = self._admin("GET", "/v1/admin/tickets")["tickets"]
        ids = Counter(tk["ticket_id"] for tk in server_tickets)
        live = Counter((tk["departure_id"], tk["seat_no"]) for tk in server_tickets
                       if tk["status"] == "active" and tk["seat_no"] is not None)
        server_terminals = {row["terminal_id"]: row for row in self._admin("GET", "/v1/admin/terminals")["terminals"]}
        per_terminal, missing, conflicts_total, without_task, mismatches = [], [], 0, [], []
        conflict_kinds: Counter = Counter()
        local_live: dict[tuple, set] = {}
        for t in self.terminals:
            tid = t.client.terminal_id
            with _cursor(t) as cur:
                sold_here = set()
                for payload in payloads_of_type(cur, "ticket.sold"):
                    sold_here.update(tk["ticket_id"] for tk in json.loads(payload)["tickets"])
                last_seq = last_outbox_seq(cur, tid)
                tasks = task_kinds(cur)
                for held in live_counter_tickets(cur):
                    local_live.setdefault((held.departure_id, held.seat_no), set()).add(held.ticket_id)
            lost = sorted(sold_here - set(ids))
            missing.extend(lost)
            conflicts = self._admin("GET", "/v1/admin/conflicts", params={"terminal": tid})["conflicts"]
            conflicts_total += len(conflicts)
            conflict_kinds.update(c["kind"] for c in conflicts)
            without_task.extend(f"{tid}:{c['seq']}/{c['ticket_id']}" for c in conflicts
                                if f"{c['seq']}/{c['ticket_id']}" not in tasks)
            high_water = server_terminals.get(tid, {}).get("high_water")
            if high_water != last_seq:
                mismatches.append({"terminal_id": tid, "local_last_seq": last_seq, "server_high_water": high_water})
            per_terminal.append({
                "terminal_id": tid, "sold": len(sold_here), "sold_offline": t.sold_offline,
                "refused": dict(t.refused), "events": last_seq, "server_high_water": high_water,
                "conflicts": len(conflicts), "tasks": len(tasks), "missing": len(lost),
                "status": t.client.current_status().to_json(),
            })
        # Two terminals both holding a live local ticket on one seat, with neither one a known conflict:
        # that would be a double sale no one was told about.
        conflicted = {tk["ticket_id"] for tk in server_tickets if tk["status"] == "conflict"}
        silent = [f"{d}#{s}" for (d, s), tickets in local_live.items() if len(tickets - conflicted) > 1]
        return {
            "terminals": len(self.terminals),
            "departures": len(targets),
            "terminal_sales": sum(p["sold"] for p in per_terminal),
            "offline_sales": sum(p["sold_offline"] for p in per_terminal),
            "web_sales": len(self.web_sold),
            "web_refused": dict(self.web_refused),
            "server_tickets": len(server_tickets),
            "server_tickets_by_channel": dict(Counter(tk["channel"] for tk in server_tickets)),
            "server_tickets_by_status": dict(Counter(tk["status"] for tk in server_tickets)),
            "missing": missing,
            "duplicated": sorted(t for t, n in ids.items() if n > 1),
            "double_sold_seats": sorted(f"{d}#{s}" for (d, s), n in live.items() if n > 1) + silent,
            "conflicts": conflicts_total,
            "conflicts_by_kind": dict(conflict_kinds),
            # A terminal sale the server found on a seat someone else held: a seat sold twice.
            "double_booked": sum(n for kind, n in conflict_kinds.items() if kind in ("SEAT_TAKEN", "SEAT_LEASED")),
            "conflicts_without_task": without_task,
            "event_mismatches": mismatches,
            "per_terminal": per_terminal,
        }

    def close(self) -> None:
        for t in self.terminals:
            with contextlib.suppress(Exception):
                t.client.close()
            t.relay.close()
            t.db.dispose()
        self.http.close()
