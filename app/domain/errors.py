"""Errors a user can cause or meet, as opposed to bugs.

Every layer raises a subclass of :class:`KezhanError` for something a person can act on. The
message is Simplified Chinese (what the clerk reads); ``en`` carries the English text for the
English UI and for technicians. ``code`` is stable (tests and the UI key on it). The CLI prints
``str(error)`` as one line and exits with ``exit_code``; the UI shows it in a dialog. Anything else
is a bug: logged with its traceback and shown as one line pointing at the log.

This module lives in the domain because the domain imports nothing of the project; every other
layer reaches it through ``app.errors``.
"""

from __future__ import annotations

_language = "zh_CN"


def set_language(language: str) -> None:
    """Choose the language ``str(error)`` speaks: "zh_CN" (default) or "en"."""
    global _language
    _language = "en" if language.startswith("en") else "zh_CN"


class KezhanError(Exception):
    exit_code = 2

    def __init__(self, message: str, *, en: str | None = None, code: str | None = None, **details):
        super().__init__(message)
        self.message = message
        self.en = en or message
        self.code = code or type(self).__name__
        self.details = details

    def text(self, language: str | None = None) -> str:
        language = language or _language
        return self.en if language.startswith("en") else self.message

    def __str__(self) -> str:
        return self.text()


class ConfigError(KezhanError):
    """A bad or missing configuration value."""


class StorageError(KezhanError):
    """The database file is missing, corrupt, foreign, too new, or the disk is full."""

    exit_code = 3


class RuleViolation(KezhanError):
    """A counter operation the rules refuse (sold out, departed, duplicate document, ...)."""

    exit_code = 4


class DeviceError(KezhanError):
    """A printer, card reader or scanner that is missing, not answering or not ready."""

    exit_code = 5


class SyncError(KezhanError):
    """The provincial server could not be reached or answered something unusable."""

    exit_code = 6
