"""The printer driver's own errors, in the drivers' shape (``drivers.errors.DriverError``).

Every error carries a Chinese message for the clerk, an English ``en`` text and a stable
``code`` that callers and tests key on.
"""

from __future__ import annotations

from drivers.errors import DriverError


class PrinterError(DriverError):
    """A printer that cannot be reached, written to, or used as asked."""

    code = "PRINTER_ERROR"


class TargetError(PrinterError):
    """A printer target string that does not parse."""

    code = "PRINTER_BAD_TARGET"


class PrinterTimeout(PrinterError):
    """A write that did not complete within its deadline."""

    code = "PRINTER_TIMEOUT"


class TemplateError(PrinterError):
    """A ticket template or ticket data that cannot be laid out."""

    code = "PRINTER_BAD_TEMPLATE"


class RenderError(PrinterError):
    """ESC/POS bytes the renderer cannot turn into a picture (truncated or unknown commands)."""

    code = "PRINTER_RENDER"


class FontNotFoundError(RenderError):
    """No font with Chinese glyphs on this system, so a preview cannot be drawn."""

    code = "PRINTER_NO_CJK_FONT"
