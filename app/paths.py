"""Where Kezhan keeps its files.

One terminal per PC: on Windows the data is machine-wide (``%PROGRAMDATA%\\Kezhan``), so every
Windows account at the counter sells as the same enrolled terminal from the same file. Elsewhere it
is the per-user data directory (a .deb installs for the station's one desktop account).
``KEZHAN_HOME`` overrides both, so tests, the demo and a technician's second instance each get a
folder of their own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from app.errors import ConfigError

APP_NAME = "kezhan"


def default_data_dir(platform: str | None = None, environ: dict | None = None,
                     legacy: Path | None = None) -> Path:
    """The data folder without ``KEZHAN_HOME``; ``platform``, ``environ`` and ``legacy`` for tests.

    A Windows PC set up before the data became machine-wide keeps its per-user folder (``legacy``)
    until the machine-wide one holds a configuration: moving to an empty ProgramData would look
    like a new PC, and enrolling it again would make a second terminal. ``kezhan doctor`` says so."""
    platform = platform or sys.platform
    environ = os.environ if environ is None else environ
    if platform == "win32":
        base = environ.get("PROGRAMDATA") or environ.get("ALLUSERSPROFILE") or r"C:\ProgramData"
        machine = Path(base) / "Kezhan"
        legacy = legacy if legacy is not None else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        if not (machine / "kezhan.toml").exists() and (legacy / "kezhan.toml").exists():
            return legacy
        return machine
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def is_legacy_per_user(folder: Path) -> bool:
    """Whether ``folder`` is the per-user data folder a Windows PC used before ProgramData."""
    return sys.platform == "win32" and not os.environ.get("KEZHAN_HOME") and \
        folder == Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    home = os.environ.get("KEZHAN_HOME")
    path = Path(home) if home else default_data_dir()
    _folder(path, ("KEZHAN_HOME ", "KEZHAN_HOME") if home else ("数据文件夹", "the data folder"))
    return path


def writable_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot take a new file (ProgramData made read-only by a policy), or None."""
    probe = folder / f".kezhan-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


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
            f"无法创建{what[0]}：{path}（{exc.strerror or exc}）。Windows 上数据放在 ProgramData，"
            "首次请以管理员身份运行安装程序或 kezhan setup，或设置 KEZHAN_HOME 为可写的文件夹",
            en=f"cannot create {what[1]}: {path} ({exc.strerror or exc}). On Windows the data lives in "
               "ProgramData: run the installer or `kezhan setup` once as an administrator, or set "
               "KEZHAN_HOME to a writable folder",
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
