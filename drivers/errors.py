"""The base of every driver's errors (printer, ID card reader, scanner).

The drivers import nothing of the project, so they cannot raise ``app``'s ``KezhanError``; this
class has its shape instead — the same constructor (Chinese message first, then ``en=``,
``code=``, details) and the same attributes and ``text(language)`` — so a face reads a driver's
error exactly as it reads one of the application's.
"""

from __future__ import annotations


class DriverError(Exception):
    """A device that is missing, not answering, or cannot do what it was asked.

    ``message`` is Simplified Chinese, written for the clerk at the window; ``en`` is the English
    text for technicians and the English UI; ``code`` is stable (callers and tests key on it);
    ``details`` carries whatever else the raiser knows. ``str()`` is the Chinese message.
    """

    code = "driver_error"

    def __init__(self, message: str, *, en: str | None = None, code: str | None = None, **details):
        super().__init__(message)
        self.message = message
        self.en = en or message
        if code:
            self.code = code
        self.details = details

    def text(self, language: str | None = "zh_CN") -> str:
        """The message in ``language`` ("zh_CN" or "en"; a face passes the one it shows)."""
        return self.en if language and language.startswith("en") else self.message

    def __str__(self) -> str:
        return self.message
