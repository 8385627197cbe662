"""`kezhan db check|archive|retention|backup|restore|confirm-stock|migrate`: database maintenance for the technician."""

from __future__ import annotations

from pathlib import Path

from app.commands.output import add_json_flag, emit


def register(sub) -> None:
    parser = sub.add_parser("db", help="check, back up, restore or migrate the terminal database")
    parser.add_argument("--db", type=Path, help="the database file (default: from the config)")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)

    p = actions.add_parser("check", help="quick check, schema version, outbox seq gaps (--full: every index, foreign keys)")
    p.add_argument("--full", action="store_true",
                   help="the full integrity_check and foreign_key_check (minutes on a large file)")
    add_json_flag(p)
    p.set_defaults(func=run_check)

    p = actions.add_parser("archive", help="move old rows the server has acknowledged to the monthly archive files")
    p.add_argument("--keep-days", type=int, metavar="N",
                   help="days of departures the live file keeps (default: [database] keep_days, 90)")
    p.add_argument("--no-compact", action="store_true",
                   help="do not rewrite the file afterwards even when much of it is free")
    add_json_flag(p)
    p.set_defaults(func=run_archive)

    p = actions.add_parser("retention", help="show the retention window, or set it in kezhan.toml (--keep-days)")
    p.add_argument("--keep-days", type=int, metavar="N",
                   help="days of departures the live file keeps from now on, saved as [database] keep_days")
    add_json_flag(p)
    p.set_defaults(func=run_retention)

    p = actions.add_parser("backup", help="a consistent copy of the live database")
    p.add_argument("dest", nargs="?", type=Path, help="a file or folder (default: the backups folder)")
    add_json_flag(p)
    p.set_defaults(func=run_backup)

    p = actions.add_parser("restore", help="replace the database with a backup (the current file is kept aside)")
    p.add_argument("backup", type=Path)
    add_json_flag(p)
    p.set_defaults(func=run_restore)

    p = actions.add_parser("confirm-stock", help="after lost sales: the next blank on the clerk's roll, as read off the roll")
    p.add_argument("--clerk", required=True, help="the clerk whose shift is open on this terminal")
    p.add_argument("--next", required=True, dest="next_stock_no", metavar="NUMBER",
                   help="the number printed on the roll's next blank")
    add_json_flag(p)
    p.set_defaults(func=run_confirm_stock)

    p = actions.add_parser("migrate", help="bring the schema up to date (backs the file up first)")
    add_json_flag(p)
    p.set_defaults(func=run_migrate)


def _db_path(args) -> Path:
    if getattr(args, "db", None):
        return args.db
    from app import config

    return config.load().db_path


def _config():
    from app import config

    return config.load()


def run_check(args) -> int:
    from app.services.retention import retention_info
    from app.store import maintenance

    path = _db_path(args)
    report = maintenance.check(path, full=args.full)
    retention = retention_info(path, _config().database.keep_days)
    verdict = ("integrity_check ok, foreign keys ok" if args.full
               else "quick_check ok (kezhan db check --full for every index and the foreign keys)")
    lines = [f"{report.path}: schema {report.revision or '-'} (current {report.head})"]
    lines += [f"  ✗ {p}" for p in report.problems] or [f"  ✓ {verdict}, outbox seq without gaps"]
    lines.append(f"  {report.outbox_events} outbox events"
                 + "".join(f"; {t} through seq {s} archived" for t, s in report.outbox_archived.items()))
    lines.append(f"  retention: {retention.line()}")
    lines.append(f"  checked in {report.seconds:.2f} s ({report.mode})")
    data = report.as_dict()
    data["retention"] = {"keep_days": retention.keep_days, "archive_months": retention.archive_months,
                         "archive_bytes": retention.archive_bytes}
    emit(args, data, "\n".join(lines))
    return 0 if report.ok else 1


def run_archive(args) -> int:
    from datetime import UTC, datetime

    from app.services.retention import archive_old_rows
    from sync.client.client import CURSOR_ACKED

    cfg = _config()
    keep_days = args.keep_days if args.keep_days is not None else cfg.database.keep_days
    report = archive_old_rows(_db_path(args), keep_days=keep_days, zone=cfg.zone, now=datetime.now(UTC),
                              acked_cursor=CURSOR_ACKED, compact=not args.no_compact)
    moved = ", ".join(f"{table} {count}" for table, count in sorted(report.moved.items())) or "nothing"
    lines = [f"kept live: departures from {report.window_first_date} on, rows since {report.window_starts_at} "
             f"({report.keep_days} days)",
             f"moved: {moved}" + (f" -> {', '.join(report.months)}" if report.months else "")]
    if not report.enrolled:
        lines.append("not enrolled: the server has acknowledged nothing, so no sale or event moves")
    elif report.held_by_unacknowledged:
        lines.append(f"{report.held_by_unacknowledged} event(s) not yet acknowledged stay, with what they name")
    lines.append(f"live file {report.live_bytes_before / 1e6:.1f} MB -> {report.live_bytes_after / 1e6:.1f} MB"
                 + (" (compacted)" if report.compacted else "")
                 + f"; archive {report.archive_files} file(s), {report.archive_bytes / 1e6:.1f} MB; "
                 f"{report.seconds:.1f} s")
    emit(args, report.as_dict(), "\n".join(lines))
    return 0


def run_retention(args) -> int:
    """The technician's view of the window, and the one place that changes it: the value is checked
    like the config's own before it is written, so a bad one never reaches kezhan.toml."""
    from app import config as config_module
    from app.domain.retention import MAX_KEEP_DAYS, MIN_KEEP_DAYS, keep_days_problem
    from app.errors import ConfigError
    from app.services.retention import retention_info

    cfg = _config()
    saved = None
    if args.keep_days is not None:
        problem = keep_days_problem(args.keep_days)
        if problem:
            raise ConfigError(f"保留天数不可用（{MIN_KEEP_DAYS}..{MAX_KEEP_DAYS} 天）：{args.keep_days}",
                              en=f"--keep-days {problem}", code="BAD_KEEP_DAYS")
        cfg.database.keep_days = args.keep_days
        saved = config_module.save(cfg)
    info = retention_info(_db_path(args), cfg.database.keep_days)
    text = f"retention: {info.line()}" + (f"\nsaved to {saved}; the next archive run keeps it" if saved else "")
    emit(args, {"keep_days": info.keep_days, "archive_months": info.archive_months,
                "archive_bytes": info.archive_bytes, "saved_to": str(saved) if saved else None}, text)
    return 0


def run_backup(args) -> int:
    from app.store import maintenance

    target = maintenance.backup(_db_path(args), args.dest)
    emit(args, {"backup": str(target)}, f"backed up to {target}")
    return 0


def run_restore(args) -> int:
    from app.store import maintenance

    result = maintenance.restore(args.backup, _db_path(args))
    result["sync_check"] = _hold_until_synced(Path(result["restored"]))
    text = f"restored {result['restored']} from {result['from']}"
    if result.get("kept_aside"):
        text += f"; the previous file is kept as {result['kept_aside']}"
    if result["sync_check"]:
        text += ("\nthis terminal sells again once it has checked its numbers with the provincial server "
                 "(the sync alarm RESTORED clears by itself; kezhan sync --status)")
    emit(args, result, text)
    return 0


def _hold_until_synced(path: Path) -> bool:
    """The RESTORED sync alarm in an enrolled file: an older copy may reuse numbers the server holds."""
    import sqlite3
    from datetime import UTC, datetime

    from app.services.context import mark_restored

    conn = sqlite3.connect(path)
    try:
        with conn:
            return mark_restored(conn.cursor(), datetime.now(UTC))
    finally:
        conn.close()


def run_confirm_stock(args) -> int:
    from datetime import UTC, datetime

    from app.services.recovery import confirm_next_stock_no
    from app.services.station import open_station
    from sync.client.identity import make_terminal

    db = open_station(_db_path(args))
    try:
        number = confirm_next_stock_no(db, make_terminal(db), clerk=args.clerk, stock_no=args.next_stock_no,
                                       now=datetime.now(UTC))
    finally:
        db.dispose()
    emit(args, {"next_stock_no": number}, f"the next ticket prints on stock number {number}")
    return 0


def run_migrate(args) -> int:
    from app.store.engine import migrate

    result = migrate(_db_path(args))
    if result["from"] == result["to"]:
        text = f"already at schema {result['to']}"
    else:
        text = f"migrated {result['from'] or 'new file'} -> {result['to']}"
        if result["backup"]:
            text += f" (backup: {result['backup']})"
    emit(args, result, text)
    return 0
