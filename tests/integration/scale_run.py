"""The scale measurement of docs/scale.md, run by hand (it is no test: minutes long, figures not asserted).

    .venv/bin/python -m tests.integration.scale_run [--terminals 50] [--stations 5] [--sales 60]
                     [--web-sales 200] [--offline-windows 1] [--pace 0.01] [--pg-processes 2]
                     [--lease-pool-percent 50] [--only sqlite|postgresql] [--json FILE]

In one run, one after the other: ``kezhan server`` on SQLite with one process, then on a throwaway
PostgreSQL (tests/integration/postgres.py) with ``--processes N``; against each, ``kezhan simulate``
with the same terminals, stations and sales. For each: the simulate report's figures (events/s,
upload and pull p50/p99, the simulator's CPU), the server's CPU seconds and resident memory (every
server process, read from /proc; its CPU also for the simulate report's stretch under load), and a raw insert of the same rows (the events and tickets the run
left in the server's database) into a fresh database of the same engine, in batches of the run's
mean upload size, one transaction each: the rate the engine itself gives, beside the server's.
Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scale-admin-token"


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    return pids


def _cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class CpuTimeline:
    """The server's CPU seconds sampled every quarter second, to read them for a stretch of wall-clock time."""

    def __init__(self, pids: list[int]):
        self.pids, self.samples = pids, [(time.time(), _cpu_seconds(pids))]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.samples.append((time.time(), _cpu_seconds(self.pids)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), _cpu_seconds(self.pids)))

    def at(self, when: float) -> float:
        """CPU seconds at ``when``, between the two samples around it."""
        before = max((s for s in self.samples if s[0] <= when), default=self.samples[0])
        after = min((s for s in self.samples if s[0] >= when), default=self.samples[-1])
        if after[0] == before[0]:
            return before[1]
        return before[1] + (after[1] - before[1]) * (when - before[0]) / (after[0] - before[0])


class Server:
    def __init__(self, db: str, home: Path, processes: int, extra: tuple[str, ...] = ()):
        # The server's output goes to a file: a pipe nobody reads fills up and stops its processes.
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / "server.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "server", "--db", db, "--port", "0", "--admin-token", TOKEN,
                 "--processes", str(processes), *extra],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, "KEZHAN_HOME": str(home)})
        self.url = None
        deadline = time.monotonic() + 120
        while self.url is None and time.monotonic() < deadline and self.proc.poll() is None:
            for line in self.log.read_text(errors="replace").splitlines():
                if "listening on" in line:
                    self.url = line.split("listening on", 1)[1].strip()
            time.sleep(0.2)
        if self.url is None:
            raise RuntimeError(f"the server did not start: {self.log.read_text(errors='replace')[-2000:]}")
        time.sleep(1.0)  # the other processes
        time.sleep(0.5)
        self.pids = _tree(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _raw_insert(source_url: str, target_url: str, batch: int) -> dict:
    """The run's events and tickets, inserted again into an empty database of the same engine."""
    from sync.server import models
    from sync.server.db import BulkInsert, init_schema, make_engine

    src = make_engine(source_url)
    with src.connect() as conn:
        events = [dict(r._mapping) for r in conn.execute(select(models.events).order_by(
            models.events.c.received_at, models.events.c.terminal_id, models.events.c.seq))]
        tickets = {r.ticket_id: dict(r._mapping) for r in conn.execute(select(models.tickets))}
    src.dispose()
    dst = make_engine(target_url)
    init_schema(dst)
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        chunk = events[i:i + batch]
        sold = [tickets.pop(t["ticket_id"]) for e in chunk if e["type"] == "ticket.sold"
                for t in json.loads(e["payload"]).get("tickets", []) if t["ticket_id"] in tickets]
        with dst.begin() as conn:
            BulkInsert.run(conn, models.events, chunk)
            if sold:
                BulkInsert.run(conn, models.tickets, sold)
    seconds = time.perf_counter() - started
    dst.dispose()
    return {"events": len(events), "seconds": round(seconds, 3), "batch": batch,
            "events_per_second": round(len(events) / seconds, 1) if seconds else None}


def _refused(report: dict) -> dict:
    out: dict[str, int] = {}
    for t in report["per_terminal"]:
        for code, n in t["refused"].items():
            out[code] = out.get(code, 0) + n
    return out


def _simulate(url: str, home: Path, args) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "app", "simulate", "--server", url, "--admin-token", TOKEN,
         "--terminals", str(args.terminals), "--stations", str(args.stations), "--sales", str(args.sales),
         "--web-sales", str(args.web_sales), "--offline-windows", str(args.offline_windows),
         "--pace", str(args.pace), "--timeout", "600", "--json"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "KEZHAN_HOME": str(home)}, check=False)
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(f"simulate failed ({done.returncode}): {done.stderr[-3000:]}") from None


def measure(name: str, db: str, raw_target: str, processes: int, folder: Path, args) -> dict:
    home = folder / f"home-{name}"
    srv = Server(db, home, processes, ("--lease-pool-percent", str(args.lease_pool_percent)))
    try:
        timeline = CpuTimeline(srv.pids)
        try:
            report = _simulate(srv.url, home, args)
        finally:
            timeline.stop()
        server_cpu = timeline.samples[-1][1] - timeline.samples[0][1]
        server_cpu_load = timeline.at(report["load_ended_at"]) - timeline.at(report["load_started_at"])
        rss = {p: round(_rss_mb(p), 1) for p in srv.pids}
    finally:
        srv.stop()
    up = report["upload"]
    batch = max(1, round(report["events"] / up["calls"])) if up["calls"] else 100
    raw = _raw_insert(db if "://" in db else f"sqlite:///{db}", raw_target, batch)
    return {
        "engine": name, "processes": processes, "ok": report["ok"], "terminals": report["terminals"],
        "terminal_sales": report["terminal_sales"], "web_sales": report["web_sales"],
        "refused": _refused(report),
        "stations": len(report["stations"]), "missing": len(report["missing"]),
        "duplicated": len(report["duplicated"]), "double_sold": len(report["double_sold_seats"]),
        "events": report["events"], "seconds_under_load": report["seconds_under_load"],
        "events_per_second": report["events_per_second"],
        "backlog_events_per_second": report["backlog_events_per_second"],
        "upload": up, "pull": report["pull"], "conflicts": report["conflicts"],
        "simulator_cpu_seconds": report["simulator_cpu_seconds"],
        "simulator_cpu_seconds_under_load": report["simulator_cpu_seconds_under_load"],
        "server_cpu_seconds": round(server_cpu, 2), "server_cpu_seconds_under_load": round(server_cpu_load, 2),
        "pace_seconds": args.pace, "server_rss_mb": rss,
        "server_rss_mb_total": round(sum(rss.values()), 1),
        "seconds_releasing_leases": report["seconds_releasing_leases"], "seconds_total": report["seconds_total"],
        "raw_insert": raw,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--terminals", type=int, default=50)
    p.add_argument("--stations", type=int, default=5)
    p.add_argument("--sales", type=int, default=60)
    p.add_argument("--web-sales", type=int, default=200)
    p.add_argument("--offline-windows", type=int, default=1)
    p.add_argument("--pace", type=float, default=0.01, help="mean seconds between one window's sales")
    p.add_argument("--pg-processes", type=int, default=2)
    p.add_argument("--lease-pool-percent", type=int, default=50)
    p.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    p.add_argument("--json", default=None, metavar="FILE")
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="kezhan-scale-"))
    results = []
    if args.only in (None, "sqlite"):
        results.append(measure("sqlite", str(folder / "server.sqlite3"), f"sqlite:///{folder / 'raw.sqlite3'}", 1,
                               folder, args))
        print(json.dumps(results[-1], indent=2), flush=True)
    if args.only in (None, "postgresql"):
        from tests.integration.postgres import ThrowawayPostgres, find_bindir, missing_reason

        bindir = find_bindir()
        reason = missing_reason(bindir)
        if reason:
            print(f"PostgreSQL skipped: {reason}", file=sys.stderr)
        else:
            pg = ThrowawayPostgres(bindir).start()
            try:
                results.append(measure("postgresql", pg.new_database(), pg.new_database(), args.pg_processes,
                                       folder, args))
                print(json.dumps(results[-1], indent=2), flush=True)
            finally:
                pg.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
