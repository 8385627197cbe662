"""`kezhan users list|unlock CODE`: the accounts of this terminal, and unlocking one after five
wrong passwords (the technician menu at the window does the same)."""

from __future__ import annotations

from app.commands.output import add_json_flag, emit


def register(sub) -> None:
    parser = sub.add_parser("users", help="list the accounts, unlock a locked one")
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    listing = actions.add_parser("list", help="the accounts of this terminal")
    add_json_flag(listing)
    listing.set_defaults(func=run_list)
    unlock = actions.add_parser("unlock", help="unlock an account locked after five wrong passwords")
    unlock.add_argument("code", metavar="CODE", help="the user code, e.g. 1001")
    add_json_flag(unlock)
    unlock.set_defaults(func=run_unlock)


def _open():
    from app import config
    from app.errors import StorageError
    from app.services.station import open_station

    path = config.load().db_path
    if not path.exists():
        raise StorageError(f"数据库文件不存在：{path}（请先运行 kezhan setup 或 kezhan gui 完成设置）",
                           en=f"no database at {path} (set the terminal up first: kezhan setup or kezhan gui)",
                           code="NO_DATABASE")
    return open_station(path)


def run_list(args) -> int:
    from app.services.auth import users

    db = _open()
    try:
        rows = users(db)
    finally:
        db.engine.dispose()
    data = [{"code": r.code, "name": r.name, "role": r.role, "locked": r.locked, "active": r.active} for r in rows]
    text = "\n".join(f"{r.code:<6} {r.role:<11} {'locked' if r.locked else 'ok':<7} {r.name}" for r in rows)
    emit(args, data, text or "no accounts")
    return 0


class _Console:
    """Who the audit log names as the terminal when the command runs before enrolment."""

    terminal_id = "console"


def run_unlock(args) -> int:
    from datetime import UTC, datetime

    from app.services.auth import unlock
    from sync.client.identity import load_identity

    db = _open()
    try:
        ident = load_identity(db)
        terminal = ident if ident is not None else _Console()
        was_locked = unlock(db, terminal, technician="console", code=args.code, now=datetime.now(UTC))
    finally:
        db.engine.dispose()
    emit(args, {"code": args.code, "was_locked": was_locked},
         f"{args.code}: unlocked" if was_locked else f"{args.code}: was not locked (failed tries reset)")
    return 0
