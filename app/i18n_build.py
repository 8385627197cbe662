"""Compile the Qt Linguist translations (resources/i18n/*.ts) to .qm files beside them.

Run at install (build/dev.sh) and by the PyInstaller build; the .qm files are not committed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from app import paths


def lrelease_command() -> list[str] | None:
    exe = shutil.which("pyside6-lrelease", path=str(Path(sys.executable).parent)) or shutil.which(
        "pyside6-lrelease"
    )
    return [exe] if exe else None


def compile_all() -> list[Path]:
    folder = paths.resources_dir() / "i18n"
    built = []
    command = lrelease_command()
    for ts in sorted(folder.glob("*.ts")) if folder.exists() else []:
        qm = ts.with_suffix(".qm")
        if qm.exists() and qm.stat().st_mtime >= ts.stat().st_mtime:
            continue
        if command is None:
            raise SystemExit("pyside6-lrelease not found: install PySide6-Essentials")
        subprocess.run([*command, "-silent", str(ts), "-qm", str(qm)], check=True)
        built.append(qm)
    return built


if __name__ == "__main__":
    for path in compile_all():
        print(path)
