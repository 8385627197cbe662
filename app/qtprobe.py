"""Whether Qt can open the display, asked of a child process.

When Qt cannot load its platform plugin (an X server without libxcb-cursor0, say) it aborts the
whole process — no exception to catch. So the window commands first start a short-lived
``kezhan gui --probe`` and read its fate: a clear line for the technician instead of a core dump.
The child's side, which does import Qt, is ``app.ui.probe``; this side never does.
"""

from __future__ import annotations

import os
import subprocess
import sys


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
    """None when a Qt window can open here; otherwise what Qt said, in one line."""
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
