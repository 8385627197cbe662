"""``kezhan server``: the reference provincial server and its station-admin tools.

    kezhan server [--db URL] [--host H] [--port P] [--province FILE | --empty] [--admin-token T]
                  [--upload-workers N] [--processes N] [--lease-pool-percent P]
    kezhan server serve ...            (the same, spelled out)
    kezhan server issue-code [--db URL] [--station CODE] [--label L] [--ttl-hours H] [--json]
    kezhan server revoke --db URL --terminal ID [--drain [HOURS]] [--json]
    kezhan server terminals --db URL [--json]
    kezhan server export-tickets --db URL [--terminal ID] [--date YYYY-MM-DD] [--channel web|terminal] [--json]
    kezhan server export-departures --db URL --day YYYY-MM-DD [--station CODE] [--json]
    kezhan server report station|carrier|departures|reconciliation|all --db URL --day YYYY-MM-DD
                  [--station CODE] [--json | --csv] [--xlsx FILE]

The admin sub-commands work on the database directly (whoever can open it is its admin), so
they need no token; the token guards the same operations over HTTP.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.commands.output import add_json_flag, emit
from app.errors import SyncError

DEFAULT_PORT = 8470
DEFAULT_DRAIN_HOURS = 24.0
SERVE_HELP = (
    "run the reference provincial server until Ctrl-C (plain `kezhan server ...` means `kezhan server serve ...`)"
)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, not {port}")
    return port


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 64:
        raise argparse.ArgumentTypeError(f"not a number of workers (0-64): {text!r}")
    return n


def _processes(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"not a number of processes (1-64): {text!r}")
    return n


def _percent(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 100:
        raise argparse.ArgumentTypeError(f"not a percentage (0-100): {text!r}")
    return n


def _hours(text: str) -> float:
    """Hours of validity or of a drain: finite and at most ten years (NaN or 1e308 is no duration)."""
    try:
        hours = float(text)
    except ValueError:
        hours = float("nan")
    if not 0 < hours <= 24 * 3650:  # also false for NaN
        raise argparse.ArgumentTypeError(f"not a number of hours (above 0, at most 87600): {text!r}")
    return hours


def _day(text: str) -> str:
    from datetime import date

    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    # fromisoformat also takes 20261125; the admin API's form is the only one taken here.
    if day is None or day.isoformat() != text:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}")
    return text


def _default_db() -> str:
    from app import paths

    return str(paths.data_dir() / "province-server.db")


def _add_serve_options(p: argparse.ArgumentParser, *, suppress: bool) -> None:
    # The same options live on `server` and on `server serve`; a sub-parser's defaults would
    # overwrite what was given before the sub-command, so there they default to "absent".
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    p.add_argument("--db", default=d(None), help="database: a file path (SQLite) or an SQLAlchemy URL "
                   "(postgresql+psycopg://...); default: province-server.db in the data directory")
    p.add_argument("--host", default=d("127.0.0.1"), help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=d(DEFAULT_PORT), help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--province", default=d(None), metavar="FILE",
                       help="import this province document (kezhan-province/1 JSON) at start-up")
    group.add_argument("--empty", action="store_true", default=d(False),
                       help="load no province (an empty database stays empty)")
    p.add_argument("--admin-token", default=d(None), metavar="T",
                   help="token for /v1/admin and the web channel (default: $KEZHAN_ADMIN_TOKEN, else generated and printed)")
    p.add_argument("--upload-workers", type=_workers, default=d(0), metavar="N",
                   help="apply upload batches in N worker processes, so one batch is checked while another "
                        "is written (default 0: in the server process; 2 suits a province's backlog drains)")
    p.add_argument("--lease-pool-percent", type=_percent, default=d(0), metavar="P",
                   help="keep P%% of each departure's seats out of leases, for online sales (window seat "
                        "requests, the web): for stations with more windows than a bus has seats over a "
                        "top-up (default 0)")
    p.add_argument("--processes", type=_processes, default=d(1), metavar="N",
                   help="serve the port from N server processes on the same database (default 1; for "
                        "PostgreSQL, where each process has its own connections)")


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, help="the server's database (path or SQLAlchemy URL)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "server", help="the reference provincial server (run it, issue enrolment codes, revoke, export)",
        description=SERVE_HELP + ". Sub-commands: serve, issue-code, revoke, terminals, export-tickets, "
                                   "export-departures, report.",
    )
    _add_serve_options(p, suppress=False)
    p.set_defaults(func=run_serve)
    sub = p.add_subparsers(dest="server_command", metavar="SUBCOMMAND")

    s = sub.add_parser("serve", help=SERVE_HELP, description=SERVE_HELP)
    _add_serve_options(s, suppress=True)
    s.set_defaults(func=run_serve)

    s = sub.add_parser("issue-code", help="issue a one-time enrolment code for a station")
    _add_db(s)
    s.add_argument("--station", default=None,
                   help="station code, e.g. 330102001 (default: the province's home station, as in the demo)")
    s.add_argument("--label", default="", help="note for the terminal it will enrol (e.g. 'window 3')")
    s.add_argument("--ttl-hours", type=_hours, default=None, help="validity (default 24 h)")
    add_json_flag(s)
    s.set_defaults(func=run_issue_code)

    s = sub.add_parser("revoke", help="revoke an enrolled terminal (its requests are refused from now on)")
    _add_db(s)
    s.add_argument("--terminal", required=True, help="terminal id, e.g. 330102001-T01")
    s.add_argument("--drain", nargs="?", type=_hours, const=DEFAULT_DRAIN_HOURS, default=None, metavar="HOURS",
                   help="let it upload its unsent events first: it may only upload until its outbox is "
                        f"empty or HOURS pass (default {DEFAULT_DRAIN_HOURS:g}), then it is revoked")
    add_json_flag(s)
    s.set_defaults(func=run_revoke)

    s = sub.add_parser("terminals", help="list enrolled terminals")
    _add_db(s)
    add_json_flag(s)
    s.set_defaults(func=run_terminals)

    s = sub.add_parser("export-tickets", help="print the server's tickets (for reconciliation)")
    _add_db(s)
    s.add_argument("--terminal", default=None, help="only tickets sold by this terminal")
    s.add_argument("--date", default=None, help="only tickets sold on this local date (YYYY-MM-DD)")
    s.add_argument("--channel", choices=["terminal", "web"], default=None)
    add_json_flag(s)
    s.set_defaults(func=run_export)

    s = sub.add_parser("export-departures",
                       help="print each departure of a day as its gate left it (发班信息: vehicle, driver, "
                            "checked counts by destination, road bill)")
    _add_db(s)
    s.add_argument("--day", required=True, type=_day, help="the local date of the departures (YYYY-MM-DD)")
    s.add_argument("--station", default=None, help="only departures leaving from this station")
    add_json_flag(s)
    s.set_defaults(func=run_export_departures)

    s = sub.add_parser("report", help="the day in figures: per station, per carrier with its clearing (清分), per "
                                      "departure, or every terminal's reconciliation (docs/reports.md)")
    _add_db(s)
    s.add_argument("kind", choices=["station", "carrier", "departures", "reconciliation", "all"],
                   help="which report (all: every one, for --xlsx)")
    s.add_argument("--day", required=True, type=_day, help="the local date (YYYY-MM-DD)")
    s.add_argument("--station", default=None, help="only this station")
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="the report as JSON (amounts in fen)")
    fmt.add_argument("--csv", action="store_true", help="the report as CSV (amounts in yuan)")
    s.add_argument("--xlsx", default=None, metavar="FILE",
                   help="also write the report(s) to this workbook, one sheet per report (amounts in yuan)")
    s.set_defaults(func=run_report)


# ---------------------------------------------------------------------------- handlers


def _open_existing(db: str | None):
    from sync.server import ProvinceServer
    from sync.server.db import normalise_url

    db = db or _default_db()
    url = normalise_url(db)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise SyncError(f"没有找到服务器数据库：{db}", en=f"no server database at {db}", code="SERVER_DB_MISSING")
    try:
        return ProvinceServer(db)
    except Exception as exc:
        raise SyncError(f"无法打开服务器数据库：{exc}", en=f"cannot open the server database: {exc}",
                        code="SERVER_DB_UNUSABLE") from exc


def _protocol_error(exc) -> SyncError:
    details = " ".join(f"{k}={v}" for k, v in exc.details.items())
    zh = exc.message + (f"（{details}）" if details else "")
    en = exc.en + (f" ({details})" if details else "")
    return SyncError(zh, en=en, code=exc.code)


def _demo_province(zone: str) -> dict:
    """What a server with no province of its own loads (unless --empty): the demo province. Handed to
    the server from here because the server imports nothing of the terminal, demo data included."""
    try:
        from app.demodata import demo_province_from_today
    except ImportError as exc:
        raise SyncError("演示省份数据生成器不可用；请使用 --province FILE 或 --empty",
                        en="the demo province generator (app.demodata) is not available; use --province FILE or --empty",
                        code="PROVINCE_UNAVAILABLE") from exc
    return demo_province_from_today(zone)


def run_serve(args) -> int:
    from sync.protocol import ProtocolError
    from sync.server import runner

    db = args.db or _default_db()
    token = args.admin_token or os.environ.get("KEZHAN_ADMIN_TOKEN")
    generated = token is None
    token = token or runner.new_admin_token()
    if args.province and not Path(args.province).is_file():
        raise SyncError(f"找不到省份数据文件：{args.province}", en=f"no province file {args.province}",
                        code="PROVINCE_MISSING")

    def ready(host, port, tok, loaded, pids):
        shown = f"[{host}]" if ":" in host else host
        print(f"省级服务器已启动 provincial server listening on http://{shown}:{port}", flush=True)
        print(f"  database: {db}", flush=True)
        if len(pids) > 1:
            print(f"  processes: {' '.join(str(p) for p in pids)}", flush=True)
        print(f"  OpenAPI:  http://{shown}:{port}/docs", flush=True)
        if loaded:
            print(f"  province: {loaded['departures']} departures ({loaded['added']} rows added, "
                  f"{loaded['changed']} changed, {loaded['removed']} removed)", flush=True)
        if generated:
            print(f"  admin token (generated): {tok}", flush=True)
        print("  Ctrl-C to stop", flush=True)

    try:
        settings = None
        if args.lease_pool_percent:
            from sync.server import Settings

            settings = Settings(lease_pool_percent=args.lease_pool_percent)
        runner.serve(db, host=args.host, port=args.port, admin_token=token, province=args.province,
                     empty=args.empty, fallback_province=_demo_province, on_ready=ready,
                     upload_workers=args.upload_workers, processes=args.processes, settings=settings)
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    except ValueError as exc:  # a province document that is not one
        raise SyncError(f"省份数据无效：{exc}", en=f"province document not valid: {exc}", code="PROVINCE_INVALID") from exc
    except OSError as exc:
        raise SyncError(f"无法监听 {args.host}:{args.port}：{exc.strerror or exc}",
                        en=f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                        code="SERVER_LISTEN") from exc
    except RuntimeError as exc:  # a server process that could not start
        raise SyncError(f"服务器进程无法启动：{exc}", en=f"a server process could not start: {exc}",
                        code="SERVER_PROCESS") from exc
    except KeyboardInterrupt:
        pass
    print("省级服务器已停止 provincial server stopped", file=sys.stderr, flush=True)
    return 0


def run_issue_code(args) -> int:
    from datetime import timedelta

    from sync.protocol import ProtocolError

    server = _open_existing(args.db)
    try:
        ttl = timedelta(hours=args.ttl_hours) if args.ttl_hours else None
        result = server.issue_code(args.station or _home_station(server), label=args.label, ttl=ttl)
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    finally:
        server.close()
    emit(args, result, f"注册码 enrolment code for {result['station']}: {result['code']}  "
                       f"(expires {result['expires_at']})")
    return 0


def _home_station(server) -> str:
    """The province document's own station (the demo's bus station): a technician trying the demo
    from an installed package has no station code to type yet."""
    from sync.server.province import get_master

    with server.reader() as conn:
        code = get_master(conn, "setting", "home_station")
    if not code:
        raise SyncError("省平台没有省份数据，无法确定车站：请用 --station 指定车站代码",
                        en="the server has no province loaded to take the station from: give --station CODE",
                        code="NO_HOME_STATION")
    return code


def run_revoke(args) -> int:
    from datetime import timedelta

    from sync.protocol import ProtocolError

    server = _open_existing(args.db)
    try:
        drain = timedelta(hours=args.drain) if args.drain else None
        result = server.revoke(args.terminal, drain=drain)
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    finally:
        server.close()
    if result["status"] == "draining":
        emit(args, result, f"终端正在上传最后的记录，之后注销 terminal {result['terminal_id']} may only upload "
                           f"its unsent events, until its outbox is empty or {result['drain_until']}; then revoked")
    else:
        emit(args, result, f"终端已注销 terminal {result['terminal_id']} revoked at {result['revoked_at']}")
    return 0


def run_terminals(args) -> int:
    server = _open_existing(args.db)
    try:
        rows = server.list_terminals()
    finally:
        server.close()
    lines = [f"{r['terminal_id']:<16} {r['status']:<8} events {r['high_water']:<8} last seen {r['last_seen_at'] or '-'}"
             for r in rows]
    emit(args, {"terminals": rows}, "\n".join(lines) or "(no terminals)")
    return 0


def run_export(args) -> int:
    server = _open_existing(args.db)
    try:
        tickets = server.export_tickets(terminal_id=args.terminal, day=args.date, channel=args.channel)
    finally:
        server.close()
    lines = [
        f"{t['ticket_id']:<28} {t['departure_id']:<28} seat {str(t['seat_no'] or '-'):>3} "
        f"{t['status']:<9} {t['price']:>7} {t['channel']}:{t['terminal_id'] or ''}"
        for t in tickets
    ]
    emit(args, {"count": len(tickets), "tickets": tickets}, "\n".join(lines) or "(no tickets)")
    return 0


def run_export_departures(args) -> int:
    server = _open_existing(args.db)
    try:
        rows = server.departures(args.day, station=args.station)
    finally:
        server.close()
    lines = []
    for d in rows:
        bill = d["road_bill"]
        by = " ".join(f"{stop}:{n}" for stop, n in d["checked_by_destination"].items())
        lines.append(f"{d['departure_id']:<28} {d['state']:<8} gate {d['gate'] or '-':<3} {d['plate'] or '-':<10} "
                     f"{d['driver'] or '-':<6} checked {d['checked']:>3} {by}  road bill {bill['number'] if bill else '-'}")
    emit(args, {"date": args.day, "count": len(rows), "departures": rows}, "\n".join(lines) or "(no departures)")
    return 0


REPORT_KINDS = ("station", "carrier", "departures", "reconciliation")


def run_report(args) -> int:
    import json

    from sync.server import report_export

    kinds = REPORT_KINDS if args.kind == "all" else (args.kind,)
    server = _open_existing(args.db)
    try:
        reports = [server.day_report(k, args.day, station=args.station) for k in kinds]
    finally:
        server.close()
    if args.xlsx:
        try:
            report_export.write_xlsx(reports, args.xlsx)
        except OSError as exc:
            raise SyncError(f"无法写入 {args.xlsx}：{exc.strerror or exc}",
                            en=f"cannot write {args.xlsx}: {exc.strerror or exc}", code="REPORT_WRITE") from exc
    if args.json:
        body = reports[0] if len(reports) == 1 else {"reports": reports}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    elif args.csv:
        sys.stdout.write("\n".join(report_export.to_csv(r) for r in reports))
    else:
        print("\n\n".join(_report_text(t) for r in reports for t in report_export.tables(r)))
        if args.xlsx:
            print(f"workbook written: {args.xlsx}")
    return 0


def _report_text(t) -> str:
    """A table for the console: one line per row, ``header: value`` for the non-empty figures."""
    from sync.server.report_export import MONEY, TEXT, _total_row, yuan

    lines = [t.title]
    rows = t.rows + ([_total_row(t)] if t.totals is not None else [])
    for r in rows:
        label = " ".join(str(r.get(c.key)) for c in t.columns if c.kind == TEXT and r.get(c.key))
        figures = "  ".join(f"{c.en.lower()} {yuan(r[c.key]) if c.kind == MONEY else r[c.key]}"
                            for c in t.columns if c.kind != TEXT and r.get(c.key))
        lines.append(f"  {label}: {figures}" if figures else f"  {label}")
    if not t.rows:
        lines.append("  (none)")
    return "\n".join(lines)
