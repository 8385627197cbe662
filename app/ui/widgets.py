"""Small pieces shared by the views and dialogs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QLabel, QLineEdit, QPushButton, QWidget

from app.domain.money import format_price
from app.errors import KezhanError
from app.ui import theme


def money(fen: int | None) -> str:
    return "" if fen is None else format_price(fen)


def label(text: str = "", role: str | None = None, name: str | None = None) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    if name:
        widget.setObjectName(name)
    return widget


def push_button(name: str, role: str | None, slot: Callable[[], object]) -> QPushButton:
    """A dialog button that is never an auto-default, so Enter does only what the dialog's key
    filters make it do."""
    button = QPushButton()
    button.setObjectName(name)
    if role:
        button.setProperty("role", role)
    button.setAutoDefault(False)
    button.clicked.connect(slot)
    return button


class ClickableLabel(QLabel):
    """A status-bar label that opens what it counts when clicked (the keyboard has its own key)."""

    clicked = Signal()

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mouseReleaseEvent(self, event):  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)


def line_edit(name: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    return edit


def set_valid(widget: QWidget, valid: bool | None) -> None:
    """Red or green frame on a field (None: neutral), via the style sheet's [valid] selector."""
    widget.setProperty("valid", "" if valid is None else ("true" if valid else "false"))
    theme.repolish(widget)


Message = str | Callable[[], str]


def show_message(target: QLabel, text: Message, ok: bool = False, kind: str = "") -> None:
    """A message line. Given as a function (of the current language), the message is worded again
    by :func:`refresh_message` when the clerk switches language, instead of staying in the old one.
    ``kind`` lets the owner find and withdraw a message once what it says is no longer true."""
    target.setProperty("role", "ok" if ok else "error")
    target._kz_message = (text if callable(text) else None, kind)
    target.setText(text() if callable(text) else text)
    theme.repolish(target)


def message_kind(target: QLabel) -> str:
    """The kind of the message on show ("" when none, or the label was cleared since)."""
    return getattr(target, "_kz_message", (None, ""))[1] if target.text() else ""


def clear_message(target: QLabel, kind: str | None = None) -> None:
    """Clear the line (only if it shows a message of ``kind``, when given)."""
    if kind is None or message_kind(target) == kind:
        target.clear()
        target._kz_message = (None, "")


def refresh_message(target: QLabel) -> None:
    """Word the message on show again, in the language now in force."""
    source, _kind = getattr(target, "_kz_message", (None, ""))
    if source is not None and target.text():
        target.setText(source())


def error_text(exc: BaseException) -> str:
    """What a clerk reads for a failure: our errors speak the UI language; anything else is a bug,
    shown as one line (the traceback goes to the log)."""
    if isinstance(exc, KezhanError):
        return exc.text(theme.language())
    return QCoreApplication.translate("widgets", "内部错误：%1（详见日志）").replace(
        "%1", f"{type(exc).__name__}: {exc}"
    )


def focus(widget: QWidget) -> None:
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    if isinstance(widget, QLineEdit | QAbstractSpinBox):
        widget.selectAll()


class _KeyFilter(QObject):
    """Routes Enter / Esc / arrows of one widget to handlers, before the widget sees them."""

    def __init__(self, parent: QObject, handlers: dict) -> None:
        super().__init__(parent)
        self.handlers = handlers

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            handler = self.handlers.get(event.key())
            if handler is not None and event.modifiers() in (
                Qt.KeyboardModifier.NoModifier,
                Qt.KeyboardModifier.KeypadModifier,
            ):
                return bool(handler() is not False)
        return False
