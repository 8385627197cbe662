"""Printer target strings: one spelling for every transport, shared by config, CLI and UI.

=======================  =========================================================
``usb:VID:PID``          USB printer class device; ids in hex (``usb:0x0416:0x5011`` or ``usb:0416:5011``)
``serial:PORT[@BAUD]``   ``serial:COM3``, ``serial:/dev/ttyUSB0@19200`` (9600 by default)
``tcp:HOST[:PORT]``      network printer, raw port 9100 by default; IPv6 as ``tcp:[::1]:9100``
``win:PRINTER NAME``     Windows spooler queue, sent as RAW (``win:XP-80C``)
``file:PATH``            a device node or a plain file (``file:/dev/usb/lp0``, ``file:out.bin``)
``dummy``                keeps the bytes in memory (tests, dry runs)
=======================  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.printer.errors import TargetError

DEFAULT_TCP_PORT = 9100
DEFAULT_BAUD = 9600
KINDS = ("usb", "serial", "tcp", "win", "file", "dummy")


@dataclass(frozen=True)
class Target:
    kind: str
    host: str = ""
    port: int = 0
    vendor_id: int = 0
    product_id: int = 0
    device: str = ""  # serial port, file path or Windows printer name
    baudrate: int = 0

    def __str__(self) -> str:
        if self.kind == "usb":
            return f"usb:0x{self.vendor_id:04x}:0x{self.product_id:04x}"
        if self.kind == "serial":
            return f"serial:{self.device}@{self.baudrate}"
        if self.kind == "tcp":
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"tcp:{host}:{self.port}"
        if self.kind in ("win", "file"):
            return f"{self.kind}:{self.device}"
        return self.kind

    @property
    def can_answer(self) -> bool:
        """Whether the transport has a back channel for DLE EOT status replies."""
        return self.kind in ("usb", "serial", "tcp")


def _bad(text: str, why_en: str, why_zh: str) -> TargetError:
    return TargetError(
        f"打印机地址「{text}」无效：{why_zh}",
        en=f"bad printer target “{text}”: {why_en}. Use usb:VID:PID, serial:PORT[@BAUD], "
        "tcp:HOST[:PORT], win:PRINTER NAME, file:PATH or dummy",
    )


def _hex_id(text: str, part: str) -> int:
    p = part.strip().lower()
    if p.startswith("0x"):
        p = p[2:]
    if not p or len(p) > 4 or any(c not in "0123456789abcdef" for c in p):
        raise _bad(text, f"“{part}” is not a 16-bit hex USB id", f"「{part}」不是十六进制 USB 编号")
    return int(p, 16)


def parse_target(text: str) -> Target:
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text), "empty", "为空")
    raw = text.strip()
    if raw.lower() == "dummy":
        return Target("dummy")
    kind, sep, rest = raw.partition(":")
    kind = kind.lower()
    if not sep or kind not in KINDS:
        raise _bad(raw, f"unknown kind “{kind}”", f"未知类型「{kind}」")
    if kind == "dummy":
        raise _bad(raw, "dummy takes no argument", "dummy 不带参数")
    if not rest.strip():
        raise _bad(raw, "nothing after the colon", "冒号后缺少内容")
    if kind == "usb":
        parts = rest.split(":")
        if len(parts) != 2:
            raise _bad(raw, "expected usb:VID:PID", "应为 usb:厂商号:产品号")
        return Target("usb", vendor_id=_hex_id(raw, parts[0]), product_id=_hex_id(raw, parts[1]))
    if kind == "serial":
        port, at, baud = rest.rpartition("@") if "@" in rest else (rest, "", "")
        port = port.strip()
        if not port:
            raise _bad(raw, "no serial port", "缺少串口名")
        rate = DEFAULT_BAUD
        if at:
            if not baud.isdigit() or not 300 <= int(baud) <= 4_000_000:
                raise _bad(
                    raw,
                    f"baud rate “{baud}” is not a number between 300 and 4000000",
                    f"波特率「{baud}」无效",
                )
            rate = int(baud)
        return Target("serial", device=port, baudrate=rate)
    if kind == "tcp":
        rest = rest.strip()
        if rest.startswith("["):
            host, close, tail = rest[1:].partition("]")
            if not close or (tail and not tail.startswith(":")):
                raise _bad(
                    raw, "bad IPv6 address, write tcp:[ADDR]:PORT", "IPv6 地址格式应为 tcp:[地址]:端口"
                )
            port_text = tail[1:] if tail else ""
        elif rest.count(":") > 1:
            raise _bad(raw, "an IPv6 address needs brackets: tcp:[ADDR]:PORT", "IPv6 地址需加方括号")
        else:
            host, _, port_text = rest.partition(":")
        if not host:
            raise _bad(raw, "no host", "缺少主机名")
        if any(c.isspace() for c in host):
            raise _bad(raw, "spaces in host name", "主机名含空格")
        port = DEFAULT_TCP_PORT
        if port_text:
            if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
                raise _bad(raw, f"port “{port_text}” is not 1..65535", f"端口「{port_text}」无效")
            port = int(port_text)
        return Target("tcp", host=host, port=port)
    # win: spooler names may hold spaces and colons; file: paths may be Windows drive paths.
    return Target(kind, device=rest.strip() if kind == "win" else rest)
