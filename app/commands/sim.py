"""``kezhan sim``: device simulators for tests, the demo and technicians' training.

Each simulator adds its own sub-command: ``add_printer_sim`` (the 9100 printer) and
``add_idcard_sim`` (the ID card reader, filled in by the reader's owner).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager


def register(subparsers) -> None:
    parser = subparsers.add_parser("sim", help="device simulators: printer, ID card reader")
    sub = parser.add_subparsers(dest="sim_command", metavar="DEVICE")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    add_printer_sim(sub)
    add_idcard_sim(sub)


@contextmanager
def _serving(sim):
    """Run a simulator until Ctrl-C (or whatever else ends the block), then stop it cleanly."""
    try:
        yield
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        sim.stop()


def _idle() -> None:
    while True:
        time.sleep(0.5)


# --- printer ---------------------------------------------------------------------------------


def add_printer_sim(sub) -> None:
    p = sub.add_parser("printer", help="a network ESC/POS printer (port 9100) that saves each job as PNG")
    p.add_argument("--port", type=int, default=9100, help="TCP port (0: any free port; default 9100)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for job-NNNN.bin/.png")
    p.add_argument(
        "--profile", choices=("58mm", "80mm", "preprinted"), default="80mm", help="paper width to draw"
    )
    p.add_argument(
        "--state",
        default="ready",
        help="starting condition(s), comma separated: ready, paper_out, paper_near_end, "
        "cover_open, offline, cutter_error, silent",
    )
    p.set_defaults(func=cmd_printer_sim)


def cmd_printer_sim(args) -> int:
    import signal

    from app.errors import ConfigError, DeviceError
    from drivers.printer import PrinterError, PrinterSimulator, get_profile

    states = [s.strip() for s in args.state.split(",") if s.strip()]

    def report(job) -> None:
        what = (
            str(job.png_path)
            if job.png_path
            else ("held: printer not ready" if not job.printed else f"not drawn: {job.error}")
        )
        print(f"job {job.number}: {len(job.data)} bytes → {what}", flush=True)

    sim = PrinterSimulator(
        args.out, host=args.host, port=args.port, width=get_profile(args.profile).width_dots, on_job=report
    )
    try:
        sim.set_condition(*states)
    except ValueError as exc:
        raise ConfigError(f"未知的打印机状态：{args.state}", en=str(exc), code="sim.bad_state") from exc
    try:
        sim.start()
    except PrinterError as exc:
        raise DeviceError(exc.message, en=exc.en, code=f"sim.{exc.code}") from exc
    print(f"printer simulator listening on {sim.target}", flush=True)
    print(
        f"jobs → {sim.out_dir}; conditions: write them to {sim.state_file} "
        "(paper_out, paper_near_end, cover_open, offline, cutter_error, silent, ready); Ctrl-C stops",
        flush=True,
    )

    def stop_on_term(_signo, _frame):
        raise KeyboardInterrupt

    # A supervisor (or a test) stops us with SIGTERM; shut down as cleanly as on Ctrl-C.
    signal.signal(signal.SIGTERM, stop_on_term)
    with _serving(sim):
        _idle()
    return 0


# --- ID card reader --------------------------------------------------------------------------


def add_idcard_sim(sub) -> None:
    """``kezhan sim idcard``: the pty ID card reader simulator (owned by the reader's engineer)."""
    p = sub.add_parser("idcard", help="an ID card reader (SAM protocol) on a pseudo-terminal or a TCP port")
    p.add_argument(
        "--card",
        default="resident",
        metavar="CARD",
        help="resident, hmt, foreign2017, foreign2023, none, or FILE.json (default resident)",
    )
    p.add_argument(
        "--tcp",
        type=int,
        metavar="PORT",
        help="serve on 127.0.0.1:PORT (0: any free port) instead of a pseudo-terminal; works on any OS",
    )
    p.add_argument(
        "--baud", type=int, default=115200, help="the rate the simulated module is set to (pty only)"
    )
    p.add_argument(
        "--control",
        type=int,
        metavar="PORT",
        help="also take commands on 127.0.0.1:PORT (0: any free port), for `kezhan sim idcard-ctl`",
    )

    def run(args) -> int:
        import json
        import os

        from app.errors import ConfigError, DeviceError
        from drivers.idcard.simulator import ReaderSimulator, load_card

        def card_spec(name: str):
            try:
                return load_card(name)
            except (ValueError, OSError, json.JSONDecodeError) as exc:
                raise ConfigError(
                    f"无法载入模拟证件：{name}", en=f"cannot load card “{name}”: {exc}", code="sim.bad_card"
                ) from exc

        if args.tcp is None and os.name != "posix":
            raise ConfigError(
                "此系统没有伪终端，请加 --tcp 端口号",
                en="no pseudo-terminals here: use --tcp PORT",
                code="sim.no_pty",
            )
        sim = ReaderSimulator(
            None if args.card == "none" else card_spec(args.card), baud=args.baud, tcp_port=args.tcp
        )
        try:
            url = sim.start()
        except OSError as exc:
            raise DeviceError(
                "无法启动读卡器模拟器",
                en=f"cannot start the reader simulator: {exc}",
                code="sim.idcard_start",
            ) from exc
        control = None
        if args.control is not None:
            try:
                control = sim.serve_control(args.control)
            except OSError as exc:
                sim.stop()
                raise DeviceError(
                    f"无法打开读卡器模拟器的控制端口 {args.control}",
                    en=f"cannot open the control port {args.control}: {exc}",
                    code="sim.idcard_control",
                ) from exc
        # The path first and alone on its line: scripts and tests read it from there.
        print(url, flush=True)
        if control is not None:
            print(f"control port 127.0.0.1:{control} (kezhan sim idcard-ctl --port {control} place|lift|…)",
                  file=sys.stderr, flush=True)
        print(
            "commands: place [resident|hmt|foreign2017|foreign2023|FILE.json] · lift · silent · speak · status · "
            "quit (Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        with _serving(sim):
            for line in sys.stdin:
                words = line.split()
                if not words:
                    continue
                if words[0] in ("quit", "exit"):
                    return 0
                if words[0] == "place" and len(words) == 1:
                    words.append(args.card if args.card != "none" else "resident")
                print(sim.command(" ".join(words)), file=sys.stderr, flush=True)
            _idle()  # stdin closed (run in the background): serve until interrupted
        return 0

    p.set_defaults(func=run)

    c = sub.add_parser(
        "idcard-ctl", help="place or lift a card on a running ID card reader simulator (its control port)"
    )
    c.add_argument("--port", type=int, required=True, help="the simulator's control port (127.0.0.1)")
    c.add_argument(
        "words",
        nargs="+",
        metavar="COMMAND",
        help="place [resident|hmt|foreign2017|foreign2023|FILE.json] · lift · silent · speak · status",
    )

    def control(args) -> int:
        from app.errors import DeviceError
        from drivers.idcard.simulator import send_command

        line = " ".join(args.words)
        if args.words[0] == "place" and len(args.words) > 1 and os.path.isfile(line[len("place "):]):
            # A file named here is read by the simulator, which may run in another folder.
            line = "place " + os.path.abspath(line[len("place "):])
        try:
            answer = send_command(args.port, line)
        except OSError as exc:
            raise DeviceError(
                f"读卡器模拟器的控制端口 {args.port} 没有应答",
                en=f"no reader simulator answers on control port {args.port}: {exc}",
                code="sim.idcard_control",
            ) from exc
        print(answer)
        return 0 if answer.startswith("ok") else 1

    c.set_defaults(func=control)
