"""A guard against a PySide6 release that drops a reference to ``None`` on every call of a method
returning nothing (seen with PySide6 6.12.0 on Python 3.11; 6.11.x is fine, and from Python 3.12 on
``None`` is immortal so it cannot happen).

Left alone, ``None``'s reference count reaches zero after a few thousand such calls and the process
aborts ("Fatal Python error: none_dealloc") — a counter window would die mid-shift, and any process
dies at exit. The guard measures whether the running PySide6 has the fault and, only then, does what
Python 3.12 does for every process: it makes ``None`` immortal by giving it a reference count no
program can exhaust. References held by no object cannot be released at interpreter exit, which is
what a reserve of real references (a list of Nones) would do, crashing the exit instead.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger("kezhan.ui.refguard")

# 2**40 lost references: at a million void calls a second, thirteen days of nothing but.
IMMORTAL = 1 << 40

_faulty: bool | None = None
_applied = False


def leaks_none() -> bool:
    """Whether void calls into Qt lose a reference to None in this process (measured once)."""
    global _faulty
    if _faulty is None:
        if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
            _faulty = False
        else:
            from PySide6.QtCore import QObject

            probe = QObject()
            before = sys.getrefcount(None)
            for _ in range(50):
                probe.setObjectName("probe")
            _faulty = sys.getrefcount(None) < before - 25
    return _faulty


def install(app=None) -> None:
    """Apply the guard once per process when the running PySide6 needs it."""
    global _applied
    if _applied or not leaks_none():
        return
    # CPython < 3.12: ob_refcnt is the object's first field (Py_ssize_t).
    ctypes.c_ssize_t.from_address(id(None)).value += IMMORTAL
    _applied = True
    log.info("this PySide6 loses references to None on void calls; None made immortal as in Python 3.12")
