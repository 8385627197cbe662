"""The child's side of ``app.qtprobe``: open Qt's GUI platform and leave.

Run as ``kezhan gui --probe``; if the platform plugin cannot load, Qt aborts this process, not the
one that asked.
"""

from __future__ import annotations


def probe() -> int:
    from PySide6.QtGui import QGuiApplication

    QGuiApplication([])
    return 0
