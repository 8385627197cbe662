"""``kezhan sync``: the terminal's link to the provincial server.

    kezhan sync [--once] [--status] [--json] [--db FILE]
    kezhan sync enrol --server URL --code CODE [--label L] [--db FILE] [--json]
    kezhan sync tasks [--all] [--json]
    kezhan sync clear-alarm [--db FILE]

Without flags it syncs in the foreground until Ctrl-C, printing the status whenever it changes.
``--once`` runs one cycle (upload, pull, leases); ``--status`` reads the status from the database
without touching the network. While an alarm stands the counter writes no outbox event (no sale,
refund, change, void, reprint, pickup, shift opening or close); ``clear-alarm`` lifts it and says so.
"""

from __future__ import annotations

from app.commands.output import add_json_flag, emit
from app.errors import SyncError


def _add_db(p) -> None:
    p.add_argument("--db", default=None, metavar="FILE", help="terminal database (default: the configured one)")


def register(subparsers) -> None:
    p = subparsers.add_parser("sync", help="sync with the provincial server (upload sales, pull changes, leases)")
    p.add_argument("--once", action="store_true", help="run one sync cycle and exit")
    p.add_argument("--status", action="store_true", help="show the sync status (no network)")
    _add_db(p)
    add_json_flag(p)
    p.set_defaults(func=run)
    sub = p.add_subparsers(dest="sync_command", metavar="SUBCOMMAND")

    e = sub.add_parser("enrol", help="enrol this terminal with a one-time code from the station admin")
    e.add_argument("--server", required=True, metavar="URL", help="the provincial server, e.g. https://sync.example:8470")
    e.add_argument("--code", required=True, help="the enrolment code, e.g. ABCD-EFGH-JKMN")
    e.add_argument("--label", default="", help="a note for the server's admin (e.g. 'window 3')")
    _add_db(e)
    add_json_flag(e)
    e.set_defaults(func=run_enrol)

    t = sub.add_parser("tasks", help="conflicts the server resolved that a clerk must act on")
    t.add_argument("--all", action="store_true", help="include resolved tasks")
    _add_db(t)
    add_json_flag(t)
    t.set_defaults(func=run_tasks)

    c = sub.add_parser("clear-alarm", help="clear a sync alarm after its cause was dealt with (technician): "
                                           "uploading and selling resume")
    _add_db(c)
    add_json_flag(c)
    c.set_defaults(func=run_clear_alarm)


def _open(args):
    from pathlib import Path

    from app import config
    from app.store.engine import open_database

    path = Path(args.db) if args.db else config.load().db_path
    return open_database(path)


def _status_text(status) -> str:
    cov = status.lease_coverage
    link = {"online": "在线 online", "offline": "离线 offline", "alarm": "告警 ALARM",
            "unknown": "未检查 not checked (--once checks)"}.get(status.state, status.state)
    lines = [
        f"terminal     {status.terminal_id}",
        f"link         {link}" + (f" since {status.offline_since:%Y-%m-%d %H:%M:%S}Z" if status.offline_since else ""),
        f"pending      {status.pending_events} event(s)",
        f"last sync    {status.last_sync:%Y-%m-%d %H:%M:%S}Z" if status.last_sync else "last sync    never",
        f"leases       {cov.covered}/{cov.departures} departures, {cov.seats} seat(s)",
        f"clock        {status.clock_offset:+.1f} s from the server",
        f"tasks        {status.open_tasks} open",
    ]
    if status.offline_budget_left is not None:
        lines.append(f"budget       {status.offline_budget_left / 60:.0f} min of offline selling left")
    if status.problem:
        lines.append(f"problem      {status.problem}")
    if status.alarm:
        lines.append(f"ALARM        {status.alarm}: {status.alarm_message}")
    return "\n".join(lines)


def run(args) -> int:
    from sync.client import SyncClient

    db = _open(args)
    try:
        client = SyncClient(db)
        try:
            if args.status:
                status = client.current_status()
                emit(args, status.to_json(), _status_text(status))
                return 1 if status.alarm else 0
            if args.once:
                report = client.run_once()
                status = client.status
                data = {"report": report.__dict__, "status": status.to_json()}
                emit(args, data, _status_text(status))
                if status.alarm:
                    return 1
                if not report.ok:
                    if args.json:
                        return SyncError.exit_code
                    raise SyncError(status.problem or report.error or "同步失败",
                                    en=report.error or "sync failed", code=report.error_kind or "SYNC_FAILED")
                return 0
            return _foreground(client, args)
        finally:
            client.close()
    finally:
        db.dispose()


def _foreground(client, args) -> int:
    import json
    import sys
    import threading

    last = {}

    def show(status) -> None:
        data = status.to_json()
        key = {k: v for k, v in data.items() if k not in ("last_sync", "clock_offset", "offline_budget_left")}
        if key == last:
            return
        last.clear()
        last.update(key)
        if args.json:
            sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(_status_text(status) + "\n\n")
        sys.stdout.flush()

    client.on_status = show
    stop = threading.Event()
    try:
        client.run(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def run_enrol(args) -> int:
    from sync.client import enrol

    db = _open(args)
    try:
        result = enrol(db, args.server, args.code, label=args.label)
    finally:
        db.dispose()
    emit(args, result, f"enrolled as {result['terminal_id']} (station {result['station']}) at {result['server']}")
    return 0


def run_tasks(args) -> int:
    db = _open(args)
    try:
        from dataclasses import asdict

        from app.services.station import task_records

        tasks = [asdict(task) for task in task_records(db, include_closed=args.all)]
    finally:
        db.dispose()

    def state(t) -> str:
        # open: for the clerk (F11 at the counter); done: settled there, by whom and when;
        # resolved: closed by the server before anyone acted here.
        if t["status"] == "done":
            return f"done {t['done_by']} {t['done_at']}"
        return t["status"]

    text = "\n".join(f"#{t['id']:<4} {t['kind']:<7} {t['conflict']:<18} {t['ticket_id'] or '-'}  "
                     f"{t['departure_id'] or '-'} seat {t['seat_no'] or '-'}  [{state(t)}] {t['detail']}"
                     + (f"  -> {t['outcome']}" if t["outcome"] else "")
                     for t in tasks) or "no tasks"
    emit(args, {"tasks": tasks}, text)
    return 0


def run_clear_alarm(args) -> int:
    from sync.client import SyncClient

    db = _open(args)
    try:
        client = SyncClient(db)
        before = client.alarm()
        client.clear_alarm()
        client.close()
    finally:
        db.dispose()
    if before:
        text = (f"cleared: {before['code']} ({before.get('en') or before.get('message', '')})\n"
                "Uploading resumes at the next sync cycle, and the counter sells, refunds, changes, voids, "
                "reprints, picks up and opens/closes shifts again.\n"
                "Only right after the cause was dealt with (the right database file restored, or the "
                "differences reconciled with the province admin): if it was not, the next upload raises "
                "the alarm again.")
    else:
        text = "no alarm: nothing to clear (the counter was not stopped by sync)"
    emit(args, {"cleared": before, "selling": "allowed"}, text)
    return 0
