"""The diagnostic bundle a technician sends to support: config, doctor JSON, recent logs, scrubbed.

Logs are not supposed to carry an ID number or a passenger's name, but a bundle leaves the station,
so it does not rely on that: every 18- and 15-digit resident ID number (by shape), every document
number and passenger name the terminal's file knows, and HK/Macau/Taiwan permit numbers are
replaced before anything is written into the zip.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from app import paths

RECENT_LOG_FILES = 4  # kezhan.log and its three newest rotations
ID_MARK = "[ID]"
NAME_MARK = "[NAME]"

# A resident ID (18 with its check character, or the old 15 digits) not inside a longer number:
# a ticket id or a timestamp run on and are left alone.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
# HK/Macau permits (H/M + 8 or 10 digits), Taiwan compatriot permits (8 digits after a letter or two).
_PERMIT = re.compile(r"(?<![0-9A-Za-z])[HMhm]\d{8}(?:\d{2})?(?![0-9A-Za-z])")


class Scrubber:
    """Replaces ID numbers (by shape and the ones the file holds) and the passengers' names."""

    def __init__(self, names: set[str] = frozenset(), numbers: set[str] = frozenset()) -> None:
        # Longest first, so a name that contains another is replaced whole.
        self.names = sorted({n for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True)
        self.numbers = sorted({n for n in numbers if n and len(n) >= 6}, key=len, reverse=True)

    @classmethod
    def for_database(cls, db_path: Path) -> Scrubber:
        names: set[str] = set()
        numbers: set[str] = set()
        if db_path.exists():
            try:
                con = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
                try:
                    for name, number in con.execute("SELECT name, doc_number FROM passengers"):
                        names.add(name or "")
                        numbers.add(number or "")
                finally:
                    con.close()
            except sqlite3.Error:
                pass  # no file to learn from: the shapes still catch resident IDs
        return cls(names, numbers)

    def __call__(self, text: str) -> str:
        for number in self.numbers:
            text = text.replace(number, ID_MARK)
        text = _RESIDENT_ID.sub(ID_MARK, text)
        text = _PERMIT.sub(ID_MARK, text)
        for name in self.names:
            text = text.replace(name, NAME_MARK)
        return text


def export_bundle(out_dir: Path | None = None, *, config_path: Path | None = None) -> Path:
    """Write ``kezhan-support-<terminal>-<time>.zip`` into ``out_dir`` (default: the data folder's
    ``support``) and return its path."""
    from app import config as config_mod
    from app.doctor import run_checks

    try:
        config = config_mod.load(config_path)
        config_text = config.to_toml()
        db_path = config.db_path
        terminal = config.terminal.id or "unenrolled"
    except Exception as exc:  # a broken config is exactly what support wants to see
        config, db_path, terminal = None, paths.default_db_file(), "unknown"
        source = Path(config_path) if config_path else paths.config_file()
        config_text = source.read_text(encoding="utf-8", errors="replace") if source.exists() else f"# {exc}\n"
    scrub = Scrubber.for_database(db_path)
    checks = run_checks(config_path=config_path)
    doctor = {"ok": all(c.status != "fail" for c in checks), "checks": [c.to_json() for c in checks]}
    out = Path(out_dir) if out_dir else paths.data_dir() / "support"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"kezhan-support-{re.sub(r'[^A-Za-z0-9_-]', '_', terminal)}-{stamp}.zip"
    logs = sorted(paths.log_dir().glob("kezhan.log*"), key=lambda p: p.stat().st_mtime, reverse=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("kezhan.toml", scrub(config_text))
        bundle.writestr("doctor.json", scrub(json.dumps(doctor, ensure_ascii=False, indent=2)))
        for log_path in logs[:RECENT_LOG_FILES]:
            text = log_path.read_text(encoding="utf-8", errors="replace")
            bundle.writestr(f"logs/{log_path.name}", scrub(text))
        bundle.writestr("README.txt", f"Kezhan diagnostic bundle, {stamp}, terminal {terminal}.\n"
                                      "ID numbers and passenger names are replaced by [ID] and [NAME].\n")
    return path
