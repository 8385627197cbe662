"""Barcode/QR scanners: serial (line or gap terminated) and keyboard wedge (told from typing by
timing). Imports nothing of app/. Both deliver :class:`Scan` — a complete code, or a
failure with its reason — and never a guessed code."""

from typing import TYPE_CHECKING

from drivers.lazy_exports import lazy_getattr

# Loaded on first use: the keyboard wedge needs neither the serial scanner nor pyserial.
_WHERE = {
    "PROBLEMS": "drivers.scanner.scan",
    "Scan": "drivers.scanner.scan",
    "LineAssembler": "drivers.scanner.serialport",
    "ScannerError": "drivers.scanner.serialport",
    "SerialScanner": "drivers.scanner.serialport",
    "Typed": "drivers.scanner.wedge",
    "WedgeDetector": "drivers.scanner.wedge",
}


__getattr__ = lazy_getattr(__name__, _WHERE, globals())


if TYPE_CHECKING:
    from .scan import PROBLEMS, Scan
    from .serialport import LineAssembler, ScannerError, SerialScanner
    from .wedge import Typed, WedgeDetector


__all__ = ["PROBLEMS", "LineAssembler", "Scan", "ScannerError", "SerialScanner", "Typed", "WedgeDetector"]
