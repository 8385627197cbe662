"""Barcode/QR scanners: serial (line or gap terminated) and keyboard wedge (told from typing by
timing). Imports nothing of the project. Both deliver :class:`Scan` — a complete code, or a
failure with its reason — and never a guessed code."""

from .scan import PROBLEMS, Scan
from .serialport import LineAssembler, ScannerError, SerialScanner
from .wedge import Typed, WedgeDetector

__all__ = ["PROBLEMS", "LineAssembler", "Scan", "ScannerError", "SerialScanner", "Typed", "WedgeDetector"]
