"""The ``kezhan`` command.

Each sub-command lives in ``app/commands/<name>.py`` with a ``register(subparsers)`` function;
those modules import their heavy dependencies inside the handlers so ``kezhan --version`` and
``kezhan --help`` stay instant. A :class:`KezhanError` becomes one line on stderr and its exit
code; anything else is logged with its traceback and reported as one line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from app import __version__
from app.domain.errors import DEFAULT_LANGUAGE
from app.errors import KezhanError

# Order is the order of `kezhan --help`.
COMMAND_MODULES = [
    "demo",
    "gui",
    "setup",
    "doctor",
    "users",
    "db",
    "bench",
    "idcard",
    "printer",
    "sim",
    "server",
    "sync",
    "simulate",
    "export",
    "gate",
]

log = logging.getLogger("kezhan.cli")

# What the release bundle leaves out with the reference server (build/pyi_lean.py), which its
# optional demo server part carries: the web stack, and pypinyin for the demo province's initials.
SERVER_PACKAGES = ("fastapi", "uvicorn", "starlette", "anyio", "pypinyin")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kezhan", description="客站 Kezhan — ticket window and boarding gate terminal"
    )
    parser.add_argument("--version", action="version", version=f"kezhan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to the console too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"app.commands.{name}":
                continue  # a command not built yet
            raise
        module.register(sub)
    return parser


def _language() -> str:
    """The language an error is printed in: ``KEZHAN_LANG``, else the terminal's configured
    language, else Chinese. A broken config is reported by the command that needs it, not here."""
    import os

    from app import config

    language = os.environ.get("KEZHAN_LANG")
    if not language:
        try:
            language = config.load().terminal.language
        except KezhanError:
            return DEFAULT_LANGUAGE
    return language


def _tolerant_console() -> None:
    """A Windows console may be GBK (code page 936): a character it cannot show becomes "?" rather
    than an exception that turns a finished command into exit 70."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # a detached or closed stream: nothing to print to anyway
                pass


def _missing_server_part(exc: BaseException) -> bool:
    """The installed terminal leaves the reference server out; the demo needs its optional part."""
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ModuleNotFoundError) and (
        name.split(".")[0] in SERVER_PACKAGES or name.startswith("sync.server"))


def main(argv: list[str] | None = None) -> int:
    _tolerant_console()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from app import logsetup

    logsetup.configure(verbose=args.verbose)
    try:
        result = args.func(args)
    except KezhanError as exc:
        print(f"kezhan: {exc.text(_language())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kezhan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: keep the traceback in the log, one line for the user
        if _missing_server_part(exc):
            print("kezhan: 此功能需要可选组件“演示省平台”（kezhan-demo-server），本机未安装"
                  if _language().startswith("zh") else
                  "kezhan: this needs the optional demo server part (kezhan-demo-server), which is not installed",
                  file=sys.stderr)
            return 69
        log.exception("unexpected error in %s", args.command)
        print(
            f"kezhan: internal error: {type(exc).__name__}: {exc} (details in {logsetup.log_file()})",
            file=sys.stderr,
        )
        return 70
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
