"""The sync client: one uploader, one puller and a lease keeper, run as cycles on one worker thread.

``SyncClient.run_once()`` is one full cycle (upload everything pending, pull the feed to its head,
top leases up). ``SyncClient.run(stop)`` repeats it: at start-up, whenever ``poke()`` is called (after
each local event), on a timer while all is well, and with full-jitter exponential backoff while the
link is down — which is also how it notices the link coming back. Each cycle ends by emitting a
:class:`SyncStatus` through ``on_status``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain.leases import OfflineBudget
from app.errors import SyncError
from app.services import recovery
from app.services.context import RESTORED_ALARM, RESTORED_TEXT
from app.store import archive, outbox, seats, sync_state, tasks
from app.store.engine import Database
from app.store.models import iso_utc, parse_utc
from app.store.seats import leased_seats_left
from sync import protocol
from sync.protocol import ProtocolError

from . import identity, instance
from .apply import FeedApplier, record_task
from .transport import BadAnswer, LinkDown, Transport

log = logging.getLogger("kezhan.sync")

CURSOR_FEED = "feed"
CURSOR_ACKED = "upload_acked"
CURSOR_ALARM = "alarm"
CURSOR_LAST_SYNC = "last_sync"

EVENTS_PATH = protocol.API_PREFIX + "/events"
RELEASE_CHUNK = 500  # departures per release call (the server takes up to 1000)
COVERAGE_FRESH_SECONDS = 5.0  # how old the status line's lease coverage may be
# How often a cycle looks over the leases (this PC's clock): the look is a scan of two days of seats,
# the biggest read of an idle terminal, and nothing but the clock changes what it finds unless
# something happened. After a sale, refund or void here, or a departure row: at most every
# LEASE_LOOK_BUSY_SECONDS (a window selling fast needs no look per ticket, and online a short lease
# costs nothing: the pool seat is asked of the server). At once on the first cycle, after a reset
# and when the link comes back (it may go again: refill while it can).
LEASE_LOOK_IDLE_SECONDS = 20.0
LEASE_LOOK_BUSY_SECONDS = 5.0
# Feed kinds after which the leases are looked over soon: departures (new, delayed, cancelled, extra
# buses). Not this terminal's own lease rows: they echo its own top-ups, sales and seat requests,
# already applied, or the sweep's expiries, which the idle look finds.
_LEASE_KINDS = ("departure",)

# Codes after which uploading stops until a technician looks: continuing could only make it worse.
ALARM_CODES = {"SEQ_REUSE", "ROLLED_BACK", "EVENT_HASH_MISMATCH", "TERMINAL_MISMATCH", "UNKNOWN_TERMINAL",
               "TERMINAL_REVOKED", "INSTANCE_CONFLICT"}

ALARM_TEXT = {
    "SEQ_REUSE": ("终端数据库与省平台记录不一致：同一序号的事件内容不同（数据库可能从旧备份恢复）。已停止上传，请联系技术员。",
                  "The server holds different events under the same numbers (database restored from an older "
                  "backup?). Uploading has stopped; call a technician."),
    "ROLLED_BACK": ("省平台已收到本机没有的事件：本机数据库丢失了已确认的售票（文件损坏或从旧备份恢复）。"
                    "已停止售票和上传，编号已跳过省平台的记录；请联系技术员，解除后售票员须核对票卷的下一张票号。",
                    "The server has events this terminal no longer has: acknowledged sales were lost from this "
                    "database (damaged, or restored from an older backup). Selling and uploading have stopped and "
                    "the counters now skip past the server's numbers; call a technician, and once cleared the "
                    "clerk confirms the roll's next stock number."),
    "EVENT_HASH_MISMATCH": ("本机待上传事件已损坏。已停止上传，请联系技术员。",
                            "A local event is damaged (hash mismatch). Uploading has stopped; call a technician."),
    "TERMINAL_MISMATCH": ("待上传事件属于另一台终端（数据库文件放错？）。已停止上传。",
                          "Events belong to another terminal (wrong database file?). Uploading has stopped."),
    "UNKNOWN_TERMINAL": ("省平台不认识本终端，请重新注册。", "The server does not know this terminal; enrol it again."),
    "TERMINAL_REVOKED": ("本终端已被省平台注销。", "This terminal has been revoked by the server."),
    "INSTANCE_CONFLICT": ("省平台发现本终端的身份正被另一台电脑上的数据使用：本机的数据是复制来的副本，或原电脑仍在使用。"
                          "已停止售票和上传，请联系技术员（确属换机时，由省平台管理员解除原电脑的绑定后再解除本告警）。",
                          "The provincial server finds this terminal's identity in use by the data on another PC: "
                          "this is a copy, or the original PC is still in use. Selling and uploading have stopped; "
                          "call a technician (for a PC really replaced, the province's admin releases the old "
                          "PC's binding, then the alarm is cleared)."),
    RESTORED_ALARM: RESTORED_TEXT,
    instance.NEW_ALARM: instance.NEW_TEXT,
    instance.LOST_ALARM: instance.LOST_TEXT,
}


@dataclass(frozen=True)
class LeaseCoverage:
    departures: int = 0  # departures in the presale window still open for leases
    covered: int = 0  # of which this terminal holds at least one sellable leased seat
    seats: int = 0  # sellable leased seats in the window


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar shows. ``state``: online | offline | alarm | unknown (no cycle run yet)."""

    state: str
    online: bool
    offline_since: datetime | None
    pending_events: int
    last_sync: datetime | None
    lease_coverage: LeaseCoverage
    alarm: str | None = None
    alarm_message: str | None = None
    problem: str | None = None  # the last thing that went wrong, in words
    problem_kind: str | None = None  # link | html | garbage | too_large | version | shape | refused
    clock_offset: float = 0.0
    open_tasks: int = 0
    offline_budget_left: float | None = None  # seconds; None while online
    terminal_id: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("offline_since", "last_sync"):
            if data[key] is not None:
                data[key] = iso_utc(data[key])
        data["clock_offset"] = round(self.clock_offset, 3)
        return data


@dataclass
class CycleReport:
    ok: bool = False
    uploaded: int = 0
    duplicates: int = 0
    pulled: int = 0
    deferred: int = 0
    reset: bool = False
    leases_requested: int = 0
    seats_granted: int = 0
    new_tasks: int = 0
    error: str | None = None
    error_kind: str | None = None
    seconds: float = 0.0
    details: dict = field(default_factory=dict)


class Backoff:
    """Full jitter (a uniform draw up to the exponential ceiling): many terminals coming back after one
    outage do not all knock at the same instant."""

    def __init__(self, base: float = 0.5, cap: float = 60.0, rng: random.Random | None = None):
        self.base, self.cap = base, cap
        self.failures = 0
        self.rng = rng or random.Random()

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self.rng.uniform(0, ceiling)


def _batch_body(rows: list[outbox.OutboxRow]) -> bytes:
    """The upload body, built around the payload text exactly as stored: the outbox already holds
    canonical JSON, so decoding and re-encoding thousands of payloads would only cost time."""
    dumps = json.encoder.encode_basestring_ascii  # json.dumps of a str, without the encoder set-up per call
    parts = [
        f'{{"created_at":{dumps(r.created_at)},"event_id":{dumps(r.event_id)},"hash":{dumps(r.hash)},'
        f'"payload":{r.payload},"seq":{int(r.seq)},"terminal_id":{dumps(r.terminal_id)},"type":{dumps(r.type)}}}'
        for r in rows
    ]
    return ('{"events":[' + ",".join(parts) + "]}").encode("utf-8")


def _broken_row(rows: list[outbox.OutboxRow]) -> int | None:
    """The seq of the first stored payload that is not a JSON object (a damaged outbox), if any."""
    for r in rows:
        try:
            if not isinstance(json.loads(r.payload), dict):
                return r.seq
        except ValueError:
            return r.seq
    return None


class _Stop(Exception):
    """Uploading must stop (alarm)."""


class SyncClient:
    def __init__(
        self,
        db: Database,
        *,
        server_url: str | None = None,
        on_status: Callable[[SyncStatus], None] | None = None,
        terminal=None,
        batch_size: int = 500,
        page_limit: int = 5000,
        interval: float = 30.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        min_gap: float = 0.2,
        timeout: tuple[float, float] = (3.0, 15.0),
        seat_request_timeout: tuple[float, float] = (2.0, 3.0),
        lease_horizon: timedelta = timedelta(hours=48),
        lease_threshold: int = 2,
        lease_target: int = 5,
        lease_renew_before: timedelta = timedelta(minutes=10),
        lease_cutoff: timedelta = timedelta(minutes=30),
        offline_budget: OfflineBudget | None = None,
        zone: ZoneInfo | None = None,
        clock: Callable[[], float] = time.time,
        machine: str | None = None,
    ):
        self.db = db
        self.ident = identity.require_identity(db)
        self.terminal_id = self.ident.terminal_id
        self.server_url = (server_url or self.ident.server_url).rstrip("/")
        self.on_status = on_status
        self.terminal = terminal
        self.batch_size = batch_size
        self.page_limit = page_limit
        self.interval = interval
        self._coverage: tuple[LeaseCoverage, float] | None = None  # see lease_coverage
        self.min_gap = min_gap
        self.lease_horizon = lease_horizon
        self.lease_threshold = lease_threshold
        self.lease_target = lease_target
        self.lease_renew_before = lease_renew_before
        self.lease_cutoff = lease_cutoff
        self.offline_budget = offline_budget
        self.zone = zone or ZoneInfo("Asia/Shanghai")
        self.clock = clock
        creds = identity.credentials(self.ident)
        self.transport = Transport(self.server_url, creds, timeout=timeout, clock=clock)
        # The seat map asks from the GUI thread while the worker syncs: its own connection pool.
        self._seat_transport = Transport(self.server_url, creds, timeout=seat_request_timeout, clock=clock)
        # Which copy of this terminal's data speaks (``machine``: this PC's fingerprint, for tests).
        self.instance_id = instance.local_instance(db.path, machine)
        for transport in (self.transport, self._seat_transport):
            transport.headers[protocol.H_INSTANCE] = self.instance_id
        instance.note_start(db, self.instance_id, self.terminal_id, datetime.now(UTC))
        self._instance_accepted = False
        self.backoff = Backoff(backoff_base, backoff_cap)
        self._wake = threading.Event()
        self._cycle_lock = threading.Lock()
        # The link state is set by the worker's cycles and by a sale's seat request on the GUI
        # thread (_link_lost_at_counter): one at a time, and a cycle that began before the counter
        # saw the link go does not say online at its end (counted in _links_lost).
        self._link_lock = threading.RLock()
        self._links_lost = 0
        self._thread: threading.Thread | None = None
        self._stop_event: threading.Event | None = None
        self.online = False
        self.attempted = False  # no cycle yet: the link state is not known
        self._probed = False
        self.offline_since: datetime | None = None
        self.problem: str | None = None
        self.problem_kind: str | None = None
        self._sold_out: dict[str, float] = {}
        self._leases_looked_at: float | None = None  # self.clock() at the last look (_leases_due)
        self._leases_used = False  # a sale, refund, void or departure row since: look soon
        self._last_attempt = 0.0
        self.last_report: CycleReport | None = None
        self.status: SyncStatus | None = None

    # ------------------------------------------------------------------ small store helpers

    def now(self) -> datetime:
        """The server's time as this terminal estimates it: lease windows are the server's."""
        return datetime.fromtimestamp(self.transport.server_now(), UTC)

    @staticmethod
    def _get(cur, name: str) -> str | None:
        return sync_state.cursor_value(cur, name)

    def _put(self, cur, name: str, value: str | None) -> None:
        if value is None:
            sync_state.delete_cursor(cur, name)
        else:
            sync_state.put_cursor_value(cur, name, value, iso_utc(self.now()))

    def _read(self, fn):
        with self.db.read_cursor() as cur:
            return fn(cur)

    def _write(self, fn):
        with self.db.write_cursor() as cur:
            return fn(cur)

    def acked_seq(self) -> int:
        return int(self._read(lambda cur: self._get(cur, CURSOR_ACKED)) or 0)

    def last_seq(self) -> int:
        return self._read(lambda cur: outbox.last_seq(cur, self.terminal_id))

    def _pending(self, cur) -> int:
        return outbox.pending_count(cur, self.terminal_id, CURSOR_ACKED)

    def pending_events(self) -> int:
        return self._read(self._pending)

    def alarm(self) -> dict | None:
        raw = self._read(lambda cur: self._get(cur, CURSOR_ALARM))
        return json.loads(raw) if raw else None

    def _raise_alarm(self, code: str, **details) -> None:
        zh, en = ALARM_TEXT.get(code, (code, code))
        data = {"code": code, "message": zh, "en": en, "at": iso_utc(self.now()), **details}
        self._write(lambda cur: self._put(cur, CURSOR_ALARM, json.dumps(data, ensure_ascii=False)))
        log.error("sync alarm %s: %s %s", code, en, details)

    def clear_alarm(self) -> None:
        """For a technician who has dealt with the cause (e.g. re-enrolled or restored the right file)."""
        self._write(lambda cur: self._put(cur, CURSOR_ALARM, None))

    # ------------------------------------------------------------------ link state

    def _went_online(self, losses_seen: int) -> None:
        """``losses_seen``: ``_links_lost`` when the cycle began; a loss the counter saw since then
        stands until the next cycle (the seat request woke the worker for it)."""
        with self._link_lock:
            if self._links_lost != losses_seen:
                return
            self.online = True
            self.offline_since = None
            self.problem = self.problem_kind = None
            self.backoff.reset()
            if self.terminal is not None:
                self.terminal.go_online()
                if self.transport.offset_measured:
                    self.terminal.server_offset = timedelta(seconds=self.transport.offset)

    def _went_offline(self, kind: str, message: str) -> None:
        with self._link_lock:
            since = self.offline_since
            if self.online or since is None:
                since = self.offline_since = self.now()
            self.online = False
            self.problem, self.problem_kind = message, kind
            if self.terminal is not None:
                self.terminal.go_offline(since)

    # ------------------------------------------------------------------ one cycle

    def run_once(self) -> CycleReport:
        """Upload, pull, top up leases. Never raises for link or server trouble: the report and the
        status say what happened."""
        report = CycleReport()
        started = time.monotonic()
        with self._cycle_lock:
            self._last_attempt = time.monotonic()
            self.attempted = True
            losses_seen = self._links_lost
            try:
                self._upload(report)
                self._pull(report)
                if self._leases_due(report):
                    self._keep_leases(report)
                report.ok = True
                self._write(lambda cur: self._put(cur, CURSOR_LAST_SYNC, iso_utc(self.now())))
                if not self._instance_accepted:
                    instance.accepted(self.db, self.instance_id)
                    self._instance_accepted = True
                self._went_online(losses_seen)
            except LinkDown as exc:
                report.error, report.error_kind = str(exc), "link"
                self._went_offline("link", f"省平台连接中断：{exc.message}（{exc}）")
            except BadAnswer as exc:
                report.error, report.error_kind = str(exc), exc.kind
                self._went_offline(exc.kind, f"{exc.message}：{exc}")
            except ProtocolError as exc:
                report.error, report.error_kind = f"{exc.code}: {exc}", "refused"
                if exc.code in ("UNKNOWN_TERMINAL", "TERMINAL_REVOKED", "INSTANCE_CONFLICT"):
                    self._raise_alarm(exc.code, server=exc.details)
                    report.error_kind = "alarm"
                spec = protocol.ERRORS.get(exc.code)
                self._went_offline("refused", f"{spec.zh if spec else exc.code}（{exc.code}）")
            except _Stop as exc:
                report.error, report.error_kind = str(exc), "alarm"
                # Nothing reaches the server while the alarm stands: sell as if offline (leases, budget).
                self._went_offline("alarm", ALARM_TEXT.get(str(exc), (str(exc),))[0])
            report.seconds = time.monotonic() - started
            self.last_report = report
        self.emit_status()
        return report

    # ------------------------------------------------------------------ upload

    def _upload(self, report: CycleReport) -> None:
        alarm = self.alarm()
        # A copied or moved file (INSTANCE_NEW) is checked the same way: its first request tells the
        # server which instance this is, and the server refuses it if another one holds the identity.
        restored = alarm is not None and alarm.get("code") in (RESTORED_ALARM, instance.NEW_ALARM,
                                                               instance.LOST_ALARM)
        if alarm and not restored:
            raise _Stop(alarm["code"])
        if restored:
            # `kezhan db restore` put this file back: the probe (or the first batch, with events
            # pending) meets the server's high-water mark and turns a divergence into SEQ_REUSE or
            # ROLLED_BACK. A clean upload means the server agrees, and the counter may sell again.
            self._probed = False
        if not self._probed:
            self._probe(restored=restored)
        self._upload_all(report)
        if restored:
            instance.accepted(self.db, self.instance_id)
            self.clear_alarm()
            log.info("restored database checked with the server: the RESTORED alarm is cleared")

    def _upload_all(self, report: CycleReport) -> None:
        """Batches in seq order, one on the wire at a time, until none is left or one is refused."""
        batch, bad_signatures = self.batch_size, 0
        while True:
            acked = self.acked_seq()
            rows = self._read_batch(acked, batch)
            if not rows:
                return
            try:
                answer = self.transport.call("POST", EVENTS_PATH, raw=_batch_body(rows))
            except ProtocolError as exc:
                batch, bad_signatures = self._after_refusal(exc, rows, acked, batch, bad_signatures)
                continue
            self._save_answer(answer, self._acknowledged(answer, rows), report)
            if len(rows) < batch:
                return

    def _probe(self, *, restored: bool = False) -> None:
        """Once per start: with nothing pending, send the last acknowledged event again. The server
        answers a duplicate with its high-water mark, so a file restored from an older backup is
        caught at start-up, before it sells under numbers the server already holds. A file
        `kezhan db restore` put back with no event ever written asks with an empty batch instead;
        a new terminal does not (its first cycle needs no request the link could lose to learn
        what enrolment already told it)."""
        acked, last = self.acked_seq(), self.last_seq()
        if acked < last or (last == 0 and not restored):
            self._probed = True  # the upload itself will meet the server's high-water mark
            return
        body = _batch_body(self._read_batch(last - 1, 1)) if last else b'{"events":[]}'
        try:
            answer = self.transport.call("POST", EVENTS_PATH, raw=body)
        except ProtocolError as exc:
            if not last and exc.code == "INVALID_REQUEST":
                # A server from before empty batches were a question: nothing to learn from it.
                self._probed = True
                return
            if exc.code in ALARM_CODES:
                self._raise_alarm(exc.code, seq=exc.details.get("seq"), server=exc.details)
                raise _Stop(exc.code) from None
            if exc.code != "SEQ_GAP":
                raise
            # The server has fewer events than we think were acknowledged: the upload resends them.
            expected = exc.details.get("expected_seq")
            if isinstance(expected, int) and expected >= 1:
                self._write(lambda cur: self._put(cur, CURSOR_ACKED, str(expected - 1)))
            self._probed = True
            return
        high = answer.get("acked_through")
        if isinstance(high, int) and high > self.last_seq():
            self._rolled_back(high)
        self._probed = True

    def _rolled_back(self, high: int) -> None:
        """The server has acknowledged events past everything this file holds: acknowledged sales
        were lost here (a bit flipped in the WAL, an older copy put back). Selling stops with the
        ROLLED_BACK alarm, and in the same transaction every counter goes past the server's marks
        and the clerk must confirm the roll's next blank, so that once the alarm is cleared no seq,
        ticket id or stock number the server or the printed roll holds is issued again."""
        marks = self.transport.call("GET", protocol.API_PREFIX + "/marks")
        high = max(high, int(marks.get("high_water") or 0))
        local = self.last_seq()
        now = self.now()
        zh, en = ALARM_TEXT["ROLLED_BACK"]

        def save(cur):
            done = recovery.advance_past_server(
                cur, self.terminal_id, high_water=high, last_ticket_id=marks.get("last_ticket_id"),
                last_stock_no=marks.get("last_stock_no"), local_last=local, at=now)
            self._put(cur, CURSOR_ACKED, str(high))
            data = {"code": "ROLLED_BACK", "message": zh, "en": en, "at": iso_utc(now),
                    "server_high_water": high, "local_last": local, **done}
            self._put(cur, CURSOR_ALARM, json.dumps(data, ensure_ascii=False))
            return done

        done = self._write(save)
        log.error("sync alarm ROLLED_BACK: the server holds seqs %d..%d this file lost; counters advanced %s",
                  local + 1, high, done)
        raise _Stop("ROLLED_BACK")

    def _read_batch(self, after: int, batch: int) -> list[outbox.OutboxRow]:
        rows = self._read(lambda cur: outbox.events_after(cur, self.terminal_id, after, batch))
        if rows and rows[0].seq == after + 1:
            return rows
        # The server asks for events the archive took from the live file (it was restored from a
        # backup): they are read back from the monthly files, up to where the live outbox begins.
        through = self._read(lambda cur: archive.archived_through(cur, self.terminal_id))
        if after >= through:
            return rows
        old = archive.archived_events(self.db.path, self.terminal_id, after, min(batch, through - after))
        return (old + rows)[:batch]

    def _after_refusal(self, exc: ProtocolError, rows, acked: int, batch: int,
                       bad_signatures: int) -> tuple[int, int]:
        """What a refused batch means: the (batch size, signature retries) to go on with, or it raises
        (an alarm stops uploading; anything else ends the cycle)."""
        if exc.code == "SEQ_GAP":
            expected = exc.details.get("expected_seq")
            if not isinstance(expected, int) or expected < 1:
                raise exc
            if expected - 1 > self.last_seq():
                self._rolled_back(expected - 1)
            log.warning("server expects seq %d (we had acked %d): resending from there", expected, acked)
            self._write(lambda cur: self._put(cur, CURSOR_ACKED, str(expected - 1)))
            return batch, bad_signatures
        if exc.code in ALARM_CODES:
            self._raise_alarm(exc.code, seq=exc.details.get("seq"), server=exc.details)
            raise _Stop(exc.code) from None
        if exc.code in ("MALFORMED_JSON", "INVALID_REQUEST") and _broken_row(rows) is not None:
            self._raise_alarm("EVENT_HASH_MISMATCH", seq=_broken_row(rows), server=exc.details)
            raise _Stop("EVENT_HASH_MISMATCH") from None
        if exc.code == "BODY_TOO_LARGE" and batch > 1:
            return max(1, batch // 2), bad_signatures
        if exc.code == "INVALID_REQUEST" and isinstance(exc.details.get("max_batch"), int) and batch > 1:
            return max(1, min(batch // 2, exc.details["max_batch"])), bad_signatures
        if exc.code in ("BAD_SIGNATURE", "REPLAYED_NONCE") and bad_signatures < 1:
            return batch, bad_signatures + 1
        raise exc

    def _acknowledged(self, answer: dict, rows) -> int:
        """The last seq of the batch the server acknowledged, checked against what this file holds."""
        acked_through = answer.get("acked_through")
        if not isinstance(acked_through, int):
            raise BadAnswer("shape", "upload answer without acked_through")
        first, last = rows[0].seq, rows[-1].seq
        if acked_through > last and acked_through > self.last_seq():
            # The server holds events past everything this file has ever written.
            self._rolled_back(acked_through)
        acked_through = min(acked_through, last)
        if acked_through < first - 1:
            raise BadAnswer("shape", f"server acknowledged {acked_through}, before the batch")
        return acked_through

    def _save_answer(self, answer: dict, acked_through: int, report: CycleReport) -> None:
        """The acknowledged seq and a task for each conflict the answer lists, in one transaction."""
        conflicts = answer.get("conflicts") or []
        now = self.now()

        def save(cur):
            self._put(cur, CURSOR_ACKED, str(acked_through))
            new = 0
            for c in conflicts:
                if isinstance(c, dict) and c.get("kind"):
                    new += record_task(cur, f"{c.get('seq')}/{c.get('ticket_id')}", c, now)
            return new

        report.new_tasks += self._write(save)
        instance.note_acked(self.db.path, self.instance_id, acked_through)
        report.uploaded += int(answer.get("applied") or 0)
        report.duplicates += int(answer.get("duplicates") or 0)

    # ------------------------------------------------------------------ pull

    def _fetch_page(self, cursor: str | None) -> dict:
        answer = self.transport.call("GET", protocol.API_PREFIX + "/changes",
                                     query={"cursor": cursor, "limit": self.page_limit})
        if not isinstance(answer.get("changes"), list) or not isinstance(answer.get("cursor"), str):
            raise BadAnswer("shape", "feed answer without changes and cursor")
        return answer

    def _pull(self, report: CycleReport) -> None:
        """Pages in cursor order, each applied with its cursor in one transaction. While a page is
        being applied the next one is already on its way (its cursor is known from the answer), so
        a long first pull costs about the larger of the server's time and ours, not their sum."""
        answer = self._fetch_page(self._read(lambda cur: self._get(cur, CURSOR_FEED)))
        pool = None
        first = True
        try:
            while True:
                upcoming = None
                if answer.get("more"):
                    if pool is None:
                        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pull-{self.terminal_id}")
                    upcoming = pool.submit(self._fetch_page, answer["cursor"])
                self._apply_page(answer, first, report)
                first = False
                if upcoming is None:
                    return
                answer = upcoming.result()
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _apply_page(self, answer: dict, first: bool, report: CycleReport) -> None:
        changes, new_cursor, reset = answer["changes"], answer["cursor"], bool(answer.get("reset"))
        now = self.now()

        def apply(cur):
            applier = FeedApplier(cur, self.terminal_id, int(self._get(cur, CURSOR_ACKED) or 0),
                                  zone=self.zone, now=now)
            if reset and first:
                # A snapshot lists what is sold now, not what stopped being sold while we were
                # away: seats other channels held go back to free and the snapshot re-holds them.
                seats.free_all_held_seats(cur)
            if first:
                applier.retry_deferred()
            applier.apply(changes)
            self._put(cur, CURSOR_FEED, new_cursor)
            return applier

        applier = self._write(apply)
        if applier.counts.get("ticket_key") and self.terminal is not None:
            # The counter's Terminal reads ticket codes with these: new terminals' keys work at once.
            self.terminal.public_keys.update(identity.public_keys(self.db))
        report.pulled += len(changes)
        report.deferred += applier.deferred
        report.new_tasks += applier.new_tasks
        if applier.skipped:
            report.details["skipped_rows"] = report.details.get("skipped_rows", 0) + applier.skipped
        report.reset = report.reset or reset
        if any(applier.counts.get(kind) for kind in _LEASE_KINDS):
            self._leases_used = True

    # ------------------------------------------------------------------ leases

    def _leases_due(self, report: CycleReport) -> bool:
        """Whether this cycle looks over the leases (see LEASE_LOOK_IDLE_SECONDS)."""
        if report.uploaded:
            self._leases_used = True
        last = self._leases_looked_at
        if last is None or report.reset or not self.online:  # ``online``: as the last cycle left it
            return True
        since = self.clock() - last
        if since < 0:  # the clock went back: look, and count from now
            return True
        return since >= (LEASE_LOOK_BUSY_SECONDS if self._leases_used else LEASE_LOOK_IDLE_SECONDS)

    def _lease_rows(self, cur, now: datetime) -> list[seats.LeaseHolding]:
        return seats.lease_holdings(cur, now, departs_after=now + self.lease_cutoff,
                                    departs_by=now + self.lease_horizon)

    def lease_coverage(self) -> LeaseCoverage:
        """What the leases cover, for the status line: counted at most every few seconds (the status is
        emitted after every cycle, and after every sale while offline), and afresh after a top-up."""
        cached = self._coverage
        if cached is not None and time.monotonic() - cached[1] < COVERAGE_FRESH_SECONDS:
            return cached[0]
        coverage = self._count_coverage(self._read(lambda cur: self._lease_rows(cur, self.now())))
        self._coverage = (coverage, time.monotonic())
        return coverage

    @staticmethod
    def _count_coverage(rows) -> LeaseCoverage:
        return LeaseCoverage(departures=len(rows), covered=sum(1 for r in rows if r.leased > 0),
                             seats=sum(r.leased for r in rows))

    def _keep_leases(self, report: CycleReport) -> None:
        now = self.now()
        # Cleared first: what changes the leases while this look runs is looked at next time.
        used, self._leases_used = self._leases_used, False
        try:
            self._top_up(report, now)
        except BaseException:
            self._leases_used = used or self._leases_used
            raise
        self._leases_looked_at = self.clock()

    def _top_up(self, report: CycleReport, now: datetime) -> None:
        renew_by = iso_utc(now + self.lease_renew_before)
        mono = time.monotonic()
        wants = []
        rows = self._read(lambda cur: self._lease_rows(cur, now))
        for held in rows:
            if self._sold_out.get(held.departure_id, 0) > mono:
                continue
            short = held.leased < self.lease_threshold and (held.free > 0 or held.leased > 0)
            expiring = held.leased > 0 and held.first_expiry is not None and held.first_expiry < renew_by
            if short or expiring:
                wants.append({"departure_id": held.departure_id, "seats": self.lease_target})
        self._coverage = (self._count_coverage(rows), time.monotonic()) if not wants else None
        for i in range(0, len(wants), 200):
            chunk = wants[i:i + 200]
            answer = self.transport.call("POST", protocol.API_PREFIX + "/leases", body={"want": chunk})
            report.leases_requested += len(chunk)
            leases = answer.get("leases") or []
            for lease in leases:
                report.seats_granted += len(lease.get("granted") or ())
                if lease.get("sold_out"):
                    self._sold_out[lease["departure_id"]] = mono + 300
            for err in answer.get("errors") or ():
                # Cut-off passed, sale closed, cancelled: stop asking for a while.
                self._sold_out[err.get("departure_id")] = mono + 300
            changes = [{"kind": "lease", "key": lease["departure_id"], "deleted": not lease.get("seats"),
                        "data": lease} for lease in leases if lease.get("departure_id")]
            if changes:
                def apply(cur, changes=changes):
                    FeedApplier(cur, self.terminal_id, 0, zone=self.zone, now=now).apply(changes, count=False)

                self._write(apply)

    def station_day(self, day: str) -> dict:
        """The server's figures of this terminal's station for the local ``day`` (YYYY-MM-DD), for the
        supervisor's screen. Offline (or a server that will not say) is :class:`SyncError` ``OFFLINE``:
        the screen then shows what this terminal knows."""
        try:
            answer = self._seat_transport.call("GET", protocol.API_PREFIX + "/station/day", query={"date": day})
        except (LinkDown, BadAnswer) as exc:
            raise SyncError("省平台连不上，显示本机数据", en=f"cannot reach the server ({exc}); showing this terminal's data",
                            code="OFFLINE") from None
        except ProtocolError as exc:
            raise SyncError(exc.message, en=exc.en, code=exc.code, **exc.details) from None
        if not isinstance(answer, dict) or answer.get("source") != "server":
            raise SyncError("省平台的回答不完整", en="the server's answer is not a station day", code="OFFLINE")
        return answer

    def request_seat(self, departure_id: str, seat_no: int | None = None) -> dict:
        """Ask the server for one seat now (the seat map's "this seat, please"), synchronously and with a
        short timeout. On success the seat is leased here and can be sold at once; refusals come back as
        :class:`SyncError` with the protocol's code (SEAT_TAKEN, SEAT_LEASED, NO_SEATS ...)."""
        try:
            # Once more after a lost answer, with the same idempotency key: the same seat, not a second.
            answer = self._seat_transport.call_retrying("POST", protocol.API_PREFIX + "/seats/request", attempts=2,
                                                        body={"departure_id": departure_id, "seat_no": seat_no})
        except (LinkDown, BadAnswer) as exc:
            if isinstance(exc, LinkDown):
                self._link_lost_at_counter(exc)
            raise SyncError("无法向省平台申请座位（离线），请从本机租用的座位中选择",
                            en=f"cannot ask the server for a seat (offline: {exc}); pick a leased seat",
                            code="OFFLINE") from None
        except ProtocolError as exc:
            raise SyncError(exc.message, en=exc.en, code=exc.code, **exc.details) from None
        seat, lease_id, expires_at = int(answer["seat_no"]), answer["lease_id"], answer["expires_at"]
        now = self.now()

        def apply(cur):
            local_id = f"{lease_id}@{expires_at}"
            seats.record_lease(cur, local_id, departure_id, [seat], now, parse_utc(expires_at), keep_existing=True)
            seats.lease_seats(cur, local_id, departure_id, [seat])

        self._write(apply)
        return answer

    def _link_lost_at_counter(self, exc: LinkDown) -> None:
        """A seat request found the link down before the worker did: the counter sells from its
        leases from now on, instead of every next pool-seat sale waiting out the same timeouts with
        the clerk's window frozen; the worker, woken, says online again once the server answers."""
        with self._link_lock:
            self._links_lost += 1
            self.attempted = True
            self._went_offline("link", f"省平台连接中断：{exc.message}（{exc}）")
        self._wake.set()
        try:
            self.emit_status()
        except Exception:  # the status bar catches up at the worker's next cycle
            log.exception("reading the sync status failed")

    def confirm_seat(self, departure_id: str, seat_no: int | None) -> int:
        """The counter's ``Terminal.seat_confirmer``: a pool seat asked of the server before an online
        sale takes it. Granted, it is leased here and the sale goes on; refused because someone else
        holds it, this file's map learns so (the seat is shown held until the feed says otherwise)."""
        try:
            return int(self.request_seat(departure_id, seat_no)["seat_no"])
        except SyncError as exc:
            if seat_no is not None and exc.code in ("SEAT_TAKEN", "SEAT_LEASED"):
                self._write(lambda cur: seats.hold_if_open(cur, departure_id, seat_no))
            raise

    def release_leases(self) -> int:
        """Give every unsold leased seat back to the pool (a terminal taken out of service, the end of a
        simulation). Returns how many seats the server took back."""
        returned = 0
        with self._cycle_lock:
            departures = self._read(seats.leased_departure_ids)
        # A few calls of many departures each: one per departure cost a round trip and a server commit
        # each, seconds for a terminal holding leases on hundreds of departures.
        for i in range(0, len(departures), RELEASE_CHUNK):
            chunk = list(departures[i:i + RELEASE_CHUNK])
            with self._cycle_lock:
                answer = self.transport.call("POST", protocol.API_PREFIX + "/leases/release",
                                             body={"departure_ids": chunk})
            returned += int(answer.get("released") or 0)
            changes = [{"kind": "lease", "key": d, "deleted": True, "data": None} for d in chunk]
            self._write(lambda cur, c=changes: FeedApplier(cur, self.terminal_id, 0, zone=self.zone,
                                                           now=self.now()).apply(c, count=False))
        return returned

    # ------------------------------------------------------------------ offline budget

    def budget(self) -> OfflineBudget:
        if self.offline_budget is not None:
            return self.offline_budget
        minutes = self._read(lambda cur: sync_state.setting_value(cur, "offline_budget_minutes"))
        return OfflineBudget(int(minutes)) if minutes is not None else OfflineBudget()

    def check_can_sell(self, departure_id: str) -> None:
        """Raise the domain's refusal when selling on ``departure_id`` now would break the offline budget."""
        now = self.now()

        with self.db.read() as session:
            leased = leased_seats_left(session, [departure_id], now)[departure_id]
        self.budget().check(None if self.online else (self.offline_since or now), now, leased)

    # ------------------------------------------------------------------ status

    def current_status(self) -> SyncStatus:
        def q(cur):
            return (self._pending(cur), self._get(cur, CURSOR_LAST_SYNC), self._get(cur, CURSOR_ALARM),
                    tasks.open_task_count(cur))

        pending, last, alarm_raw, open_tasks = self._read(q)
        alarm = json.loads(alarm_raw) if alarm_raw else None
        now = self.now()
        with self._link_lock:  # one state, not half of the worker's and half of a seat request's
            online, offline_since, attempted = self.online, self.offline_since, self.attempted
            problem, problem_kind = self.problem, self.problem_kind
        remaining = None
        if attempted and not online:
            left = self.budget().remaining(offline_since or now, now)
            remaining = left.total_seconds() if left is not None else None
        state = "alarm" if alarm else ("online" if online else ("offline" if attempted else "unknown"))
        return SyncStatus(
            state=state,
            online=online,
            offline_since=offline_since,
            pending_events=pending,
            last_sync=parse_utc(last) if last else None,
            lease_coverage=self.lease_coverage(),
            alarm=alarm["code"] if alarm else None,
            alarm_message=alarm["message"] if alarm else None,
            problem=problem,
            problem_kind=problem_kind,
            clock_offset=self.transport.offset,
            open_tasks=open_tasks,
            offline_budget_left=remaining,
            terminal_id=self.terminal_id,
        )

    def emit_status(self) -> SyncStatus:
        self.status = self.current_status()
        if self.on_status is not None:
            try:
                self.on_status(self.status)
            except Exception:  # a broken listener must not stop syncing
                log.exception("status listener failed")
        return self.status

    # ------------------------------------------------------------------ the loop

    def poke(self) -> None:
        """Something happened locally (a sale...): sync soon, and look over the leases soon."""
        self._leases_used = True
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """The worker loop; returns when ``stop`` is set (call ``poke()`` too, to wake it at once)."""
        try:
            self.emit_status()  # the status bar has something to show before the first cycle ends
        except Exception:
            log.exception("reading the sync status failed")
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:  # a bug or a broken database: keep the worker alive, log it, back off
                log.exception("sync cycle failed")
                report = CycleReport(error="internal error", error_kind="internal")
            if stop.is_set():
                break
            if report.ok:
                delay = self.interval
            elif report.error_kind == "alarm":
                delay = max(self.interval, self.backoff.cap)
            else:
                delay = self.backoff.next_delay()
            woke = self._wake.wait(delay)
            self._wake.clear()
            if woke and not report.ok and not stop.is_set():
                # A sale while the link is down wakes us, but not faster than min_gap per attempt.
                gap = self._last_attempt + self.min_gap - time.monotonic()
                if gap > 0:
                    stop.wait(gap)

    def start(self) -> threading.Thread:
        """Run the loop on a daemon thread (the GUI wraps ``run`` in its own QThread instead)."""
        if self._thread and self._thread.is_alive():
            return self._thread
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self.run, args=(self._stop_event,), name=f"sync-{self.terminal_id}",
                                        daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        if self._stop_event is not None:
            self._stop_event.set()
            self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.transport.close()
        self._seat_transport.close()

    def drain(self, timeout: float = 60.0, *, poll: float = 0.05) -> bool:
        """Cycle until nothing is pending (for tools and tests); False on timeout or alarm."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.run_once()
            if report.error_kind == "alarm":
                return False
            if report.ok and self.pending_events() == 0:
                return True
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        return False
