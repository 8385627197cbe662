"""The conflict tasks (F11, or a click on the status bar's count): conflicts the provincial server
resolved against a sale of this counter, and what the clerk does about each.

A reseat task gets another seat on the same departure, picked on the sale view's seat map; a refund
task (or a reseat task whose passenger would rather not travel) a full conflict refund; a review task
is marked done once looked at. Each shows what will happen before Enter confirms, like the ticket
dialogs, and the services mark the task done with the clerk and the time in the same transaction.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QVBoxLayout, QWidget

from app.errors import KezhanError
from app.ui.dialogs import SeatMapDialog, _fill, _quote_and_message, _titled_list
from app.ui.sale_view import ENTER_KEYS as ENTER
from app.ui.sale_view import _KeyFilter
from app.ui.widgets import error_text, label, money, push_button, show_message

log = logging.getLogger("kezhan.ui.tasks")


class TasksDialog(QDialog):
    """Open conflict tasks, oldest first. Enter on a task starts what it asks for; F9 picks a new
    seat (reseat tasks), F3 refunds in full; Enter on the confirm button does it."""

    done_operation = Signal(str, object)  # kind (reseat | refund | close), the backend's outcome

    COLUMNS = 8

    def __init__(self, backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tasksDialog")
        self.setModal(True)
        self.backend = backend
        self.tasks: list = []
        self.action: str | None = None  # what Enter on the confirm button will do
        self.seat: int | None = None
        self.seatDialog: SeatMapDialog | None = None
        self._build()
        self.retranslate()
        self.reload()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.titleLabel, self.hintLabel, self.tasksTable = _titled_list(
            layout, "tasksHint", "tasksTable", self.COLUMNS)
        self.tasksTable.currentCellChanged.connect(lambda *_: self._task_selected())
        self.detailLabel = label(role="section", name="taskDetail")
        self.detailLabel.setWordWrap(True)
        layout.addWidget(self.detailLabel)
        self.quoteLabel, self.messageLabel = _quote_and_message(layout)

        buttons = QHBoxLayout()
        self.seatButton = push_button("seatButton", "primary", lambda: self.prepare("reseat"))
        self.refundButton = push_button("refundButton", "danger", lambda: self.prepare("refund"))
        self.closeTaskButton = push_button("closeTaskButton", None, lambda: self.prepare("close"))
        self.confirmButton = push_button("confirmButton", "primary", self.confirm)
        self.confirmButton.setEnabled(False)
        self.closeButton = push_button("closeButton", None, self.reject)
        for button in (self.seatButton, self.refundButton, self.closeTaskButton):
            # Reached by their keys (F9, F3, Enter), so Tab goes table -> confirm -> close.
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.confirmButton)
        buttons.addWidget(self.closeButton)
        layout.addLayout(buttons)

        keys = {Qt.Key.Key_F9: lambda: self.prepare("reseat"), Qt.Key.Key_F3: lambda: self.prepare("refund")}
        self.tasksTable.installEventFilter(_KeyFilter(self, {**{k: self.start for k in ENTER}, **keys}))
        self.confirmButton.installEventFilter(_KeyFilter(self, {**{k: self.confirm for k in ENTER}, **keys}))

    # --- words --------------------------------------------------------------------------------

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("待处理冲突"))
        self.titleLabel.setText(self.tr("待处理冲突（省平台已裁决）"))
        self.hintLabel.setText(self.tr(
            "本窗口售出的票与其他渠道冲突，省平台已裁决。换座：同一班次另选座位，重新出票；退票：全额退款，"
            "不收手续费（不是乘客的原因）。↑↓ 选择，Enter 办理，F9 选座，F3 全额退票，Esc 关闭"))
        self.tasksTable.setHorizontalHeaderLabels([
            self.tr("票号"), self.tr("乘客"), self.tr("发车"), self.tr("班次"), self.tr("到站"), self.tr("座位"),
            self.tr("情况"), self.tr("处理"),
        ])
        self.seatButton.setText(self.tr("选座换座 F9"))
        self.refundButton.setText(self.tr("全额退票 F3"))
        self.closeTaskButton.setText(self.tr("标记已处理"))
        self.confirmButton.setText(self.tr("确认 Enter"))
        self.closeButton.setText(self.tr("关闭 Esc"))
        self._fill_table()
        self._task_selected()

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def happened(self, task) -> str:
        """The server's conflict, in words."""
        return {
            "SEAT_TAKEN": self.tr("座位已被其他渠道售出"),
            "SEAT_LEASED": self.tr("座位已租给另一台终端"),
            "SEAT_INVALID": self.tr("该车没有这个座位"),
            "UNKNOWN_DEPARTURE": self.tr("省平台没有这个班次"),
            "DEPARTURE_CANCELLED": self.tr("班次已停班"),
            "TICKET_NOT_ACTIVE": self.tr("省平台上该票已退、已改签或已作废"),
            "UNKNOWN_TICKET": self.tr("省平台没有这张票"),
            "ALREADY_PICKED_UP": self.tr("该票已在别处取票"),
            "DUPLICATE_DOCUMENT": self.tr("该证件在本班次已有车票（一证一座）"),
        }.get(task.conflict, task.conflict)

    def to_do(self, task) -> str:
        if task.ticket_status != "active":
            return self.tr("票已处理，标记完成")
        return {"reseat": self.tr("换座（或全额退票）"), "refund": self.tr("全额退票"),
                "review": self.tr("核对后标记完成")}.get(task.kind, task.kind)

    # --- the list -----------------------------------------------------------------------------

    def reload(self) -> None:
        try:
            self.tasks = self.backend.tasks()
        except KezhanError as exc:
            self.tasks = []
            show_message(self.messageLabel, error_text(exc))
        self._fill_table()
        if self.tasks:
            self.tasksTable.selectRow(0)
        self._task_selected()
        self.tasksTable.setFocus(Qt.FocusReason.OtherFocusReason)

    def _fill_table(self) -> None:
        _fill(self.tasksTable, [
            [t.ticket_id or "—", t.passenger, f"{t.date} {t.time}".strip() or "—", t.schedule_code or "—",
             t.destination or "—", "" if t.seat_no is None else str(t.seat_no), self.happened(t), self.to_do(t)]
            for t in self.tasks
        ])

    def task(self):
        row = self.tasksTable.currentRow()
        return self.tasks[row] if 0 <= row < len(self.tasks) else None

    def _task_selected(self) -> None:
        self.action = None
        self.seat = None
        self.confirmButton.setEnabled(False)
        self.quoteLabel.clear()
        self.quoteLabel.hide()
        task = self.task()
        if task is None:
            self.detailLabel.setText(self.tr("没有待处理的冲突"))
            for button in (self.seatButton, self.refundButton, self.closeTaskButton):
                button.setEnabled(False)
            return
        self.detailLabel.setText(self.tr("%1：%2（%3）。乘客 %4 %5，票价 %6。请：%7").replace(
            "%1", task.ticket_id or "—").replace("%2", self.happened(task)).replace("%3", task.detail or task.conflict)
            .replace("%4", task.passenger or "—").replace("%5", task.doc_masked).replace("%6", money(task.price))
            .replace("%7", self.to_do(task)))
        self.seatButton.setEnabled("reseat" in task.actions)
        self.refundButton.setEnabled("refund" in task.actions)
        self.closeTaskButton.setEnabled("close" in task.actions)

    # --- acting -------------------------------------------------------------------------------

    def start(self) -> None:
        """Enter on a task: what it asks for first."""
        task = self.task()
        if task is not None and task.actions:
            self.prepare(task.actions[0])

    def prepare(self, action: str) -> None:
        task = self.task()
        if task is None:
            return
        if action == "reseat" and task.kind == "reseat" and task.carries_child:
            # The services refuse it (CARRIES_FREE_CHILD); said here before the seat map opens.
            show_message(self.messageLabel, self.tr("该乘客带有免票携童，换座带不走携童：请全额退票后重新售票"))
            return
        if action not in task.actions:
            show_message(self.messageLabel, {"reseat": self.tr("该任务不需要换座"),
                                             "refund": self.tr("该任务不能在这里退票"),
                                             "close": self.tr("请先换座或退票")}[action])
            return
        self.messageLabel.clear()
        try:
            if action in ("reseat", "refund"):
                self.backend.require_shift()  # F11 opens before a shift for the review tasks
            if action == "reseat":
                self._pick_seat(task)
                return
            if action == "refund":
                quote = self.backend.task_refund_quote(task)
                if task.conflict == "DEPARTURE_CANCELLED":  # the station cancelled the bus (停班)
                    text = self.tr("全额退款 %1（停班退票，手续费 %2）")
                else:
                    text = self.tr("全额退款 %1（冲突退票，手续费 %2）")
                text = text.replace("%1", money(quote.total)).replace("%2", money(quote.fee))
            else:
                text = self.tr("标记为已处理：不退票、不换座")
        except KezhanError as exc:
            show_message(self.messageLabel, error_text(exc))
            return
        self._ready(action, text)

    def _ready(self, action: str, text: str) -> None:
        self.action = action
        self.quoteLabel.setText(text)
        self.quoteLabel.show()
        self.confirmButton.setEnabled(True)
        self.confirmButton.setFocus(Qt.FocusReason.OtherFocusReason)

    def _pick_seat(self, task) -> None:
        dialog = SeatMapDialog(self.backend.task_seat_map(task), 1, None, self)
        dialog.setWindowTitle(self.tr("换座：%1").replace("%1", task.ticket_id or ""))
        dialog.accepted.connect(lambda: self._seat_picked(dialog))
        dialog.finished.connect(lambda _r: self._seat_map_closed(dialog))
        self.seatDialog = dialog
        dialog.resize(max(480, self.width() * 2 // 3), max(420, self.height() * 3 // 4))
        dialog.open()
        dialog.grid.setFocus()

    def _seat_picked(self, dialog: SeatMapDialog) -> None:
        self.seat = dialog.chosen[0]
        self._ready("reseat", self.tr("换到 %1 号座，不收费，重新出票（旧票收回）").replace("%1", str(self.seat)))

    def _seat_map_closed(self, dialog: SeatMapDialog) -> None:
        if self.seatDialog is dialog:
            self.seatDialog = None
        dialog.deleteLater()
        if self.action is None:
            self.tasksTable.setFocus(Qt.FocusReason.OtherFocusReason)

    def confirm(self) -> None:
        task = self.task()
        if task is None or self.action is None:
            return
        action = self.action
        try:
            if action == "reseat":
                result = self.backend.reseat(task, self.seat)
                message = self.tr("已换座：%1 号座，新纸票 %2").replace("%1", str(result.seat_no)).replace(
                    "%2", result.stock_no)
            elif action == "refund":
                result = self.backend.task_refund(task)
                message = self.tr("已全额退票，退款 %1").replace("%1", money(result.refund_amount))
            else:
                result = self.backend.close_task(task)
                message = self.tr("已标记为处理完毕")
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("task %s failed", action)
            show_message(self.messageLabel, error_text(exc))
            return
        self.done_operation.emit(action, result)
        self.reload()
        show_message(self.messageLabel, message, ok=True)
