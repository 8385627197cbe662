"""Errors a user can cause or meet, as opposed to bugs.

Every layer raises a subclass of :class:`KezhanError` for something a person can act on. An
error carries a stable ``code`` (tests and the UI key on it), a Simplified Chinese ``message``
(what the clerk reads), an English ``en`` text (the English UI, technicians) and ``details``.

The error does not choose its language: whoever shows it does. The window calls
``error.text(language)`` with its current language; the CLI prints ``error.text()`` in the
configured language. ``str(error)`` is the Chinese message, for logs and tracebacks. Anything
that is not a KezhanError is a bug: logged with its traceback and shown as one line pointing at
the log.

The drivers import nothing of the project, so ``drivers.errors.DriverError`` repeats this shape
(same constructor, same attributes); a face that shows either reads them the same way.

This module lives in the domain because the domain imports nothing of the project; every other
layer reaches it through ``app.errors``.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "zh_CN"


def is_english(language: str | None) -> bool:
    """The two languages the terminal speaks: "en…" is English, anything else Chinese."""
    return bool(language) and language.startswith("en")


class KezhanError(Exception):
    exit_code = 2

    def __init__(self, message: str, *, en: str | None = None, code: str | None = None, **details):
        super().__init__(message)
        self.message = message
        self.en = en or message
        self.code = code or type(self).__name__
        self.details = details

    def text(self, language: str | None = DEFAULT_LANGUAGE) -> str:
        """The message in ``language`` ("zh_CN" or "en"; a face passes the one it shows)."""
        return self.en if is_english(language) else self.message

    def __str__(self) -> str:
        return self.message


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
