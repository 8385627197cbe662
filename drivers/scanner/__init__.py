"""Barcode/QR scanners: serial (line or gap terminated) and keyboard wedge (told from typing by
timing). Imports nothing of the project. Both deliver :class:`Scan` — a complete code, or a
failure with its reason — and never a guessed code."""

import importlib
from typing import TYPE_CHECKING

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


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .scan import PROBLEMS, Scan
    from .serialport import LineAssembler, ScannerError, SerialScanner
    from .wedge import Typed, WedgeDetector


__all__ = ["PROBLEMS", "LineAssembler", "Scan", "ScannerError", "SerialScanner", "Typed", "WedgeDetector"]
