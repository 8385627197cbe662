"""`kezhan setup`: the set-up wizard's scriptable twin, for rolling out many PCs.

    kezhan setup --server URL --code CODE --role window|gate|both [--gates 3,4]
                 [--printer TARGET] [--reader PORT|auto] [--scanner PORT] [--password-env VAR] [--json]

The same steps as the wizard, through the same code (app/setup.py). Run twice, it gives the same
result: an enrolled terminal stays that terminal and the code is not sent again. Each failed step
is one line on stderr and the exit is non-zero; the configuration is saved with what succeeded.
"""

from __future__ import annotations

import os
import sys

from app.commands.output import add_json_flag, emit

EXIT_STEP_FAILED = 4


def register(sub) -> None:
    parser = sub.add_parser("setup", help="set this PC up: role, enrolment, printer, reader (the wizard's twin)")
    parser.add_argument("--server", required=True, metavar="URL", help="the provincial server, e.g. https://sync.example.cn")
    parser.add_argument("--code", default="", metavar="CODE",
                        help="the one-time enrolment code (not needed once this PC is enrolled)")
    parser.add_argument("--role", required=True, choices=("window", "gate", "both"), help="what this PC is")
    parser.add_argument("--gates", default="", metavar="3,4", help="gate numbers of a gate terminal")
    parser.add_argument("--language", choices=("zh_CN", "en"), help="the interface language")
    parser.add_argument("--printer", metavar="TARGET",
                        help="usb:VID:PID, serial:PORT[@BAUD], tcp:HOST[:PORT], win:NAME; prints a test ticket")
    parser.add_argument("--profile", choices=("58mm", "80mm", "preprinted"), help="paper profile")
    parser.add_argument("--no-test-print", action="store_true", help="check the printer target without printing")
    parser.add_argument("--allow-silent", action="store_true",
                        help="keep a printer that prints but never answers a status query")
    parser.add_argument("--reader", metavar="PORT|auto", help="the ID card reader's port, or auto to probe every port")
    parser.add_argument("--scanner", metavar="PORT", help="a serial scanner's port (a keyboard-wedge scanner needs none)")
    parser.add_argument("--password-env", metavar="VAR",
                        help="set the technician account 9901's password from this environment variable")
    parser.add_argument("--label", default="", help="a label for the terminal on the server")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from app.errors import ConfigError
    from app.setup import SetupSession

    session = SetupSession()
    steps = []
    if args.language:
        steps.append(session.set_language(args.language))
    steps.append(session.set_role(args.role, args.gates))
    steps.append(session.enrol(args.server, args.code, label=args.label))
    if args.printer:
        steps.append(session.set_printer(args.printer, profile=args.profile, test=not args.no_test_print,
                                         allow_silent=args.allow_silent))
    if args.reader:
        steps.append(session.probe_reader(args.reader))
    if args.scanner:
        session.config.scanner.port = args.scanner
    if args.password_env:
        password = os.environ.get(args.password_env)
        if password is None:
            raise ConfigError(f"环境变量 {args.password_env} 未设置", en=f"the environment variable {args.password_env} is not set",
                              code="NO_PASSWORD")
        steps.append(session.set_password(password))
    saved = session.save()
    failed = [s for s in steps if not s.ok]
    language = os.environ.get("KEZHAN_LANG") or session.config.terminal.language
    data = {"ok": not failed, "config": str(saved), "steps": [s.to_json() for s in steps],
            "terminal_id": session.config.terminal.id, "station": session.config.station.code}
    text = "\n".join(f"{'ok' if s.ok else 'FAILED'}  {s.step:<8} {s.text(language)}" for s in steps)
    emit(args, data, text + f"\nconfig: {saved}")
    for s in failed:
        print(f"kezhan setup: {s.step}: {s.text(language)}", file=sys.stderr)
    return EXIT_STEP_FAILED if failed else 0
