"""The roll's next blank, confirmed by the clerk after this terminal lost acknowledged sales.

When the sync client finds the server holds sales this file no longer has (a damaged WAL, an older
copy), the paper of those sales was printed on numbers this file will hand out again. The services
refuse to take a stock number (``STOCK_CONFIRM_REQUIRED``) until the clerk reads the next blank off
the roll and types it here; then the sale the clerk was making goes on.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QVBoxLayout, QWidget

from app.errors import KezhanError
from app.ui.sale_view import ENTER_KEYS as ENTER
from app.ui.sale_view import _KeyFilter
from app.ui.widgets import error_text, label, line_edit, push_button, show_message

log = logging.getLogger("kezhan.ui.stock")


class StockConfirmDialog(QDialog):
    """Why (the refusal's words), the next blank's number, Enter to confirm, Esc to leave it."""

    def __init__(self, backend, refusal: KezhanError, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stockConfirmDialog")
        self.setModal(True)
        self.backend = backend
        self.refusal = refusal
        self.confirmed: str | None = None
        layout = QVBoxLayout(self)
        self.reasonLabel = label(role="hint", name="stockConfirmReason")
        self.reasonLabel.setWordWrap(True)
        layout.addWidget(self.reasonLabel)
        form = QFormLayout()
        self.numberCaption = label()
        self.nextStockEdit = line_edit("nextStockEdit")
        form.addRow(self.numberCaption, self.nextStockEdit)
        layout.addLayout(form)
        self.messageLabel = label(role="error", name="dialogMessage")
        self.messageLabel.setWordWrap(True)
        layout.addWidget(self.messageLabel)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.confirmButton = push_button("confirmStockButton", "primary", self.submit)
        self.cancelButton = push_button("cancelStockButton", None, self.reject)
        buttons.addWidget(self.confirmButton)
        buttons.addWidget(self.cancelButton)
        layout.addLayout(buttons)
        self.nextStockEdit.installEventFilter(_KeyFilter(self, {k: self.submit for k in ENTER}))
        self.retranslate()
        self.nextStockEdit.setFocus(Qt.FocusReason.OtherFocusReason)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("核对票卷"))
        self.reasonLabel.setText(error_text(self.refusal))
        self.numberCaption.setText(self.tr("票卷上下一张空白票号"))
        self.confirmButton.setText(self.tr("确认 Enter"))
        self.cancelButton.setText(self.tr("取消 Esc"))

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def submit(self) -> None:
        text = self.nextStockEdit.text().strip()
        if not text:
            return
        try:
            self.confirmed = self.backend.confirm_next_stock_no(text)
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("confirming the next stock number failed")
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
            return
        self.accept()
