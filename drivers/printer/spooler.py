"""What the Windows spooler knows about a ``win:`` printer, without opening a print job.

Opening a spool job to ask a question leaves an empty job in the queue every time; the spooler's
own record (``GetPrinter`` level 2) says offline, paper out, door open or error where the driver
reports it. Off Windows or without pywin32 there is no answer, and the caller shows "status not
available" rather than "offline".
"""

from __future__ import annotations

import sys

from drivers.printer.errors import PrinterError
from drivers.printer.status import PrinterStatus

# winspool.h PRINTER_STATUS_* and PRINTER_ATTRIBUTE_WORK_OFFLINE
STATUS_ERROR = 0x00000002
STATUS_PAPER_JAM = 0x00000008
STATUS_PAPER_OUT = 0x00000010
STATUS_PAPER_PROBLEM = 0x00000040
STATUS_OFFLINE = 0x00000080
STATUS_NOT_AVAILABLE = 0x00001000
STATUS_DOOR_OPEN = 0x00400000
ATTRIBUTE_WORK_OFFLINE = 0x00000400


def available() -> bool:
    if sys.platform != "win32":
        return False
    try:
        import win32print  # noqa: F401
    except ImportError:
        return False
    return True


def status_from_spooler(status: int, attributes: int = 0) -> PrinterStatus:
    """The spooler's flags as a :class:`PrinterStatus` (``raw[0]`` keeps the flags)."""
    return PrinterStatus(
        answered=True,
        offline=bool(status & (STATUS_OFFLINE | STATUS_NOT_AVAILABLE) or attributes & ATTRIBUTE_WORK_OFFLINE),
        cover_open=bool(status & STATUS_DOOR_OPEN),
        paper_out=bool(status & (STATUS_PAPER_OUT | STATUS_PAPER_PROBLEM)),
        recoverable_error=bool(status & (STATUS_ERROR | STATUS_PAPER_JAM)),
        raw={0: status},
    )


def spooler_status(name: str) -> PrinterStatus | None:
    """The queue's status, or None where the spooler cannot be asked (not Windows, no pywin32)."""
    if not available():
        return None
    import win32print

    try:
        handle = win32print.OpenPrinter(name)
        try:
            info = win32print.GetPrinter(handle, 2)
        finally:
            win32print.ClosePrinter(handle)
    except Exception as exc:  # pywintypes.error: no such queue, spooler stopped
        raise PrinterError(f"无法读取打印队列 {name}", en=f"cannot read the Windows print queue {name!r}: {exc}",
                           code="PRINTER_UNREACHABLE") from None
    return status_from_spooler(int(info.get("Status", 0)), int(info.get("Attributes", 0)))
