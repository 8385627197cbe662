"""`kezhan demo`: the demo station. With a display, the counter window on the demo province with
simulated devices and the embedded provincial server; without one (or with --headless), the
scripted demo day, written to --out."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("demo", help="the demo station: demo province, simulators, embedded server")
    parser.add_argument("--headless", action="store_true", help="run the scripted demo day instead of the window")
    parser.add_argument("--out", type=Path, help="where the headless day writes (default: ./demo-out)")
    parser.add_argument("--home", type=Path, help="the demo station's folder (default: demo/ in the data directory, "
                                                   "or DIR/station with --out)")
    parser.add_argument("--no-screens", action="store_true", help="headless: skip the screenshots")
    parser.set_defaults(func=run)


def run(args) -> int:
    from app import demo, paths, qtprobe

    headless = args.headless or not qtprobe.has_display()
    if headless and not args.headless:
        print("no display: running the scripted demo day (kezhan demo --headless)")
    if not headless:
        problem = qtprobe.display_problem()
        if problem:
            print(f"Qt cannot open the display ({problem}): running the scripted demo day instead")
            headless = True
    out = (args.out or Path("demo-out")).resolve()
    home = args.home or (out / "station" if headless else paths.data_dir() / "demo")
    print(f"starting the demo station in {home} …", flush=True)
    station = demo.start_station(home)
    try:
        print(f"  provincial server  {station.server.url}  (admin token in {home / 'admin-token'})")
        print(f"  printer simulator  {station.printer.target}  (jobs rendered to {home / 'printer'})")
        print(f"  ID card reader     {station.reader_port or 'none'}")
        control = getattr(station.reader, "control_port", None)
        if control and not headless:
            print(f"    a passenger taps a card: Ctrl+Shift+F11 in the window, "
                  f"or kezhan sim idcard-ctl --port {control} place [resident|hmt|foreign2017|foreign2023]")
        print(f"  terminal           {station.terminal.terminal_id}, database {station.config.db_path}")
        print("  sign in as clerk 1001 / 1234 (supervisor 9001 / 9001)")
        if not headless:
            print("  or as gate checker 2001 / 1234: the gate view at gate 1 "
                  "(Ctrl+Shift+F10 scans the next passenger's ticket, Ctrl+Shift+F11 taps a card)")
        if headless:
            return _headless(demo, station, out, screens=not args.no_screens)
        from app.ui.app import DemoDevices, run_gui

        return run_gui(station.config, demo=DemoDevices(printer_target=station.printer.target,
                                                        reader_port=station.reader_port,
                                                        terminal=station.terminal,
                                                        extra={"station": station}))
    finally:
        station.stop()


def _headless(demo, station, out: Path, *, screens: bool) -> int:
    summary = demo.run_scripted_day(station, out, screenshots=_save_screens if screens else None)
    for step in summary["steps"]:
        details = ", ".join(f"{k}={v}" for k, v in step.items() if k != "step")
        print(f"  ✓ {step['step']}: {details}")
    print(f"tickets printed: {len(summary['tickets_printed'])} (ESC/POS and PNG previews in {out / 'tickets'})")
    if summary["screens"]:
        print(f"screenshots: {len(summary['screens'])} in {out / 'screens'}")
    print(f"on the provincial server: {summary['server_tickets']} tickets of this terminal; "
          f"pending events: {summary['pending_events']}")
    print(f"summary: {out / 'summary.json'}")
    return 0


def _save_screens(station, folder: Path) -> list[Path]:
    """The demo day's screenshot hook: the main screens, offscreen; none (with a log line) where Qt
    cannot start. Only the commands start the UI, so the demo itself never imports it."""
    import logging
    import os

    from app import demo

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from app.ui.app import route_qt_messages, save_screens
    except ImportError as exc:
        logging.getLogger("kezhan.demo").warning("no screenshots: %s", exc)
        return []
    route_qt_messages()  # the offscreen platform's chatter goes to the log, not the newcomer's console
    return save_screens(folder, station.db, terminal=station.terminal, clerk=demo.CLERK,
                        password=demo.CLERK_PASSWORD)
