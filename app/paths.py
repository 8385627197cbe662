"""Where Kezhan keeps its files.

``KEZHAN_HOME`` overrides the per-user data directory, so tests, the demo and a technician's
second instance each get a folder of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from app.errors import ConfigError

APP_NAME = "kezhan"


def data_dir() -> Path:
    home = os.environ.get("KEZHAN_HOME")
    path = Path(home) if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    _folder(path, ("KEZHAN_HOME ", "KEZHAN_HOME") if home else ("数据文件夹", "the data folder"))
    return path


def log_dir() -> Path:
    path = data_dir() / "logs"
    _folder(path, ("日志文件夹", "the log folder"))
    return path


def _folder(path: Path, what: tuple[str, str]) -> None:
    """Make the folder, or say in one line why it cannot be one (a file in its place, no right)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(
            f"{what[0]}应是一个文件夹，但 {path} 是一个文件",
            en=f"{what[1]} must be a folder, but {path} is a file",
            code="DATA_DIR_NOT_FOLDER",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"无法创建{what[0]}：{path}（{exc.strerror or exc}）",
            en=f"cannot create {what[1]}: {path} ({exc.strerror or exc})",
            code="DATA_DIR_UNUSABLE",
        ) from None


def config_file() -> Path:
    return data_dir() / "kezhan.toml"


def default_db_file() -> Path:
    return data_dir() / "kezhan.sqlite3"


def backup_dir() -> Path:
    path = data_dir() / "backups"
    _folder(path, ("备份文件夹", "the backups folder"))
    return path


def resources_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources"
