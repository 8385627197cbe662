"""``kezhan printer``: print a test ticket, ask a printer for its status, draw a job as PNG."""

from __future__ import annotations

import logging

from app.commands.output import add_json_flag, emit

log = logging.getLogger("kezhan.printer")

PROFILE_CHOICES = ("58mm", "80mm", "preprinted")
TARGET_HELP = "usb:VID:PID, serial:PORT[@BAUD], tcp:HOST[:PORT], win:PRINTER NAME, file:PATH or dummy (default: the configured printer)"


def register(subparsers) -> None:
    parser = subparsers.add_parser("printer", help="ticket printer: test ticket, status, render a job to PNG")
    sub = parser.add_subparsers(dest="printer_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)

    test = sub.add_parser(
        "test", help="print a test ticket (Chinese text, ￥ price, QR, barcode, cut) and report status"
    )
    test.add_argument("--target", help=TARGET_HELP)
    test.add_argument(
        "--profile", choices=PROFILE_CHOICES, help="paper/printer profile (default: configured, else 80mm)"
    )
    test.add_argument("--qr", choices=("native", "image"), help="override the profile's QR method")
    test.add_argument(
        "--timeout", type=float, default=5.0, help="seconds for connecting and writing (default 5)"
    )
    test.add_argument(
        "--allow-silent",
        action="store_true",
        help="count a printer that never answers status queries as success",
    )
    add_json_flag(test)
    test.set_defaults(func=cmd_test)

    status = sub.add_parser("status", help="ask the printer for its status (DLE EOT); exit 5 unless ready")
    status.add_argument("--target", help=TARGET_HELP)
    status.add_argument("--timeout", type=float, default=5.0, help="seconds for connecting (default 5)")
    add_json_flag(status)
    status.set_defaults(func=cmd_status)

    render = sub.add_parser("render", help="draw ESC/POS bytes as a PNG picture of the paper")
    render.add_argument("file", metavar="FILE.bin", help="the printer bytes")
    render.add_argument("--png", required=True, metavar="OUT.png", help="where to write the picture")
    render.add_argument(
        "--profile", choices=PROFILE_CHOICES, default="80mm", help="paper width (default 80mm)"
    )
    render.add_argument("--width", type=int, help="paper width in dots (overrides --profile)")
    render.set_defaults(func=cmd_render)


def _device_error(exc):
    from app.errors import DeviceError

    return DeviceError(exc.message, en=exc.en, code=f"printer.{exc.code}")


def _target(args) -> str:
    if args.target:
        return args.target
    from app import config
    from app.errors import ConfigError

    target = config.load().printer.target
    if not target:
        raise ConfigError(
            "未配置打印机：请用 --target 指定，例如 --target tcp:192.168.1.50",
            en="no printer configured: give --target, e.g. --target tcp:192.168.1.50",
            code="printer.no_target",
        )
    return target


def _profile(args) -> str:
    if getattr(args, "profile", None):
        return args.profile
    try:
        from app import config

        return config.load().printer.profile or "80mm"
    except Exception:  # a broken config must not stop a test print
        return "80mm"


def cmd_test(args) -> int:
    from app.errors import DeviceError
    from drivers.printer import PrinterError, print_bytes, render_test_ticket

    target = _target(args)
    profile = _profile(args)
    try:
        data = render_test_ticket(profile, qr=args.qr)
        result = print_bytes(target, data, timeout=args.timeout, require_answer=not args.allow_silent)
    except PrinterError as exc:
        raise _device_error(exc) from exc
    log.info("test ticket to %s (%s): %s", target, profile, result.reason)
    info = result.to_dict() | {"profile": profile}
    if args.json:
        emit(args, info)
    if not result.ok:
        raise DeviceError(
            result.reason_zh,
            en=result.reason,
            code="printer.not_ready" if result.confirmed else "printer.no_answer",
        )
    if not args.json:
        status = result.status.message("zh") if result.status else result.reason_zh
        emit(
            args,
            info,
            f"测试票已打印 ({result.bytes_sent} 字节, {profile}) → {result.target}\n打印机状态: {status}",
        )
    return 0


def cmd_status(args) -> int:
    from app.errors import DeviceError
    from drivers.printer import PrinterError, parse_target, query_status

    target = _target(args)
    try:
        t = parse_target(target)
        if not t.can_answer:
            raise DeviceError(
                f"{t.kind} 连接方式无法读取打印机状态",
                en=f"a {t.kind} target cannot report printer status",
                code="printer.no_status_channel",
            )
        status = query_status(t, timeout=args.timeout)
    except PrinterError as exc:
        raise _device_error(exc) from exc
    info = status.to_dict() | {"target": str(t)}
    if args.json:
        emit(args, info)
    if not status.ready:
        raise DeviceError(
            status.message("zh"),
            en=status.message("en"),
            code="printer.no_answer" if not status.answered else "printer.not_ready",
        )
    if not args.json:
        emit(args, info, f"{t}: {status.message('zh')} ({status.message('en')})")
    return 0


def cmd_render(args) -> int:
    from pathlib import Path

    from app.errors import ConfigError
    from drivers.printer import PrinterError, get_profile, render_png

    src = Path(args.file)
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"无法读取文件 {src}：{exc.strerror}",
            en=f"cannot read {src}: {exc.strerror}",
            code="printer.no_file",
        ) from exc
    width = args.width or get_profile(args.profile).width_dots
    try:
        png = render_png(data, width=width)
    except PrinterError as exc:
        raise _device_error(exc) from exc
    try:
        Path(args.png).write_bytes(png)
    except OSError as exc:
        raise ConfigError(
            f"无法写入 {args.png}：{exc.strerror}",
            en=f"cannot write {args.png}: {exc.strerror}",
            code="printer.cannot_write",
        ) from exc
    print(f"{args.png} ({len(png)} bytes, {width} dots wide)")
    return 0
