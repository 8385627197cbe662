"""The printer driver's own errors (drivers import nothing of the project; app/ wraps these).

Every error carries an English message, a Chinese message for the clerk and a stable ``code``
that callers and tests key on.
"""

from __future__ import annotations


class PrinterError(Exception):
    """A printer that cannot be reached, written to, or used as asked."""

    default_code = "PRINTER_ERROR"

    def __init__(self, en: str, zh: str | None = None, *, code: str | None = None):
        super().__init__(en)
        self.en = en
        self.zh = zh or en
        self.code = code or self.default_code

    def __str__(self) -> str:
        return f"{self.zh} ({self.en})" if self.zh != self.en else self.en


class TargetError(PrinterError):
    """A printer target string that does not parse."""

    default_code = "PRINTER_BAD_TARGET"


class PrinterTimeout(PrinterError):
    """A write that did not complete within its deadline."""

    default_code = "PRINTER_TIMEOUT"


class TemplateError(PrinterError):
    """A ticket template or ticket data that cannot be laid out."""

    default_code = "PRINTER_BAD_TEMPLATE"


class RenderError(PrinterError):
    """ESC/POS bytes the renderer cannot turn into a picture (truncated or unknown commands)."""

    default_code = "PRINTER_RENDER"


class FontNotFoundError(RenderError):
    """No font with Chinese glyphs on this system, so a preview cannot be drawn."""

    default_code = "PRINTER_NO_CJK_FONT"
