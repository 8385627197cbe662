"""Sync benchmarks, each beside a raw baseline measured in the same run.

* ``sync_upload`` — a backlog of 20,000 sale events drained by the real uploader to the reference server
  over loopback (HTTP, signing, the server's per-batch transaction with its seat checks), the server
  run as a province runs it for such drains (``--upload-workers 2``). Baseline: the server's raw
  batch-insert rate — every row an upload stores (events, tickets and the feed rows of the sold seats)
  handed as tuples to the server's own bulk insert (``BulkInsert.run_tuples``), in batches of the same
  size, one transaction each, in one process, on the same kind of database; the median of three runs,
  one before the upload and two after, reported as the ratio beside the rate. Goal: ≥ 5,000 events/s
  (a large station's busiest day drains in seconds).
* ``sync_initial_pull`` — a fresh terminal of the large station (1,000 departures a day × 15 days,
  3,000 destinations) pulling the whole feed from the reference server over loopback, seat maps
  included. Baseline: the store's own bulk loader reading the same province document from memory.
  Goal: ≥ 20,000 feed rows/s.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app.bench.harness import Figure

UPLOAD_EVENTS = 20_000
UPLOAD_BATCH = 1000
UPLOAD_WORKERS = 2  # the server as a province runs it for backlog drains (kezhan server --upload-workers)
BASELINE_RUNS = 3
GOAL_UPLOAD_RATE = 5000.0
GOAL_PULL_RATE = 20_000.0
ADMIN = "bench-admin-token"
ZONE = ZoneInfo("Asia/Shanghai")


class _ServerProcess:
    """``kezhan server`` in a process of its own, as in production: the uploader and the server do not
    share an interpreter lock, so the figure is the pipeline's, not the sum of both sides' CPU."""

    def __init__(self, folder: Path, doc: dict, extra: tuple[str, ...] = ()):
        import subprocess
        import sys

        province = folder / "province.json"
        province.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        self.station = doc["home_station"]
        root = Path(__file__).resolve().parents[2]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "server", "--db", str(folder / "server.sqlite3"), "--host", "127.0.0.1",
             "--port", "0", "--admin-token", ADMIN, "--province", str(province), *extra],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**__import__("os").environ, "KEZHAN_HOME": str(folder / "home")},
        )
        self.url = None
        lines = []
        for line in self.proc.stdout:
            lines.append(line)
            if "listening on http://" in line:
                self.url = line.split("listening on ", 1)[1].strip()
                break
        if self.url is None:
            self.proc.wait(10)
            raise RuntimeError("the provincial server did not start: " + "".join(lines[-5:]))
        import threading
        import time as _time

        import requests

        # Keep reading what the server prints, so a full pipe can never stall it mid-benchmark.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

        # The port is printed once bound; it answers once uvicorn has started listening.
        for _ in range(600):
            try:
                requests.get(self.url + "/v1/health", timeout=2)
                break
            except requests.RequestException:
                _time.sleep(0.05)

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(getattr(signal, "SIGINT", signal.SIGTERM))
            try:
                self.proc.wait(15)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)


def _enrolled_terminal(srv: _ServerProcess, path: Path):
    import requests

    from app.store.engine import open_database
    from sync.client import enrol

    r = requests.post(srv.url + "/v1/admin/enrolment-codes", json={"station": srv.station}, timeout=30,
                      headers={"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"})
    r.raise_for_status()
    db = open_database(path)
    enrol(db, srv.url, r.json()["code"])
    return db


def _seats(doc: dict, count: int) -> list[tuple[str, int, str, int]]:
    """(departure, seat, stop, full fare) for ``count`` distinct seats, spread over the departures:
    priced as the province prices them from the home station, which the server checks."""
    stops = {r["code"]: r["stops"][-1]["station"] for r in doc["routes"]}
    fares = {(f["route"], f["from"], f["to"], f["vehicle_class"]): f["full_fare"] for f in doc["fares"]}
    out = []
    for d in doc["departures"]:
        stop = stops[d["route"]]
        fare = fares.get((d["route"], doc["home_station"], stop, d["vehicle_class"]))
        if fare is None:
            continue
        for seat in range(1, int(d["seats"]) + 1):
            out.append((d["id"], seat, stop, fare))
            if len(out) == count:
                return out
    raise ValueError(f"the province has fewer than {count} seats")


def _sale_payloads(terminal_id: str, seats, now: datetime) -> list[tuple[str, dict]]:
    from app.domain.stock import make_ticket_id, parse_terminal_id

    station, no = parse_terminal_id(terminal_id)
    sold_at = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out = []
    for i, (departure_id, seat, stop, fare) in enumerate(seats, start=1):
        ticket_id = make_ticket_id(station, no, i)
        out.append(("ticket.sold", {
            "order_id": f"O{ticket_id}", "clerk": "1001", "shift_id": f"{terminal_id}-S1", "sold_at": sold_at,
            "payment": {"method": "cash", "amount": fare, "tendered": fare, "change": 0, "reference": None},
            "tickets": [{
                "ticket_id": ticket_id, "departure_id": departure_id, "seat_no": seat, "ticket_type": "full",
                "fare": fare, "price": fare, "insurance": 0, "stop": stop,
                # A valid number of its own per passenger: the server hashes each under its key.
                "passenger": {"name": "测试旅客", "doc_type": "resident_id", "doc_number": _id_number(i)},
                "carried_by": None, "stock_no": f"{i:08d}",
            }],
        }))
    return out


def _id_number(i: int) -> str:
    from app.domain.identity import check_char

    first17 = f"330102{date(1940, 1, 1) + timedelta(days=i // 10):%Y%m%d}{i % 10:03d}"
    return first17 + check_char(first17)


def _write_backlog(db, terminal_id: str, payloads, now: datetime) -> None:
    from app.services.context import Terminal, cursor, emit
    from sync.client.identity import make_terminal

    terminal: Terminal = make_terminal(db)
    for start in range(0, len(payloads), 2000):
        with db.transaction() as session:
            cur = cursor(session)
            for type_, payload in payloads[start:start + 2000]:
                emit(cur, terminal, type_, payload, now)


def _raw_server_inserts(folder: Path, terminal_id: str, payloads, batch: int, name: str = "raw-server") -> float:
    """Seconds to insert, raw, every row an upload of ``payloads`` stores: the events, the tickets
    and the feed rows that publish the sold seats. Tuples straight to the driver through the server's
    own bulk-insert path (no checks, no seat map, no HTTP), ``batch`` events per transaction on the
    same kind of database."""
    from sync import protocol
    from sync.server import db as server_db
    from sync.server import feed, models
    from sync.server.core import _EVENT_COLUMNS, _TICKET_COLUMNS
    from sync.server.documents import DocumentKeys

    # The server's own document hash, as the upload stores it: under the pepper of the server's file.
    with sqlite3.connect(folder / "server.sqlite3") as held:
        meta = dict(held.execute("SELECT key, value FROM meta WHERE key IN ('doc_hash_key', 'doc_pepper')"))
    keys = DocumentKeys(base64.b64decode(meta["doc_hash_key"]), base64.b64decode(meta["doc_pepper"]))
    engine = server_db.make_engine(str(folder / f"{name}.sqlite3"))
    server_db.init_schema(engine)
    now = datetime.now(UTC)
    events, tickets, seats = [], [], []
    for seq, (type_, payload) in enumerate(payloads, start=1):
        events.append((terminal_id, seq, uuid.uuid4().hex, type_, payload["sold_at"], "0" * 64,
                       protocol.canonical_json(payload).decode("utf-8"), "2026-01-01", now))
        t = payload["tickets"][0]
        p = t["passenger"]
        tickets.append((
            t["ticket_id"], payload["order_id"], "terminal", terminal_id, t["departure_id"], t["seat_no"],
            f"{t['departure_id']}#{t['seat_no']}", "active", t["ticket_type"], t["fare"], t["price"], t["insurance"],
            t["stop"], p["name"], p["doc_type"], p["doc_number"], keys.server_hash(p["doc_type"], p["doc_number"]),
            None, t["stock_no"],
            payload["clerk"], payload["shift_id"], payload["sold_at"], seq))
        seats.append({"kind": "seat", "key": f"{t['departure_id']}/{t['seat_no']}", "scope": None,
                      "text": feed.sold_seat_text(t["departure_id"], t["seat_no"], "terminal", terminal_id,
                                                  t["ticket_id"])})
    start = time.perf_counter()
    for i in range(0, len(events), batch):
        with engine.begin() as conn:
            server_db.BulkInsert.run_tuples(conn, models.events, _EVENT_COLUMNS, events[i:i + batch])
            server_db.BulkInsert.run_tuples(conn, models.tickets, _TICKET_COLUMNS, tickets[i:i + batch])
            feed.publish_many(conn, seats[i:i + batch], at=now)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def sync_upload(n: int = UPLOAD_EVENTS, batch: int = UPLOAD_BATCH, workdir: Path | None = None) -> Figure:
    from app.demodata import generate_province
    from sync.client import SyncClient
    from sync.client.client import CycleReport

    own_tmp = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="kezhan-bench-sync-")) if own_tmp else workdir
    try:
        today = datetime.now(ZONE).date() + timedelta(days=1)
        doc = generate_province(start_date=today, days=2, departures_per_day=300, destinations=None)
        srv = _ServerProcess(folder, doc, ("--upload-workers", str(UPLOAD_WORKERS)))
        try:
            db = _enrolled_terminal(srv, folder / "terminal.sqlite3")
            client = SyncClient(db, batch_size=batch, timeout=(5.0, 120.0))
            terminal_id = client.terminal_id
            payloads = _sale_payloads(terminal_id, _seats(doc, n), datetime.now(UTC))
            _write_backlog(db, terminal_id, payloads, datetime.now(UTC))
            # The baseline brackets the upload, one run before and two after: this machine's speed
            # drifts within minutes, and a baseline taken only after would drift with it.
            runs = [_raw_server_inserts(folder, terminal_id, payloads, batch, "raw-server-0")]
            report = CycleReport()
            start = time.perf_counter()
            client._upload(report)
            seconds = time.perf_counter() - start
            pending = client.pending_events()
            client.close()
            db.dispose()
        finally:
            srv.stop()
        # The raw insert is short and this figure's noise is mostly its noise: the median of three.
        runs += [_raw_server_inserts(folder, terminal_id, payloads, batch, f"raw-server-{i}")
                 for i in range(1, BASELINE_RUNS)]
        baseline_seconds = sorted(runs)[len(runs) // 2]
    finally:
        if own_tmp:
            shutil.rmtree(folder, ignore_errors=True)
    rate = report.uploaded / seconds
    baseline = n / baseline_seconds
    figure = Figure(
        name="sync_upload", value=rate, unit="events/s", baseline=baseline, n=n,
        goal=f">= {GOAL_UPLOAD_RATE:,.0f} events/s",
        notes={"seconds": round(seconds, 3), "batch": batch, "applied": report.uploaded, "left_pending": pending,
               "baseline_seconds": round(baseline_seconds, 3), "baseline_runs": [round(r, 3) for r in runs],
               "baseline": "median of 3 raw inserts (the server's bulk insert of tuples), one before the upload "
                           "and two after, of every row the upload stores: events, tickets, sold-seat feed rows; "
                           "same batch size, one transaction each",
               "server": f"kezhan server --upload-workers {UPLOAD_WORKERS}"},
    )
    figure.met = bool(pending == 0 and rate >= GOAL_UPLOAD_RATE)
    return figure


def sync_initial_pull(workdir: Path | None = None, scale: dict | None = None) -> Figure:
    from app.bench.dataset import LARGE, START
    from app.demodata import generate_province
    from app.services.context import cursor
    from app.store.engine import open_database
    from app.store.province import load_province
    from app.store.seats import seat_count
    from sync.client import SyncClient
    from sync.client.client import CycleReport

    scale = scale or LARGE
    own_tmp = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="kezhan-bench-pull-")) if own_tmp else workdir
    try:
        doc = generate_province(start_date=START, **scale)
        srv = _ServerProcess(folder, doc)
        try:
            db = _enrolled_terminal(srv, folder / "terminal.sqlite3")
            client = SyncClient(db, page_limit=5000, timeout=(5.0, 120.0))
            report = CycleReport()
            start = time.perf_counter()
            client._pull(report)
            seconds = time.perf_counter() - start
            client.close()
            with db.read() as session:
                seats = seat_count(cursor(session))
            db.dispose()
        finally:
            srv.stop()
        base = open_database(folder / "baseline.sqlite3")
        try:
            start = time.perf_counter()
            with base.transaction() as session:
                load_province(session, json.loads(json.dumps(doc)))
            baseline_seconds = time.perf_counter() - start
        finally:
            base.dispose()
    finally:
        if own_tmp:
            shutil.rmtree(folder, ignore_errors=True)
    rate = report.pulled / seconds
    figure = Figure(
        name="sync_initial_pull", value=rate, unit="rows/s", baseline=report.pulled / baseline_seconds,
        n=report.pulled, goal=f">= {GOAL_PULL_RATE:,.0f} rows/s",
        notes={"seconds": round(seconds, 3), "feed_rows": report.pulled, "seat_rows": seats,
               "baseline_seconds": round(baseline_seconds, 3), "scale": scale,
               "baseline": "app.store.province.load_province of the same document, same rows counted"},
    )
    figure.met = bool(rate >= GOAL_PULL_RATE)
    return figure


def benchmarks() -> dict:
    """Name -> benchmark function (no required arguments; returns a Figure)."""
    return {"sync_upload": sync_upload, "sync_initial_pull": sync_initial_pull}
