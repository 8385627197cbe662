"""``kezhan idcard``: list serial ports, read an ID card from a SAM reader."""

from __future__ import annotations

import logging

from app.commands.output import add_json_flag, emit

log = logging.getLogger("kezhan.idcard")


def register(subparsers) -> None:
    parser = subparsers.add_parser("idcard", help="ID card reader: list ports, read a card")
    sub = parser.add_subparsers(dest="idcard_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)

    ports = sub.add_parser("ports", help="serial ports with their descriptions")
    add_json_flag(ports)
    ports.set_defaults(func=cmd_ports)

    read = sub.add_parser("read", help="wait for a card on the reader and print it")
    read.add_argument("--port", required=True, help="COM3, /dev/ttyUSB0, /dev/pts/N or socket://HOST:PORT")
    read.add_argument("--baud", default="auto", type=_baud, help="auto (probe) or a rate such as 115200")
    read.add_argument("--timeout", default=10.0, type=float, help="seconds to wait for a card (default 10)")
    read.add_argument("--fingerprint", action="store_true", help="also read the fingerprint data (30 10)")
    add_json_flag(read)
    read.set_defaults(func=cmd_read)


def _baud(value: str):
    if value == "auto":
        return value
    try:
        rate = int(value)
    except ValueError:
        rate = 0
    if rate <= 0:
        import argparse

        raise argparse.ArgumentTypeError("auto or a positive number such as 115200")
    return rate


def cmd_ports(args) -> int:
    from serial.tools import list_ports

    ports = [
        {
            "device": p.device,
            "description": p.description if p.description and p.description != "n/a" else "",
            "hwid": p.hwid if p.hwid and p.hwid != "n/a" else "",
            "vid": f"{p.vid:04X}" if p.vid is not None else "",
            "pid": f"{p.pid:04X}" if p.pid is not None else "",
        }
        for p in sorted(list_ports.comports(), key=lambda p: p.device)
    ]
    if not ports:
        text = "没有找到串口 (no serial ports found)"
    else:
        width = max(len(p["device"]) for p in ports)
        text = "\n".join(f"{p['device']:<{width}}  {p['description']}  {p['hwid']}".rstrip() for p in ports)
    emit(args, ports, text)
    return 0


def cmd_read(args) -> int:
    from app.errors import DeviceError
    from drivers.idcard import Reader, ReaderError

    try:
        with Reader(args.port, args.baud) as reader:
            card = reader.read_card(args.timeout, fingerprint=args.fingerprint)
    except ReaderError as exc:
        raise DeviceError(exc.message, en=exc.en, code=f"idcard.{exc.code}") from exc
    # The number is printed because the operator asked for this card; it is never logged.
    log.info("ID card read on %s: %s", args.port, card.card_type)
    data = card.to_json()
    emit(args, data, _text(data))
    return 0


_LABELS = [
    ("card_type", "证件类型"), ("name", "姓名"), ("name_en", "英文姓名"), ("sex", "性别"), ("nation", "民族"),
    ("nationality", "国籍"), ("birth_date", "出生日期"), ("address", "住址"), ("id_number", "证件号码"),
    ("authority", "签发机关"), ("valid_from", "有效期起"), ("valid_to", "有效期止"), ("pass_number", "通行证号码"),
    ("issue_count", "签发次数"), ("renewals", "换证次数"), ("number_valid", "号码校验"),
]  # fmt: skip


def _text(data: dict) -> str:
    lines = []
    for key, label in _LABELS:
        if key not in data or data[key] in ("", None):
            continue
        value = data[key]
        if key == "number_valid":
            value = "通过" if value else "不通过"
        lines.append(f"{label}: {value}")
    return "\n".join(lines)
