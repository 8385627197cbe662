"""Where Kezhan keeps its files.

``KEZHAN_HOME`` overrides the per-user data directory, so tests, the demo and a technician's
second instance each get a folder of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "kezhan"


def data_dir() -> Path:
    home = os.environ.get("KEZHAN_HOME")
    path = Path(home) if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_file() -> Path:
    return data_dir() / "kezhan.toml"


def default_db_file() -> Path:
    return data_dir() / "kezhan.sqlite3"


def backup_dir() -> Path:
    path = data_dir() / "backups"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resources_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources"
