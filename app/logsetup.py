"""Logging: rotating files in the data directory, configured before anything imports escpos
(python-escpos reconfigures the root logger when it is imported)."""

from __future__ import annotations

import logging
import logging.handlers

from app import paths

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_configured = False


def configure(verbose: bool = False) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            paths.log_dir() / "kezhan.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    if verbose:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(console)


def log_file() -> str:
    return str(paths.log_dir() / "kezhan.log")
