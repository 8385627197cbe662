"""`kezhan db check|backup|restore|migrate`: database maintenance for the technician."""

from __future__ import annotations

from pathlib import Path

from app.commands.output import add_json_flag, emit


def register(sub) -> None:
    parser = sub.add_parser("db", help="check, back up, restore or migrate the terminal database")
    parser.add_argument("--db", type=Path, help="the database file (default: from the config)")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)

    p = actions.add_parser("check", help="integrity, foreign keys, schema version, outbox seq gaps")
    add_json_flag(p)
    p.set_defaults(func=run_check)

    p = actions.add_parser("backup", help="a consistent copy of the live database")
    p.add_argument("dest", nargs="?", type=Path, help="a file or folder (default: the backups folder)")
    add_json_flag(p)
    p.set_defaults(func=run_backup)

    p = actions.add_parser("restore", help="replace the database with a backup (the current file is kept aside)")
    p.add_argument("backup", type=Path)
    add_json_flag(p)
    p.set_defaults(func=run_restore)

    p = actions.add_parser("migrate", help="bring the schema up to date (backs the file up first)")
    add_json_flag(p)
    p.set_defaults(func=run_migrate)


def _db_path(args) -> Path:
    if getattr(args, "db", None):
        return args.db
    from app import config

    return config.load().db_path


def run_check(args) -> int:
    from app.store import maintenance

    report = maintenance.check(_db_path(args))
    lines = [f"{report.path}: schema {report.revision or '-'} (current {report.head})"]
    lines += [f"  ✗ {p}" for p in report.problems] or ["  ✓ integrity ok, foreign keys ok, outbox seq without gaps"]
    lines.append(f"  {report.outbox_events} outbox events")
    emit(args, report.as_dict(), "\n".join(lines))
    return 0 if report.ok else 1


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
