"""Dialogs of the counter window: ticket operations, seat map, shift close, help, print preview.

Every dialog is opened with ``open()`` (window-modal, never a nested event loop), answers Esc by
closing and Enter by moving forward, and shows errors inline rather than in a message box the
clerk would have to dismiss.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import parse_yuan
from app.errors import KezhanError
from app.ui import actions, theme
from app.ui.sale_view import ENTER_KEYS as ENTER
from app.ui.sale_view import _KeyFilter
from app.ui.widgets import error_text, focus, label, line_edit, money, push_button, set_valid, show_message

log = logging.getLogger("kezhan.ui.dialogs")



def _table(name: str, columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setVisible(False)
    table.setTabKeyNavigation(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _titled_list(layout, hint_name: str, table_name: str, columns: int) -> tuple:
    """The title, the wrapped hint under it and the list that fills the dialog, as the dialogs that
    list what is waiting for the clerk (conflict tasks, owed paper) show them."""
    title = label(role="title", name="dialogTitle")
    layout.addWidget(title)
    hint = label(role="hint", name=hint_name)
    hint.setWordWrap(True)
    layout.addWidget(hint)
    table = _table(table_name, columns)
    layout.addWidget(table, 1)
    return title, hint, table


def _quote_and_message(layout) -> tuple:
    """The big quote line (hidden until there is something to confirm) and the message line under
    it, as every operation dialog shows them."""
    quote = label(role="big", name="quoteLabel")
    quote.setWordWrap(True)
    quote.hide()
    layout.addWidget(quote)
    message = label(role="error", name="dialogMessage")
    message.setWordWrap(True)
    layout.addWidget(message)
    return quote, message


def _confirm_and_close(dialog: QDialog, layout, *, role: str) -> tuple[QPushButton, QPushButton]:
    """The right-aligned confirm and close buttons that end an operation dialog. Neither is an
    auto-default, so Enter does only what the dialog's key filters make it do."""
    confirm = push_button("confirmButton", role, dialog.confirm)
    close = push_button("closeButton", None, dialog.reject)
    buttons = QHBoxLayout()
    buttons.addStretch(1)
    buttons.addWidget(confirm)
    buttons.addWidget(close)
    layout.addLayout(buttons)
    return confirm, close


def supervisor_row() -> tuple[QWidget, QLabel, QLineEdit, QLineEdit]:
    """The supervisor's code and password on one row, as every operation that needs an approval asks
    for them (a forced refund here, the gate's exceptions): (row, caption, code, password)."""
    box = QWidget()
    box.setObjectName("supervisorBox")
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    caption = label(role="section")
    code = line_edit("supervisorCodeEdit")
    password = line_edit("supervisorPasswordEdit")
    password.setEchoMode(QLineEdit.EchoMode.Password)
    row.addWidget(caption)
    row.addWidget(code)
    row.addWidget(password)
    return box, caption, code, password


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            table.setItem(r, c, QTableWidgetItem(str(text)))


class TicketDialog(QDialog):
    """Refund, change, void, reprint or pickup of one ticket.

    Find the ticket (scan its code, type its ticket or stock number, or tap the ID card), see what
    will happen (the fee, the refund, the fare difference), then confirm. A forced refund asks for
    a supervisor's code and password in the same dialog.
    """

    done_operation = Signal(str, object)  # kind, the service's result

    KINDS = ("refund", "change", "void", "reprint", "pickup")

    def __init__(self, kind: str, backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        assert kind in self.KINDS
        self.kind = kind
        self.backend = backend
        self.tickets: list = []
        self.ticket = None
        self.quote = None
        self.new_departures: list = []
        self.change_date = None
        self.setObjectName(f"{kind}Dialog")
        self.setModal(True)
        self._build()
        self.retranslate()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.titleLabel = label(role="title", name="dialogTitle")
        layout.addWidget(self.titleLabel)
        row = QHBoxLayout()
        self.searchEdit = line_edit("searchEdit")
        self.findButton = QPushButton()
        self.findButton.setObjectName("findButton")
        self.findButton.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.findButton.clicked.connect(self.find)
        row.addWidget(self.searchEdit, 1)
        row.addWidget(self.findButton)
        layout.addLayout(row)
        self.ticketsTable = _table("ticketsTable", 9)
        self.ticketsTable.currentCellChanged.connect(lambda *_: self._ticket_selected())
        layout.addWidget(self.ticketsTable, 1 if self.kind == "change" else 3)

        self.changeBox = QWidget()
        self.changeBox.setObjectName("changeBox")
        change = QVBoxLayout(self.changeBox)
        change.setContentsMargins(0, 0, 0, 0)
        self.changeCaption = label(role="section")
        change.addWidget(self.changeCaption)
        self.newDeparturesTable = _table("newDeparturesTable", 7)
        self.newDeparturesTable.currentCellChanged.connect(lambda *_: self._new_departure_selected())
        change.addWidget(self.newDeparturesTable)
        layout.addWidget(self.changeBox, 3)
        self.changeBox.setVisible(self.kind == "change")

        self.forcedCheck = QCheckBox()
        self.forcedCheck.setObjectName("forcedCheck")
        self.forcedCheck.toggled.connect(self._forced_toggled)
        self.forcedCheck.setVisible(self.kind == "refund")
        layout.addWidget(self.forcedCheck)

        (self.supervisorBox, self.supervisorCaption, self.supervisorCodeEdit,
         self.supervisorPasswordEdit) = supervisor_row()
        layout.addWidget(self.supervisorBox)
        self.supervisorBox.hide()

        self.quoteLabel, self.messageLabel = _quote_and_message(layout)
        self.confirmButton, self.closeButton = _confirm_and_close(
            self, layout, role="danger" if self.kind in ("refund", "void") else "primary"
        )
        self.confirmButton.setEnabled(False)

        self.searchEdit.installEventFilter(_KeyFilter(self, {k: self.find for k in ENTER}))
        self.ticketsTable.installEventFilter(_KeyFilter(self, {k: self._ticket_entered for k in ENTER}))
        self.newDeparturesTable.installEventFilter(_KeyFilter(self, {
            **{k: self._departure_entered for k in ENTER},
            Qt.Key.Key_PageUp: lambda: self._step_change_date(-1),
            Qt.Key.Key_PageDown: lambda: self._step_change_date(1),
        }))
        self.confirmButton.installEventFilter(_KeyFilter(self, {k: self.confirm for k in ENTER}))
        self.forcedCheck.installEventFilter(_KeyFilter(self, {k: self._after_forced for k in ENTER}))
        self.supervisorCodeEdit.installEventFilter(
            _KeyFilter(self, {k: lambda: focus(self.supervisorPasswordEdit) for k in ENTER}))
        self.supervisorPasswordEdit.installEventFilter(_KeyFilter(self, {k: self.confirm for k in ENTER}))

    def retranslate(self) -> None:
        titles = {
            "refund": self.tr("退票"),
            "change": self.tr("改签"),
            "void": self.tr("废票"),
            "reprint": self.tr("重打"),
            "pickup": self.tr("取票"),
        }
        self.setWindowTitle(titles[self.kind])
        self.titleLabel.setText(titles[self.kind])
        self.searchEdit.setPlaceholderText(self.tr("扫描票码 / 输入票号或纸票号 / 刷身份证，Enter 查找"))
        self.findButton.setText(self.tr("查找"))
        self.ticketsTable.setHorizontalHeaderLabels([
            self.tr("票号"), self.tr("纸票号"), self.tr("发车"), self.tr("班次"), self.tr("到站"),
            self.tr("座位"), self.tr("票种"), self.tr("票价"), self.tr("状态"),
        ])
        self.changeCaption.setText(self.tr("改签到（PgUp/PgDn 换日，Enter 选定）"))
        self.newDeparturesTable.setHorizontalHeaderLabels([
            self.tr("日期"), self.tr("时间"), self.tr("班次"), self.tr("车型"), self.tr("余票"), self.tr("票价"),
            self.tr("状态"),
        ])
        self.forcedCheck.setText(self.tr("强退（免手续费，需值班站长授权）"))
        self.supervisorCaption.setText(self.tr("值班站长"))
        self.supervisorCodeEdit.setPlaceholderText(self.tr("工号"))
        self.supervisorPasswordEdit.setPlaceholderText(self.tr("密码"))
        self.confirmButton.setText(self.tr("确认%1 Enter").replace("%1", titles[self.kind]))
        self.closeButton.setText(self.tr("关闭 Esc"))

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- finding ------------------------------------------------------------------------------

    def find(self, query: str | None = None) -> None:
        text = (query if isinstance(query, str) else self.searchEdit.text()).strip()
        if isinstance(query, str):
            self.searchEdit.setText(text)
        if not text:
            return
        try:
            self.tickets = self.backend.find_tickets(text)
        except KezhanError as exc:
            show_message(self.messageLabel, error_text(exc))
            return
        self._show_tickets()

    def find_by_card(self, card) -> None:
        """An ID card was tapped while this dialog is open: the passenger's tickets."""
        try:
            self.tickets = self.backend.find_tickets_by_document(card.doc_type, card.number,
                                                                 getattr(card, "name", None))
        except KezhanError as exc:
            show_message(self.messageLabel, error_text(exc))
            return
        self.searchEdit.setText(self.backend.mask(card.number))
        self._show_tickets()

    def _show_tickets(self) -> None:
        self.ticket = None
        self.quote = None
        self.confirmButton.setEnabled(False)
        self.quoteLabel.clear()
        self.quoteLabel.hide()
        rows = [[t.ticket_id, t.stock_no or "", f"{t.date} {t.time}", t.schedule_code, t.destination,
                 "" if t.seat_no is None else str(t.seat_no), t.type_name, money(t.price),
                 self._status_text(t.status)] for t in self.tickets]
        _fill(self.ticketsTable, rows)
        if not self.tickets:
            show_message(self.messageLabel, self.tr("没有找到车票"))
            focus(self.searchEdit)
            return
        self.messageLabel.clear()
        self.ticketsTable.selectRow(0)
        self._ticket_selected()
        if len(self.tickets) == 1:
            self._ticket_entered()
        else:
            self.ticketsTable.setFocus(Qt.FocusReason.OtherFocusReason)

    def _status_text(self, status: str) -> str:
        return {"active": self.tr("有效"), "refunded": self.tr("已退"), "changed": self.tr("已改签"),
                "voided": self.tr("已废"), "online": self.tr("待取票")}.get(status, status)

    def _ticket_selected(self) -> None:
        row = self.ticketsTable.currentRow()
        self.ticket = self.tickets[row] if 0 <= row < len(self.tickets) else None
        self.quote = None
        self.confirmButton.setEnabled(False)
        if self.ticket is not None and self.kind != "change":
            self._make_quote()
        elif self.ticket is not None:
            self._changeable()

    def _changeable(self) -> bool:
        """Said as soon as the ticket is chosen: a refusal no new departure would lift."""
        try:
            self.backend.change_check(self.ticket)
        except KezhanError as exc:
            self.new_departures = []
            _fill(self.newDeparturesTable, [])
            show_message(self.messageLabel, error_text(exc))
            return False
        self.messageLabel.clear()
        return True

    def _ticket_entered(self) -> None:
        if self.ticket is None:
            return
        if self.kind == "change":
            if not self._changeable():
                focus(self.searchEdit)
                return
            self.change_date = self.ticket.date_value
            self._load_new_departures()
            self.newDeparturesTable.setFocus(Qt.FocusReason.OtherFocusReason)
        elif self.confirmButton.isEnabled():
            self.confirmButton.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- change: the new departure ------------------------------------------------------------

    def _step_change_date(self, days: int) -> None:
        if self.change_date is None:
            return
        self.change_date = self.change_date + timedelta(days=days)
        self._load_new_departures()

    def _load_new_departures(self) -> None:
        self.new_departures = [d for d in self.backend.departures(self.ticket.destination_code, self.change_date)
                               if d.id != self.ticket.departure_id]
        rows = [[d.date, d.time, d.schedule_code, d.vehicle_class, str(d.seats_left),
                 money(d.prices.get(self.ticket.ticket_type, 0)), self._departure_status(d)]
                for d in self.new_departures]
        _fill(self.newDeparturesTable, rows)
        for r, d in enumerate(self.new_departures):
            if not d.sellable:
                for c in range(7):
                    self.newDeparturesTable.item(r, c).setForeground(QColor("#6b6b6b"))
        first = next((i for i, d in enumerate(self.new_departures) if d.sellable), None)
        if first is not None:
            self.newDeparturesTable.selectRow(first)
        self._new_departure_selected()

    def _departure_status(self, d) -> str:
        return {"normal": self.tr("正常"), "stopped": self.tr("停售"), "boarding": self.tr("检票中"),
                "delayed": self.tr("晚点"), "cancelled": self.tr("停班"), "departed": self.tr("已发车"),
                "sold_out": self.tr("售完"), "no_lease": self.tr("无租座")}.get(d.status, d.status)

    def new_departure(self):
        row = self.newDeparturesTable.currentRow()
        return self.new_departures[row] if 0 <= row < len(self.new_departures) else None

    def _new_departure_selected(self) -> None:
        self.quote = None
        self.confirmButton.setEnabled(False)
        self.quoteLabel.clear()
        self.quoteLabel.hide()

    def _departure_entered(self) -> None:
        if self.new_departure() is None:
            return
        self._make_quote()
        if self.confirmButton.isEnabled():
            self.confirmButton.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- quote and confirm --------------------------------------------------------------------

    def _make_quote(self) -> None:
        try:
            if self.kind == "refund":
                self.quote = self.backend.refund_quote(self.ticket, forced=self.forcedCheck.isChecked())
                # The total: a carried free child's insurance goes back with the adult's money.
                text = self.tr("手续费 %1　退款 %2").replace("%1", money(self.quote.fee)).replace(
                    "%2", money(self.quote.total))
            elif self.kind == "change":
                self.quote = self.backend.change_quote(self.ticket, self.new_departure())
                diff = self.quote.fare_difference
                if diff > 0:
                    what = self.tr("补差价 %1").replace("%1", money(diff))
                elif diff < 0:
                    what = self.tr("退差价 %1").replace("%1", money(-diff))
                else:
                    what = self.tr("无差价")
                if self.quote.due >= 0:
                    total = self.tr("　手续费 %1　合计收 %2")
                else:
                    total = self.tr("　手续费 %1　合计退 %2")
                text = what + total.replace("%1", money(self.quote.fee)).replace("%2", money(abs(self.quote.due)))
            elif self.kind == "void":
                self.quote = self.backend.void_quote(self.ticket)
                text = self.tr("作废并退还 %1，纸票 %2 记为废票").replace("%1", money(self.quote.amount)).replace(
                    "%2", self.ticket.stock_no or "—")
            elif self.kind == "reprint":
                self.quote = self.backend.reprint_quote(self.ticket)
                text = self.tr("旧纸票 %1 作废，使用新纸票 %2").replace("%1", self.ticket.stock_no or "—").replace(
                    "%2", self.quote.new_stock_no)
            else:
                self.quote = self.backend.pickup_quote(self.ticket)
                text = self.tr("取票：打印到纸票 %1").replace("%1", self.quote.new_stock_no)
        except KezhanError as exc:
            self.quote = None
            self.quoteLabel.clear()
            self.quoteLabel.hide()
            show_message(self.messageLabel, error_text(exc))
            self.confirmButton.setEnabled(False)
            return
        self.messageLabel.clear()
        self.quoteLabel.setText(text)
        self.quoteLabel.show()
        self.confirmButton.setEnabled(True)

    def _forced_toggled(self, on: bool) -> None:
        self.supervisorBox.setVisible(on)
        if self.ticket is not None:
            self._make_quote()

    def _after_forced(self) -> None:
        if self.forcedCheck.isChecked():
            focus(self.supervisorCodeEdit)
        else:
            self.confirmButton.setFocus(Qt.FocusReason.OtherFocusReason)

    def confirm(self) -> None:
        if self.ticket is None or self.quote is None:
            return
        try:
            if self.kind == "refund":
                approver = None
                if self.forcedCheck.isChecked():
                    if not self.supervisorPasswordEdit.text():
                        show_message(self.messageLabel, self.tr("强退需要值班站长输入工号和密码"))
                        focus(self.supervisorCodeEdit)
                        return
                    approver = (self.supervisorCodeEdit.text().strip(), self.supervisorPasswordEdit.text())
                result = self.backend.refund(self.ticket, forced=self.forcedCheck.isChecked(), approver=approver)
                message = self.tr("已退票，退款 %1").replace("%1", money(result.refund_amount))
            elif self.kind == "change":
                result = self.backend.change(self.ticket, self.new_departure())
                message = self.tr("已改签到 %1 %2 座位 %3").replace("%1", result.date_time).replace(
                    "%2", result.schedule_code).replace("%3", str(result.seat_no))
            elif self.kind == "void":
                result = self.backend.void(self.ticket)
                message = self.tr("已废票，退还 %1").replace("%1", money(result.amount))
            elif self.kind == "reprint":
                result = self.backend.reprint(self.ticket)
                message = self.tr("已重打，新纸票 %1").replace("%1", result.stock_no)
            else:
                result = self.backend.pickup(self.ticket)
                message = self.tr("已取票，纸票 %1").replace("%1", result.stock_no)
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("%s failed", self.kind)
            show_message(self.messageLabel, error_text(exc))
            if self.kind == "refund" and self.forcedCheck.isChecked():
                self.supervisorPasswordEdit.clear()
                focus(self.supervisorPasswordEdit)
            return
        self.supervisorPasswordEdit.clear()
        self.confirmButton.setEnabled(False)
        self.quote = None
        show_message(self.messageLabel, message, ok=True)
        self.done_operation.emit(self.kind, result)
        # Refresh the list so the new state shows, and be ready for the next ticket.
        ids = {t.ticket_id for t in self.tickets}
        try:
            self.tickets = [t for t in self.backend.tickets_by_ids(ids)]
        except KezhanError:
            pass
        rows = [[t.ticket_id, t.stock_no or "", f"{t.date} {t.time}", t.schedule_code, t.destination,
                 "" if t.seat_no is None else str(t.seat_no), t.type_name, money(t.price),
                 self._status_text(t.status)] for t in self.tickets]
        _fill(self.ticketsTable, rows)
        self.searchEdit.clear()
        focus(self.searchEdit)


class SeatMapDialog(QDialog):
    """The seats of one departure: sold, ours to sell, held elsewhere. Arrows move, Space picks,
    Enter takes the picked seats (or the current one when one seat is needed)."""

    COLUMNS = 5  # two seats, the aisle, two seats

    def __init__(self, seat_states: dict[int, str], needed: int, chosen: list[int] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("seatMapDialog")
        self.setModal(True)
        self.states = seat_states
        self.needed = needed
        self.chosen: list[int] = list(chosen or [])
        self.cells: dict[int, tuple[int, int]] = {}
        layout = QVBoxLayout(self)
        self.titleLabel = label(role="title", name="dialogTitle")
        layout.addWidget(self.titleLabel)
        self.legendLabel = label(role="hint", name="seatLegend")
        layout.addWidget(self.legendLabel)
        count = max(seat_states) if seat_states else 0
        rows = (count + 3) // 4
        self.grid = QTableWidget(rows, self.COLUMNS)
        self.grid.setObjectName("seatGrid")
        self.grid.horizontalHeader().setVisible(False)
        self.grid.verticalHeader().setVisible(False)
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid.setTabKeyNavigation(False)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grid.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for seat in range(1, count + 1):
            index = seat - 1
            r, pos = divmod(index, 4)
            c = pos if pos < 2 else pos + 1
            self.cells[seat] = (r, c)
            item = QTableWidgetItem()
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.setItem(r, c, item)
        for r in range(rows):
            aisle = QTableWidgetItem("")
            aisle.setFlags(Qt.ItemFlag.NoItemFlags)
            self.grid.setItem(r, 2, aisle)
        layout.addWidget(self.grid, 1)
        self.messageLabel = label(role="error", name="dialogMessage")
        layout.addWidget(self.messageLabel)
        self.grid.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Space: self.toggle_current,
            Qt.Key.Key_Return: self.take,
            Qt.Key.Key_Enter: self.take,
        }))
        self.retranslate()
        self._paint()
        first = next((s for s in sorted(self.states) if self.states[s] == "ours"), None)
        if first is not None:
            self.grid.setCurrentCell(*self.cells[first])
        self.grid.setFocus()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("座位图"))
        self.titleLabel.setText(self.tr("选座：需要 %1 个座位").replace("%1", str(self.needed)))
        self.legendLabel.setText(self.tr("绿 = 本机可售　灰 = 已售　橙 = 他处占用　蓝 = 已选　黄 = 光标；方向键移动，空格选/取消，Enter 确定，Esc 返回"))

    def _paint(self) -> None:
        colours = {"ours": ("#0a6b2b", "#e3f6e8"), "sold": ("#555555", "#c9c9c9"),
                   "held": ("#7a3d00", "#ffd9a8")}
        for seat, (r, c) in self.cells.items():
            state = self.states.get(seat, "held")
            fg, bg = colours.get(state, colours["held"])
            if seat in self.chosen:
                fg, bg = "#ffffff", "#0b4f9c"
            item = self.grid.item(r, c)
            item.setText(str(seat))
            item.setForeground(QColor(fg))
            item.setBackground(QColor(bg))
            font = item.font()
            font.setBold(seat in self.chosen)
            item.setFont(font)

    def current_seat(self) -> int | None:
        r, c = self.grid.currentRow(), self.grid.currentColumn()
        for seat, cell in self.cells.items():
            if cell == (r, c):
                return seat
        return None

    def toggle_current(self) -> None:
        seat = self.current_seat()
        if seat is None:
            return
        if seat in self.chosen:
            self.chosen.remove(seat)
        elif self.states.get(seat) != "ours":
            show_message(self.messageLabel, self.tr("座位 %1 不能售").replace("%1", str(seat)))
            return
        elif len(self.chosen) >= self.needed:
            show_message(self.messageLabel, self.tr("已选够 %1 个座位").replace("%1", str(self.needed)))
            return
        else:
            self.chosen.append(seat)
        self.messageLabel.clear()
        self._paint()

    def take(self) -> None:
        if not self.chosen and self.needed == 1:
            self.toggle_current()
        if len(self.chosen) != self.needed:
            show_message(self.messageLabel, self.tr("请选 %1 个座位（已选 %2）").replace(
                "%1", str(self.needed)).replace("%2", str(len(self.chosen))))
            return
        self.accept()


class ShiftCloseDialog(QDialog):
    """The settlement of the clerk's shift, the cash counted, the difference; Enter hands over."""

    closed_shift = Signal(object)

    def __init__(self, backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shiftCloseDialog")
        self.setModal(True)
        self.backend = backend
        self.settlement = backend.settlement()
        layout = QVBoxLayout(self)
        self.titleLabel = label(role="title", name="dialogTitle")
        layout.addWidget(self.titleLabel)
        self.infoLabel = label(role="hint", name="shiftInfo")
        self.infoLabel.setWordWrap(True)
        layout.addWidget(self.infoLabel)
        self.linesTable = _table("settlementTable", 4)
        layout.addWidget(self.linesTable, 1)
        grid = QGridLayout()
        self.dueCaption = label(role="section")
        self.dueLabel = label(role="big", name="amountDueLabel")
        self.countedCaption = label(role="section")
        self.countedEdit = line_edit("cashCountedEdit")
        self.countedEdit.textChanged.connect(self._update_difference)
        self.diffCaption = label(role="section")
        self.diffLabel = label(role="change", name="differenceLabel")
        grid.addWidget(self.dueCaption, 0, 0)
        grid.addWidget(self.dueLabel, 0, 1)
        grid.addWidget(self.countedCaption, 1, 0)
        grid.addWidget(self.countedEdit, 1, 1)
        grid.addWidget(self.diffCaption, 2, 0)
        grid.addWidget(self.diffLabel, 2, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        self.messageLabel = label(role="error", name="dialogMessage")
        self.messageLabel.setWordWrap(True)
        layout.addWidget(self.messageLabel)
        self.confirmButton, self.closeButton = _confirm_and_close(self, layout, role="primary")
        self.countedEdit.installEventFilter(_KeyFilter(self, {k: self._counted_entered for k in ENTER}))
        self.confirmButton.installEventFilter(_KeyFilter(self, {k: self.confirm for k in ENTER}))
        self.retranslate()
        focus(self.countedEdit)

    def retranslate(self) -> None:
        s = self.settlement
        self.setWindowTitle(self.tr("交班结算"))
        self.titleLabel.setText(self.tr("交班结算"))
        self.infoLabel.setText(self.tr("售票员 %1　班次 %2　开班 %3　纸票 %4 — %5（用 %6 张，废 %7 张）")
                               .replace("%1", s.clerk).replace("%2", s.shift_id).replace("%3", s.opened_at)
                               .replace("%4", s.first_stock_no or "—").replace("%5", s.last_stock_no or "—")
                               .replace("%6", str(s.stock_used)).replace("%7", str(s.stock_spoiled)))
        self.linesTable.setHorizontalHeaderLabels([self.tr("项目"), self.tr("张数"), self.tr("金额"), self.tr("说明")])
        _fill(self.linesTable, [[name, "" if count is None else str(count), money(amount), note]
                                for name, count, amount, note in s.lines])
        self.dueCaption.setText(self.tr("应交款"))
        self.dueLabel.setText(money(s.amount_due))
        self.countedCaption.setText(self.tr("实点现金"))
        self.countedEdit.setPlaceholderText(self.tr("清点后的现金金额"))
        self.diffCaption.setText(self.tr("差额"))
        self.confirmButton.setText(self.tr("确认交班并打印 Enter"))
        self.closeButton.setText(self.tr("关闭 Esc"))
        self._update_difference()

    def counted(self) -> int | None:
        text = self.countedEdit.text().strip()
        return parse_yuan(text) if text else None

    def _update_difference(self) -> None:
        try:
            counted = self.counted()
        except KezhanError:
            set_valid(self.countedEdit, False)
            self.diffLabel.setText("—")
            return
        set_valid(self.countedEdit, None)
        if counted is None:
            self.diffLabel.setText("—")
            self._set_diff_state("")
            return
        diff = counted - self.settlement.cash_due
        if diff == 0:
            self.diffLabel.setText(self.tr("%1（相符）").replace("%1", money(0)))
        elif diff > 0:
            self.diffLabel.setText(self.tr("长款 %1").replace("%1", money(diff)))
        else:
            self.diffLabel.setText(self.tr("短款 %1").replace("%1", money(-diff)))
        self._set_diff_state("" if diff == 0 else ("over" if diff > 0 else "short"))

    def _set_diff_state(self, state: str) -> None:
        # A till that is short or over must not wear the green of one that agrees.
        if self.diffLabel.property("state") != state:
            self.diffLabel.setProperty("state", state)
            theme.repolish(self.diffLabel)

    def _counted_entered(self) -> None:
        try:
            counted = self.counted()
        except KezhanError as exc:
            show_message(self.messageLabel, error_text(exc))
            return
        if counted is None:
            show_message(self.messageLabel, self.tr("请输入实点现金"))
            return
        if counted == self.settlement.cash_due:
            self.confirm()  # the till agrees: one Enter hands over
            return
        # A difference is signed for: the first Enter says so, the second on the button closes.
        show_message(self.messageLabel, self.tr("现金与应交款不符（%1）：核对无误后再按 Enter 交班").replace(
            "%1", self.diffLabel.text()))
        self.confirmButton.setFocus(Qt.FocusReason.OtherFocusReason)

    def confirm(self) -> None:
        try:
            counted = self.counted()
            if counted is None:
                show_message(self.messageLabel, self.tr("请输入实点现金"))
                focus(self.countedEdit)
                return
            result = self.backend.close_shift(counted)
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("shift close failed")
            show_message(self.messageLabel, error_text(exc))
            return
        self.result_value = result
        self.closed_shift.emit(result)
        self.accept()


class HelpDialog(QDialog):
    """F1: every shortcut of the registry, in the UI language.

    Three key/action column pairs side by side, so the whole registry (the counter's keys and the
    gate's) fits a 1366×768 screen; where it still does not (a smaller window, a longer registry)
    Home, End, PgUp and PgDn scroll it —
    a table's own End would only move along the row."""

    PAIRS = 3

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpDialog")
        self.setModal(True)
        layout = QVBoxLayout(self)
        self.titleLabel = label(role="title", name="dialogTitle")
        layout.addWidget(self.titleLabel)
        self.table = _table("shortcutTable", 2 * self.PAIRS)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(False)
        self.table.setRowCount(-(-len(actions.ACTIONS) // self.PAIRS))
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for column in range(2 * self.PAIRS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents if column % 2 == 0
                                        else QHeaderView.ResizeMode.Stretch)
        bar = self.table.verticalScrollBar()
        self.table.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Home: lambda: bar.setValue(bar.minimum()),
            Qt.Key.Key_End: lambda: bar.setValue(bar.maximum()),
            Qt.Key.Key_PageUp: lambda: bar.setValue(bar.value() - bar.pageStep()),
            Qt.Key.Key_PageDown: lambda: bar.setValue(bar.value() + bar.pageStep()),
        }))
        layout.addWidget(self.table, 1)
        self.hintLabel = label(role="hint")
        layout.addWidget(self.hintLabel)
        self.retranslate()
        self.table.setFocus()

    def cell_of(self, index: int) -> tuple[int, int]:
        """(row, key column) of the registry's ``index``-th action: down the left pair, then the right."""
        rows = self.table.rowCount()
        return index % rows, 2 * (index // rows)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("快捷键"))
        self.titleLabel.setText(self.tr("快捷键一览"))
        self.hintLabel.setText(self.tr("Esc 关闭　Home / End / PgUp / PgDn 翻看"))
        self.table.setHorizontalHeaderLabels([self.tr("按键"), self.tr("功能")] * self.PAIRS)
        from PySide6.QtCore import QCoreApplication

        for index, a in enumerate(actions.ACTIONS):
            row, column = self.cell_of(index)
            self.table.setItem(row, column, QTableWidgetItem(actions.key_text(a.keys, theme.language())))
            self.table.setItem(row, column + 1,
                               QTableWidgetItem(QCoreApplication.translate(actions.CONTEXT, a.label)))


class PreviewDialog(QDialog):
    """The last ticket as the printer would print it, rendered from its ESC/POS bytes."""

    def __init__(self, png: bytes | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewDialog")
        self.setModal(True)
        layout = QVBoxLayout(self)
        self.titleLabel = label(role="title", name="dialogTitle")
        layout.addWidget(self.titleLabel)
        self.image = QLabel()
        self.image.setObjectName("previewImage")
        self.image.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.image.setStyleSheet("background: #ffffff;")
        scroll = QScrollArea()
        scroll.setObjectName("previewScroll")
        scroll.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll, 1)
        self.pixmap = QPixmap()
        if png:
            self.pixmap.loadFromData(png, "PNG")
            self.image.setPixmap(self.pixmap)
        self.retranslate()
        scroll.setFocus()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("打印预览"))
        self.titleLabel.setText(self.tr("上一张票的打印预览（Esc 关闭）"))
        if self.pixmap.isNull():
            self.image.setText(self.tr("还没有打印过车票"))
