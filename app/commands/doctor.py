"""`kezhan doctor [--json]`: the technician's first look; non-zero exit when something is wrong."""

from __future__ import annotations

from app.commands.output import add_json_flag, emit

MARK = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}
# What a GBK console (Windows, code page 936) can show.
GBK_MARK = {"ok": "√", "warn": "!", "fail": "×", "skip": "-"}


def marks(stream=None) -> dict[str, str]:
    import sys

    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    try:
        "".join(MARK.values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return GBK_MARK
    return MARK


def checklist_text(results) -> str:
    mark = marks()
    return "\n".join(f"{mark[r.status]} {r.name:<10} {r.detail}" for r in results)


def register(sub) -> None:
    parser = sub.add_parser("doctor", help="check config, database, disk, clock, devices and server link")
    add_json_flag(parser)
    parser.add_argument("--bundle", nargs="?", const="", metavar="DIR",
                        help="also write a diagnostic bundle for support (config, these checks, recent logs; "
                             "ID numbers and passenger names removed) into DIR (default: the data folder's support/)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from app.doctor import FAIL, run_checks

    results = run_checks()
    failed = any(r.status == FAIL for r in results)
    text = checklist_text(results)
    data = {"ok": not failed, "checks": [r.to_json() for r in results]}
    if getattr(args, "bundle", None) is not None:
        from pathlib import Path

        from app.support import export_bundle

        bundle = export_bundle(Path(args.bundle) if args.bundle else None)
        data["bundle"] = str(bundle)
        text += f"\nbundle: {bundle}"
    emit(args, data, text)
    return 1 if failed else 0
