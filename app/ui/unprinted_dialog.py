"""Tickets sold but never printed, shown after sign-in.

The counter commits a sale before it prints, so a crash, a power cut or a printer that refused the
job leaves a passenger who paid with no paper. The services keep every ticket whose paper is owed
until the printer takes its job; this dialog lists them when a clerk signs in and prints them on the
stock numbers their sales took (Enter). Esc leaves them owed: they come back at the next sign-in.
Del says the selected ticket's paper did come out (the crash came after the print), so it is not
printed twice.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QVBoxLayout, QWidget

from app.errors import KezhanError
from app.ui.dialogs import _fill, _titled_list
from app.ui.sale_view import ENTER_KEYS as ENTER
from app.ui.sale_view import _KeyFilter
from app.ui.widgets import error_text, label, push_button, show_message

log = logging.getLogger("kezhan.ui.unprinted")


class UnprintedDialog(QDialog):
    """The owed tickets, in stock-number order. Enter prints them all; Del: this one's paper came
    out; Esc: later (they stay owed)."""

    print_requested = Signal(list)  # the backend's print jobs, for the window to send

    COLUMNS = 8

    def __init__(self, backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unprintedDialog")
        self.setModal(True)
        self.backend = backend
        self.rows: list = []
        self.printing = 0  # jobs sent and not yet reported
        self._build()
        self.retranslate()
        self.reload()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.titleLabel, self.hintLabel, self.unprintedTable = _titled_list(
            layout, "unprintedHint", "unprintedTable", self.COLUMNS)
        self.messageLabel = label(role="error", name="dialogMessage")
        self.messageLabel.setWordWrap(True)
        layout.addWidget(self.messageLabel)

        buttons = QHBoxLayout()
        self.paperOutButton = push_button("paperOutButton", None, self.paper_came_out)
        # Reached by its key (Del), so Tab goes table -> print -> later.
        self.paperOutButton.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        buttons.addWidget(self.paperOutButton)
        buttons.addStretch(1)
        self.printButton = push_button("printButton", "primary", self.print_all)
        self.laterButton = push_button("laterButton", None, self.reject)
        buttons.addWidget(self.printButton)
        buttons.addWidget(self.laterButton)
        layout.addLayout(buttons)

        keys = {**{k: self.print_all for k in ENTER}, Qt.Key.Key_Delete: self.paper_came_out}
        self.unprintedTable.installEventFilter(_KeyFilter(self, keys))
        self.printButton.installEventFilter(_KeyFilter(self, keys))

    # --- words --------------------------------------------------------------------------------

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("未出票的车票"))
        self.titleLabel.setText(self.tr("已售出但未打印的车票"))
        self.hintLabel.setText(self.tr(
            "这些车票已售出并记账，但打印机没有收到或没有打出（打印前断电、程序退出或打印失败）。"
            "Enter 按原票号全部打印；乘客手中已有纸票的，选中后按 Del；Esc 稍后处理（下次登录仍会列出）"))
        self.unprintedTable.setHorizontalHeaderLabels([
            self.tr("票号"), self.tr("车票编号"), self.tr("乘客"), self.tr("证件"), self.tr("发车"),
            self.tr("班次"), self.tr("到站"), self.tr("座位"),
        ])
        self.paperOutButton.setText(self.tr("纸票已出 Del"))
        self.printButton.setText(self.tr("全部打印 Enter"))
        self.laterButton.setText(self.tr("稍后 Esc"))
        self._fill_table()

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- the list -----------------------------------------------------------------------------

    def reload(self) -> None:
        try:
            self.rows = self.backend.owed_paper()
        except KezhanError as exc:
            self.rows = []
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
        self._fill_table()

    def _fill_table(self) -> None:
        seat = self.tr("%1 号")
        _fill(self.unprintedTable, [
            [r.stock_no, r.ticket_id, r.passenger, r.doc_masked, f"{r.date} {r.time}", r.schedule_code,
             r.destination, seat.replace("%1", str(r.seat_no)) if r.seat_no is not None else self.tr("无座")]
            for r in self.rows
        ])
        if self.rows and self.unprintedTable.currentRow() < 0:
            self.unprintedTable.selectRow(0)
        self.printButton.setEnabled(bool(self.rows) and not self.printing)
        self.paperOutButton.setEnabled(bool(self.rows))

    def current(self):
        row = self.unprintedTable.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    # --- what the keys do ---------------------------------------------------------------------

    def print_all(self) -> bool:
        if not self.rows or self.printing:
            return True
        try:
            jobs = self.backend.print_owed([r.ticket_id for r in self.rows])
        except KezhanError as exc:
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
            return True
        if not jobs:
            self.reload()
            return True
        count = len(jobs)
        self.printing = count
        self.printButton.setEnabled(False)
        show_message(self.messageLabel, lambda: self.tr("已送打印机：%1 张，请稍候").replace("%1", str(count)), ok=True)
        self.print_requested.emit(jobs)
        return True

    def job_reported(self, ok: bool, message: str = "") -> None:
        """The window's report of one job this dialog asked for: the list is read again, and the
        dialog closes once nothing is owed."""
        self.printing = max(0, self.printing - 1)
        self.reload()
        if not ok:
            show_message(self.messageLabel, lambda: self.tr("打印失败：%1").replace("%1", message))
        elif not self.rows and not self.printing:
            self.accept()

    def paper_came_out(self) -> bool:
        row = self.current()
        if row is None:
            return True
        try:
            self.backend.confirm_paper(row)
        except KezhanError as exc:
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
            return True
        self.reload()
        if not self.rows:
            self.accept()
        return True
