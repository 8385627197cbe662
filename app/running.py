"""The sign a running Kezhan window leaves for the Windows installer.

Setup and the uninstaller (build/windows/kezhan.iss, ``AppMutex``) refuse to replace or remove the
program while a window runs, and ask to close it first; they recognise one by a named mutex it
holds for its lifetime. Both the session's and the machine-wide (``Global\\``) names are taken, so a
window in another user's session counts too. Nothing on other systems: the .deb's upgrade asks the
database's lock instead.
"""

from __future__ import annotations

import sys

MUTEX_NAME = "KezhanTerminal"  # also in build/windows/kezhan.iss

_held: list[int] = []


def hold_running_mark() -> None:
    """Take the mutexes (Windows only); the OS drops them when the process ends, however it ends."""
    if not sys.platform.startswith("win") or _held:
        return
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateMutexW.restype = wintypes.HANDLE
    kernel32.CreateMutexW.argtypes = (ctypes.c_void_p, wintypes.BOOL, wintypes.LPCWSTR)
    for name in (MUTEX_NAME, "Global\\" + MUTEX_NAME):
        handle = kernel32.CreateMutexW(None, False, name)
        if handle:
            _held.append(handle)
