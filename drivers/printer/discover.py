"""What printers this PC can see, as target strings the technician can pick from.

Each source is optional: pyusb without a libusb backend, pywin32 off Windows, or a PC without
serial ports simply adds nothing. A TCP printer cannot be found this way; the technician types
its address (``tcp:HOST[:PORT]``).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

log = logging.getLogger("kezhan.printer")

USB_PRINTER_CLASS = 7


@dataclass(frozen=True)
class Candidate:
    target: str  # what goes into printer.target
    label: str  # what the technician reads
    kind: str  # serial | usb | win


def serial_candidates() -> list[Candidate]:
    try:
        from serial.tools import list_ports
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return []
    out = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        what = port.description if port.description and port.description != "n/a" else ""
        if port.vid is not None and port.pid is not None:
            what = f"{what} [{port.vid:04x}:{port.pid:04x}]".strip()
        out.append(Candidate(f"serial:{port.device}", f"{port.device} {what}".strip(), "serial"))
    return out


def usb_candidates() -> list[Candidate]:
    """USB devices with a printer interface (class 7), by VID:PID, when pyusb finds a backend."""
    try:
        import usb.core
    except ImportError:
        return []
    out = []
    try:
        devices = list(usb.core.find(find_all=True))
    except Exception as exc:  # no libusb backend, no permission: nothing to list
        log.info("USB printers not listed: %s: %s", type(exc).__name__, exc)
        return []
    for dev in devices:
        try:
            printer = dev.bDeviceClass == USB_PRINTER_CLASS or any(
                intf.bInterfaceClass == USB_PRINTER_CLASS for cfg in dev for intf in cfg)
        except Exception:  # a device that cannot be asked (permissions): not listed
            continue
        if printer:
            target = f"usb:0x{dev.idVendor:04x}:0x{dev.idProduct:04x}"
            out.append(Candidate(target, f"USB {dev.idVendor:04x}:{dev.idProduct:04x}", "usb"))
    return out


def windows_candidates() -> list[Candidate]:
    if sys.platform != "win32":
        return []
    try:
        import win32print
    except ImportError:
        return []
    flags = win32print.PRINTER_ENUM_LOCAL | win32print.PRINTER_ENUM_CONNECTIONS
    try:
        printers = win32print.EnumPrinters(flags, None, 1)
    except Exception as exc:  # the spooler service stopped
        log.info("Windows printers not listed: %s", exc)
        return []
    return [Candidate(f"win:{p[2]}", p[2], "win") for p in printers]


def candidates() -> list[Candidate]:
    """Every printer this PC can see: serial ports, USB printers, Windows print queues."""
    return serial_candidates() + usb_candidates() + windows_candidates()
