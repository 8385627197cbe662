"""Whether Qt can open the display, asked without letting Qt abort us.

When Qt cannot load its platform plugin (an X server without libxcb-cursor0, say) it aborts the
whole process — no exception to catch. So before a window command imports Qt, this module asks the
two questions that decide it, in this process and without Qt: can the X11 platform plugin's library
be loaded (the dynamic loader names the first missing system library, where Qt would abort), and
does the X server accept a connection (libxcb). On Windows and macOS the platform plugin needs nothing
from the system, so there is nothing to ask. Only where neither answer applies (a Wayland session
with the Wayland plugin present, no plugin found) does it start a short-lived ``kezhan gui --probe``
and read its fate; that child's side, which does import Qt, is ``app.ui.probe``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_UNKNOWN = object()


def has_display() -> bool:
    if sys.platform.startswith("win") or sys.platform == "darwin":
        return True
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def self_command() -> list[str]:
    """How to start this program again: the bundle's executable, or this interpreter on the package."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]


def display_problem(timeout: float = 30.0) -> str | None:
    """None when a Qt window can open here; otherwise what stands in the way, in one line."""
    if sys.platform.startswith("win") or sys.platform == "darwin":
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal"):
        return None
    answer = _xcb_problem(platform)
    if answer is not _UNKNOWN:
        return answer
    return _child_problem(timeout)


def plugin_dir() -> Path | None:
    """Qt's plugin folder inside the installed PySide6 (or the bundle's copy), found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins"
    return folder if folder.is_dir() else None


def _xcb_problem(platform: str):
    """The X11 answer (None or the problem), or _UNKNOWN when Qt would not use X11 here."""
    plugins = plugin_dir()
    if plugins is None or not os.environ.get("DISPLAY"):
        return _UNKNOWN
    platforms = plugins / "platforms"
    # With no platform named, Qt picks Wayland in a Wayland session when its plugin is there.
    wayland = os.environ.get("WAYLAND_DISPLAY") and any(platforms.glob("libqwayland*"))
    if platform not in ("xcb", "") or (platform == "" and wayland):
        return _UNKNOWN
    plugin = platforms / "libqxcb.so"
    if not plugin.is_file():
        return _UNKNOWN
    import ctypes

    try:
        # What Qt does first; a missing system library fails here as an OSError naming it.
        ctypes.CDLL(str(plugin), mode=getattr(os, "RTLD_LAZY", 1))
    except OSError as exc:
        return f"Qt's X11 platform plugin cannot load: {exc} (install the missing library's package)"
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError as exc:
        return f"libxcb cannot load: {exc}"
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = (ctypes.c_char_p, ctypes.c_void_p)
    xcb.xcb_connection_has_error.argtypes = (ctypes.c_void_p,)
    xcb.xcb_disconnect.argtypes = (ctypes.c_void_p,)
    connection = xcb.xcb_connect(None, None)
    try:
        failed = xcb.xcb_connection_has_error(connection)
    finally:
        xcb.xcb_disconnect(connection)
    if failed:
        return f"cannot connect to the X display {os.environ.get('DISPLAY')!r}"
    return None


def _child_problem(timeout: float) -> str | None:
    import subprocess

    try:
        result = subprocess.run([*self_command(), "gui", "--probe"], capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"Qt did not start within {timeout:.0f} s"
    if result.returncode == 0:
        return None
    lines = [ln.strip() for ln in (result.stderr or "").splitlines() if ln.strip()]
    hint = next((ln for ln in lines if "needed" in ln or "Could not" in ln), lines[0] if lines else "")
    return hint or f"exit status {result.returncode}"
