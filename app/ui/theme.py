"""Look and language of the counter window: the style sheet, the fonts, the translators."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLocale, QTranslator
from PySide6.QtGui import QColor, QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from app import paths

log = logging.getLogger("kezhan.ui")

CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "SimHei",
    "PingFang SC",
)

# Departure status -> colour of its cell. Chosen to stay apart for the common colour blindnesses
# (red vs. green is carried by brightness too) and readable on white.
STATUS_COLOURS = {
    "normal": QColor("#111111"),
    "stopped": QColor("#6b6b6b"),  # 停售: past the stop-sale time
    "boarding": QColor("#0a6b2b"),
    "delayed": QColor("#b35c00"),
    "cancelled": QColor("#b00020"),
    "departed": QColor("#6b6b6b"),
    "sold_out": QColor("#6b6b6b"),
    "no_lease": QColor("#8a4500"),  # offline, none leased here: not sold out, the province has seats
}


@dataclass(frozen=True)
class Sizes:
    base: int
    small: int
    title: int
    big: int
    field: int

    @classmethod
    def for_width(cls, width: int) -> Sizes:
        # A 1366-wide counter screen gets 17 px body text; a 1920-wide one scales up so the type
        # keeps its size at the clerk's reading distance.
        base = 17 if width < 1600 else 22
        return cls(base=base, small=base - 3, title=base + 5, big=base * 2 + 4, field=base + 12)


def style_sheet(width: int = 1366) -> str:
    sizes = Sizes.for_width(width)
    text = (paths.resources_dir() / "styles" / "counter.qss").read_text(encoding="utf-8")
    for name, value in {
        "BASE": sizes.base,
        "SMALL": sizes.small,
        "TITLE": sizes.title,
        "BIG": sizes.big,
        "FIELD": sizes.field,
        "GROUPTOP": sizes.base,
        "SPIN": sizes.base + 9,
        "SPINW": sizes.base * 2 + sizes.base + 9,
        "ARROWW": sizes.base - 3,
        "ARROWH": (sizes.base - 3) * 7 // 12,
        "STYLES": (paths.resources_dir() / "styles").as_posix(),
        "MESSAGE": 2 * (sizes.base + 8),
    }.items():
        text = text.replace(f"@{name}@", str(value))
    return text


def cjk_family() -> str:
    families = set(QFontDatabase.families())
    for family in CJK_FAMILIES:
        if family in families:
            return family
    return QFont().defaultFamily()


def apply(app: QApplication, width: int = 1366) -> None:
    """Font and style sheet for a window about ``width`` pixels wide."""
    font = QFont(cjk_family())
    font.setPixelSize(Sizes.for_width(width).base)
    app.setFont(font)
    app.setStyleSheet(style_sheet(width))


def repolish(widget) -> None:
    """Re-apply the style sheet after a dynamic property (valid, state, role) changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


# --- language -------------------------------------------------------------------------------

_translator: QTranslator | None = None
_language = "zh_CN"


def qm_file(language: str) -> Path | None:
    """The compiled translation for ``language``, compiling the .ts when the .qm is missing or
    stale (a developer checkout that skipped the install step)."""
    if language.startswith("zh"):
        return None
    folder = paths.resources_dir() / "i18n"
    ts = folder / "kezhan_en.ts"
    qm = ts.with_suffix(".qm")
    if ts.exists() and (not qm.exists() or qm.stat().st_mtime < ts.stat().st_mtime):
        try:
            from app import i18n_build

            i18n_build.compile_all()
        except (OSError, SystemExit, Exception) as exc:  # noqa: B014 - any failure means "stay Chinese"
            log.warning("could not compile translations: %s", exc)
    return qm if qm.exists() else None


def set_language(language: str) -> bool:
    """Switch the UI language ("zh_CN" or "en"). Widgets retranslate on LanguageChange."""
    global _translator, _language

    app = QCoreApplication.instance()
    if _translator is not None:
        app.removeTranslator(_translator)
        _translator = None
    language = "en" if language.startswith("en") else "zh_CN"
    ok = True
    if language == "en":
        path = qm_file(language)
        translator = QTranslator(app)
        if path is not None and translator.load(str(path)):
            app.installTranslator(translator)
            _translator = translator
        else:
            log.warning("English translation not available; staying with Chinese")
            language, ok = "zh_CN", False
    _language = language
    # Qt posts LanguageChange to every widget; deliver it now so the whole window speaks the new
    # language before the next key is handled.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LanguageChange)
    QLocale.setDefault(QLocale(QLocale.Language.English if language == "en" else QLocale.Language.Chinese))
    return ok


def language() -> str:
    return _language
