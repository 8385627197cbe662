"""Log-in and shift opening."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QFormLayout, QFrame, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.errors import KezhanError
from app.ui.widgets import (
    _KeyFilter,
    clear_message,
    error_text,
    focus,
    label,
    line_edit,
    refresh_message,
    show_message,
)

log = logging.getLogger("kezhan.ui.login")

ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def _card() -> tuple[QWidget, QVBoxLayout]:
    """A centred panel on an empty screen."""
    outer = QWidget()
    v = QVBoxLayout(outer)
    v.addStretch(1)
    panel = QFrame()
    panel.setObjectName("loginPanel")
    panel.setFrameShape(QFrame.Shape.StyledPanel)
    # A fixed width lets the wrapped hint and error lines claim their height (a centred panel is
    # otherwise sized from its one-line hint and the wrapped lines overlap).
    panel.setFixedWidth(680)
    inner = QVBoxLayout(panel)
    inner.setContentsMargins(24, 18, 24, 18)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(panel)  # no alignment flag: an aligned item would ignore its height-for-width
    row.addStretch(1)
    v.addLayout(row)
    v.addStretch(2)
    return outer, inner


class LoginView(QWidget):
    """User code + password. The store counts failures and locks the account.

    ``sign_in(code, password)`` checks them (the window's, which knows whether this terminal sells,
    checks at the gate, or both); by default the counter's own ``login``."""

    logged_in = Signal(object)  # the backend's user

    def __init__(self, backend, parent: QWidget | None = None, *, sign_in=None, gate_only: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("loginView")
        self.backend = backend
        self.submit_pending = False
        # The window's own by default, asked at each sign-in: the window may be given its backend late.
        self.sign_in = sign_in or (lambda code, password: self.backend.login(code, password))
        self.gate_only = gate_only  # a gate terminal: its sign-in says so
        body, inner = _card()
        QVBoxLayout(self).addWidget(body)
        self.titleLabel = label(role="title", name="loginTitle")
        self.stationLabel = label(role="hint", name="stationLabel")
        inner.addWidget(self.titleLabel)
        inner.addWidget(self.stationLabel)
        form = QFormLayout()
        self.codeCaption = label()
        self.passwordCaption = label()
        self.codeEdit = line_edit("userCodeEdit")
        self.passwordEdit = line_edit("passwordEdit")
        self.passwordEdit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.codeCaption, self.codeEdit)
        form.addRow(self.passwordCaption, self.passwordEdit)
        inner.addLayout(form)
        self.messageLabel = label(role="error", name="loginMessage")
        self.messageLabel.setWordWrap(True)
        inner.addWidget(self.messageLabel)
        self.loginButton = QPushButton()
        self.loginButton.setObjectName("loginButton")
        self.loginButton.setProperty("role", "primary")
        self.loginButton.clicked.connect(self.submit)
        inner.addWidget(self.loginButton)
        self.codeEdit.installEventFilter(_KeyFilter(self, {k: lambda: focus(self.passwordEdit) for k in ENTER}))
        self.passwordEdit.installEventFilter(_KeyFilter(self, {
            **{k: self.submit for k in ENTER},
            Qt.Key.Key_Escape: lambda: focus(self.codeEdit),
        }))
        self.retranslate()

    def retranslate(self) -> None:
        self.titleLabel.setText(self.tr("客站检票 — 登录") if self.gate_only else self.tr("客站售票 — 登录"))
        self.stationLabel.setText(self.backend.station_title())
        self.codeCaption.setText(self.tr("工号"))
        self.passwordCaption.setText(self.tr("密码"))
        self.loginButton.setText(self.tr("登录 Enter"))
        refresh_message(self.messageLabel)

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def submit(self) -> None:
        code = self.codeEdit.text().strip()
        if not code:
            focus(self.codeEdit)
            return
        if getattr(self.backend, "starting", False):
            # The services are still loading behind the screen: the sign-in goes through once they
            # have (MainWindow.attach), with what was typed.
            self.submit_pending = True
            return
        try:
            user = self.sign_in(code, self.passwordEdit.text())
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("login failed")
            self.passwordEdit.clear()
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
            focus(self.passwordEdit)
            return
        self.passwordEdit.clear()
        clear_message(self.messageLabel)
        self.logged_in.emit(user)

    def start(self) -> None:
        self.codeEdit.clear()
        self.passwordEdit.clear()
        focus(self.codeEdit)


class ShiftOpenView(QWidget):
    """Open a shift: the first ticket number of the paper roll in the printer."""

    opened = Signal(object)
    cancelled = Signal()

    def __init__(self, backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shiftOpenView")
        self.backend = backend
        body, inner = _card()
        QVBoxLayout(self).addWidget(body)
        self.titleLabel = label(role="title", name="shiftTitle")
        self.clerkLabel = label(role="hint", name="shiftClerk")
        inner.addWidget(self.titleLabel)
        inner.addWidget(self.clerkLabel)
        form = QFormLayout()
        self.stockCaption = label()
        self.stockEdit = line_edit("firstStockEdit")
        form.addRow(self.stockCaption, self.stockEdit)
        inner.addLayout(form)
        self.hintLabel = label(role="hint")
        self.hintLabel.setWordWrap(True)
        inner.addWidget(self.hintLabel)
        self.messageLabel = label(role="error", name="shiftMessage")
        self.messageLabel.setWordWrap(True)
        inner.addWidget(self.messageLabel)
        self.openButton = QPushButton()
        self.openButton.setObjectName("openShiftButton")
        self.openButton.setProperty("role", "primary")
        self.openButton.clicked.connect(self.submit)
        inner.addWidget(self.openButton)
        self.stockEdit.installEventFilter(_KeyFilter(self, {
            **{k: self.submit for k in ENTER},
            Qt.Key.Key_Escape: self.cancelled.emit,
        }))
        self.retranslate()

    def retranslate(self) -> None:
        self.titleLabel.setText(self.tr("开班"))
        self.stockCaption.setText(self.tr("起始票号"))
        self.stockEdit.setPlaceholderText(self.tr("票卷上第一张票的号码"))
        self.hintLabel.setText(self.tr("请核对打印机中票卷的第一张票号；之后每打印一张票自动加一。Esc 注销。"))
        self.openButton.setText(self.tr("开班 Enter"))
        refresh_message(self.messageLabel)
        user = getattr(self.backend, "user", None)
        self.clerkLabel.setText(f"{user.code} {user.name}" if user else "")

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def start(self) -> None:
        self.retranslate()
        self.stockEdit.clear()
        self.messageLabel.clear()
        focus(self.stockEdit)

    def submit(self) -> None:
        text = self.stockEdit.text().strip()
        if not text:
            show_message(self.messageLabel, lambda: self.tr("请输入起始票号"))
            return
        try:
            shift = self.backend.open_shift(text)
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("shift open failed")
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
            return
        self.opened.emit(shift)
