"""The Windows installer script (build/windows/kezhan.iss) and the app agree, and it compiles.

The compile check runs where an Inno Setup compiler can: ISCC on Windows, or the npm package
`innosetup`'s ISCC.exe under wine (apt: wine, wine32:i386) when it is at
pyi-work/innosetup/node_modules/innosetup/bin/ISCC.exe; elsewhere it is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.running import MUTEX_NAME

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "build" / "windows" / "kezhan.iss"
ISCC = ROOT / "pyi-work" / "innosetup" / "node_modules" / "innosetup" / "bin" / "ISCC.exe"


def _setting(name: str) -> str:
    for line in SCRIPT.read_text(encoding="utf-8-sig").splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} is not set in {SCRIPT}")


def test_setup_recognises_a_running_window_by_the_mutex_the_window_holds():
    assert _setting("AppMutex").split(",") == [MUTEX_NAME, f"Global\\{MUTEX_NAME}"]
    assert _setting("CloseApplications") == "yes"


@pytest.mark.slow
@pytest.mark.skipif(not (sys.platform.startswith("win") and shutil.which("iscc"))
                    and not (shutil.which("wine") and ISCC.is_file()), reason="no Inno Setup compiler here")
def test_the_script_compiles_into_a_setup_program(tmp_path):
    payload = tmp_path / "kezhan"
    (payload / "_internal").mkdir(parents=True)
    for name in ("kezhan.exe", "kezhan-gui.exe", "_internal/base_library.zip"):
        (payload / name).write_bytes(b"stand-in")
    env = {**os.environ, "DISTDIR": str(tmp_path), "WINEPREFIX": str(tmp_path / "wine")}
    done = subprocess.run(["bash", str(ROOT / "build" / "build.sh"), "iss"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    setup = next(tmp_path.glob("kezhan-setup-*.exe"))
    assert setup.read_bytes()[:2] == b"MZ" and setup.stat().st_size > 500_000
