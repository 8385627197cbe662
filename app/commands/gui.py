"""`kezhan gui`: the counter window on the configured station."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    parser = sub.add_parser("gui", help="open the counter window on the configured database")
    parser.add_argument("--language", choices=("zh_CN", "en"), help="override terminal.language for this run")
    parser.add_argument("--screens", metavar="DIR",
                        help="save screenshots of the main screens to DIR instead of opening the window")
    parser.add_argument("--setup", action="store_true",
                        help="open the set-up wizard even if this PC is set up (it opens by itself when not)")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args) -> int:
    import os

    from app import config as config_module
    from app import qtprobe

    if args.probe:
        from app.ui.probe import probe

        return probe()
    pending = None
    if not args.screens:
        from app.setup import STEPS, readiness

        pending = readiness()
        if args.setup and not pending:
            pending = list(STEPS)
    if not pending:
        config = config_module.load()
    if pending:
        _require_display(qtprobe)
        from app.ui.app import run_setup

        if not run_setup(pending, language=args.language):
            return 0  # the technician left the wizard; nothing to open yet
        config = config_module.load()
    if args.language:
        config.terminal.language = args.language
    if args.screens:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from app.ui.app import save_screens

        for path in save_screens(args.screens, config.db_path, languages=(config.terminal.language,)):
            print(path)
        return 0
    if not pending:
        _require_display(qtprobe)
    import gc

    # Start-up allocates hundreds of thousands of long-lived objects (modules, classes, Qt wrappers)
    # and no garbage cycles: collecting during it only costs time. The window turns the collector
    # back on once it is shown; the finally covers a start that fails before.
    gc.disable()
    try:
        from app.ui.app import run_gui

        return run_gui(config)
    finally:
        gc.enable()


def _require_display(qtprobe) -> None:
    import os

    from app.errors import ConfigError

    if not qtprobe.has_display() and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        raise ConfigError("没有图形显示：请在桌面环境中运行 kezhan gui（无桌面时用 kezhan setup 设置本机）",
                          en="no display: run kezhan gui on a desktop (without one, set the PC up with kezhan setup)",
                          code="NO_DISPLAY")
    problem = qtprobe.display_problem() if qtprobe.has_display() else None
    if problem:
        raise ConfigError(f"无法打开图形界面：{problem}", en=f"Qt cannot open the display: {problem}",
                          code="NO_DISPLAY")
