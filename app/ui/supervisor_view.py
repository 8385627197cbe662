"""The station supervisor's screen (值班站长): the station's day in figures, and the departure actions
of a bad day.

A supervisor signing in at a ticket window gets this view (:meth:`SupervisorMode.enter`): as at the
gate, the counter's keys are disabled and the view's own enabled (F2 refresh, F3 cancel, F4 delay,
F5 extra bus, F6 export, PgUp/PgDown the day). The figures are the province's when the server answers
(``Supervisor.day`` on a worker thread: it is a network call), else this terminal's own, and the
view says plainly which. The actions are the services' (app/services/supervisor.py), each confirmed
with the supervisor's password in a dialog with its reason.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import paths
from app.services.supervisor import Supervisor, export_csv
from app.ui import actions, theme
from app.ui.gate_dialogs import Field, GateActionDialog
from app.ui.key_mode import KeyMode
from app.ui.widgets import error_text, label, show_message
from app.ui.workers import WorkerThread

log = logging.getLogger("kezhan.ui.supervisor")


def _yuan(fen) -> str:
    return "—" if fen is None else f"{fen / 100:.2f}"


def _item(text, *, right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if text is None else str(text))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table(name: str, columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.setObjectName(name)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class SupervisorView(QWidget):
    """The day's figures and departures; ``figures`` is the dict ``Supervisor.day`` returns."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("supervisorView")
        self.day: date | None = None
        self.figures: dict | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        top = QHBoxLayout()
        self.titleLabel = label(role="title", name="supervisorTitle")
        self.sourceLabel = label(name="supervisorSource")
        top.addWidget(self.titleLabel)
        top.addStretch(1)
        top.addWidget(self.sourceLabel)
        layout.addLayout(top)
        self.figuresTable = _table("supervisorFigures", 4)
        self.figuresTable.horizontalHeader().setStretchLastSection(False)
        self.figuresTable.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        figures_row = QHBoxLayout()
        figures_row.addWidget(self.figuresTable)
        figures_row.addStretch(1)
        layout.addLayout(figures_row)
        self.departuresTable = _table("supervisorDepartures", 8)
        layout.addWidget(self.departuresTable, 1)
        self.messageLabel = label(name="supervisorMessage")
        self.messageLabel.setWordWrap(True)
        layout.addWidget(self.messageLabel)
        self.retranslate()

    def retranslate(self) -> None:
        self.figuresTable.setHorizontalHeaderLabels(
            [self.tr("项目"), self.tr("张数"), self.tr("金额（元）"), self.tr("手续费（元）")])
        self.departuresTable.setHorizontalHeaderLabels(
            [self.tr("时间"), self.tr("班次"), self.tr("线路"), self.tr("状态"), self.tr("座位"), self.tr("已售"),
             self.tr("检票"), self.tr("路单")])
        if self.figures is not None:
            self.load(self.figures)

    def status_text(self, status: str | None, extra: bool = False) -> str:
        text = {"normal": self.tr("正常"), "cancelled": self.tr("停班"), "delayed": self.tr("晚点"),
                "boarding": self.tr("检票中"), "departed": self.tr("已发车")}.get(status or "", status or "")
        if extra:
            return text + " " + self.tr("加班")
        return text

    def loading(self, day: date) -> None:
        self.day = day
        self.sourceLabel.setText(self.tr("正在向省平台查询……"))

    def load(self, figures: dict) -> None:
        self.figures = figures
        self.day = date.fromisoformat(figures["date"])
        self.titleLabel.setText(self.tr("值班站长 · %1 当日数据").replace("%1", figures["date"]))
        online = figures.get("source") == "server"
        if online:
            self.sourceLabel.setText(self.tr("省平台数据（全站各终端）"))
        else:
            reason = figures.get("offline_reason_en" if theme.language() == "en" else "offline_reason") or ""
            self.sourceLabel.setText(self.tr("离线：仅为本机 %1 所知的数据（%2）")
                                     .replace("%1", figures.get("terminal_id", "")).replace("%2", reason))
        self.sourceLabel.setProperty("role", "ok" if online else "error")
        theme.repolish(self.sourceLabel)
        ch, r, c, v = figures["channels"], figures["refunds"], figures["changes"], figures["voids"]
        rows = [
            (self.tr("窗口售票"), ch["window"]["tickets"], ch["window"]["amount"], None),
            (self.tr("网络售票"), ch["web"]["tickets"], ch["web"]["amount"], None),
            (self.tr("退票"), r["count"], r["amount"], r["fees"]),
            (self.tr("改签"), c["count"], c.get("differences"), c.get("fees")),
            (self.tr("废票"), v["count"], v["amount"], None),
            (self.tr("净收"), "", figures["net"], None),
        ]
        self.figuresTable.setRowCount(len(rows))
        for i, (name, count, amount, fees) in enumerate(rows):
            self.figuresTable.setItem(i, 0, _item(name))
            self.figuresTable.setItem(i, 1, _item(count, right=True))
            self.figuresTable.setItem(i, 2, _item(_yuan(amount), right=True))
            self.figuresTable.setItem(i, 3, _item("" if fees is None else _yuan(fees), right=True))
        self._fit(self.figuresTable)
        selected = self.selected()
        deps = figures["departures"]
        self.departuresTable.setRowCount(len(deps))
        for i, d in enumerate(deps):
            cells = [d["time"], d["departure_id"], d["route"], self.status_text(d["status"], d.get("extra", False)),
                     d["seats"], d.get("sold", "—"), d["checked"], d.get("road_bill") or ""]
            for j, value in enumerate(cells):
                self.departuresTable.setItem(i, j, _item(value, right=j in (4, 5, 6)))
            self.departuresTable.item(i, 0).setData(Qt.ItemDataRole.UserRole, d["departure_id"])
        row = next((i for i, d in enumerate(deps) if selected and d["departure_id"] == selected["departure_id"]), 0)
        if deps:
            self.departuresTable.selectRow(row)

    @staticmethod
    def _fit(table: QTableWidget) -> None:
        """The figures whole, never scrolled: a few rows, every one of them read."""
        table.resizeColumnsToContents()
        table.resizeRowsToContents()
        frame = 2 * table.frameWidth()
        table.setFixedHeight(table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(table.rowCount()))
                             + frame)
        table.setFixedWidth(sum(table.columnWidth(c) for c in range(table.columnCount())) + frame + 24)

    def selected(self) -> dict | None:
        if self.figures is None:
            return None
        row = self.departuresTable.currentRow()
        deps = self.figures["departures"]
        return deps[row] if 0 <= row < len(deps) else None


class SupervisorMode(KeyMode):
    """The view in the window's stack, its keys, its worker and its dialogs."""

    loaded = Signal(object)  # the figures shown (tests wait on it)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.supervisor: Supervisor | None = None
        self.view = SupervisorView()
        window.stack.addWidget(self.view)
        handlers = {
            "sup_refresh": self.refresh,
            "sup_cancel": self.cancel,
            "sup_delay": self.delay,
            "sup_extra": self.extra,
            "sup_export": self.export,
            "sup_day_prev": lambda: self.step_day(-1),
            "sup_day_next": lambda: self.step_day(1),
        }
        self.bind_keys(handlers, actions.SUPERVISOR_WHERE)
        self.worker = WorkerThread("supervisor", self)
        self.retranslate()

    def enter(self, user) -> None:
        backend = self.window.backend
        sync = self.window.sync
        client = getattr(sync, "client", None)
        self.supervisor = Supervisor(backend.db, backend.terminal, code=user.code, name=user.name,
                                     clock=backend.clock, fetch_day=getattr(client, "station_day", None))
        self.switch_in((getattr(self.window, "gateMode", None),))
        self.window.stack.setCurrentWidget(self.view)
        self.view.departuresTable.setFocus(Qt.FocusReason.OtherFocusReason)
        self.load(self.supervisor.today())

    def leave(self) -> None:
        if self.switch_out():
            self.supervisor = None

    def stop(self) -> None:
        self.worker.stop()

    def retranslate(self) -> None:
        self.retranslate_keys()
        self.view.retranslate()

    # --- the day ------------------------------------------------------------------------------

    def load(self, day: date) -> None:
        supervisor = self.supervisor
        if supervisor is None:
            return
        self.view.loading(day)
        self.worker.submit(lambda: supervisor.day(day), self._loaded, self._failed)

    def _loaded(self, figures: dict) -> None:
        if not self.active:
            return
        self.view.load(figures)
        self.loaded.emit(figures)

    def _failed(self, exc: Exception) -> None:
        log.warning("the station's day could not be read: %s", exc)
        show_message(self.view.messageLabel, error_text(exc))

    def refresh(self) -> None:
        self.load(self.view.day or self.supervisor.today())

    def step_day(self, by: int) -> None:
        self.load((self.view.day or self.supervisor.today()) + timedelta(days=by))

    def export(self) -> None:
        figures = self.view.figures
        if figures is None:
            return
        folder = paths.data_dir() / "exports"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            where = "province" if figures.get("source") == "server" else "terminal"
            path = export_csv(figures, folder / f"kezhan-day-{figures['station']}-{figures['date']}-{where}.csv")
        except OSError as exc:
            show_message(self.view.messageLabel, self.tr("导出失败：%1").replace("%1", str(exc)))
            return
        show_message(self.view.messageLabel, self.tr("已导出：%1").replace("%1", str(path)), ok=True)

    # --- the departure actions ------------------------------------------------------------------

    def _current(self) -> dict | None:
        d = self.view.selected()
        if d is None:
            show_message(self.view.messageLabel, self.tr("请先在列表中选择班次"))
        return d

    def _dialog(self, kind: str, title: str, fields: list[Field], submit, note: str = "") -> GateActionDialog | None:
        if self.window.dialog is not None or not self.active:
            return None
        dialog = GateActionDialog(kind, title, fields, submit, supervisor=True, note=note, parent=self.window)
        dialog.setObjectName(f"supervisor_{kind}Dialog")
        dialog.supervisorCodeEdit.setText(self.supervisor.code)
        dialog.done_operation.connect(self._done)
        self.window._open(dialog)
        dialog.resize(min(self.window.width() - 80, 760), min(self.window.height() - 80, 460))
        dialog.open_focused()
        return dialog

    def _done(self, kind: str, result) -> None:
        texts = {
            "cancel": lambda: self.tr("已停班 %1：%2 张车票转为免费退票任务").replace("%1", result.departure_id)
            .replace("%2", str(result.tasks)),
            "delay": lambda: self.tr("已晚点 %1：新的发车时间 %2 %3").replace("%1", result.departure_id)
            .replace("%2", result.date).replace("%3", result.time),
            "extra": lambda: self.tr("已加班 %1：%2 座，可立即售票").replace("%1", result.departure_id)
            .replace("%2", str(result.seats)),
        }
        show_message(self.view.messageLabel, texts[kind], ok=True)
        after = getattr(self.window.backend, "on_local_event", None)
        if after is not None:
            after()  # the event to the server soon, as a sale's is
        self.refresh()

    def _reason(self) -> Field:
        return Field("reason", self.tr("原因"))

    def cancel(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        sup = self.supervisor
        return self._dialog(
            "cancel", self.tr("停班：%1 %2").replace("%1", d["time"]).replace("%2", d["departure_id"]), [self._reason()],
            lambda v, a: sup.cancel(d["departure_id"], v["reason"], approver=a),
            note=self.tr("停班后本班次停止售票；已售车票转为免费退票任务，售票员在 F11 中办理。"))

    def delay(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        sup = self.supervisor
        day = (self.view.day or sup.today()).isoformat()
        return self._dialog(
            "delay", self.tr("晚点：%1 %2").replace("%1", d["time"]).replace("%2", d["departure_id"]),
            [Field("date", self.tr("新的日期"), day), Field("time", self.tr("新的发车时间"), d["time"]),
             self._reason()],
            lambda v, a: sup.delay(d["departure_id"], v["date"], v["time"], v["reason"], approver=a),
            note=self.tr("车票保留原座位，各终端的班次列表显示新的时间。"))

    def extra(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        sup = self.supervisor
        day = (self.view.day or sup.today()).isoformat()

        def submit(v, a):
            try:
                seats = int(v["seats"])
            except ValueError:
                seats = -1  # the service says what is wrong with it
            return sup.add_extra(d["departure_id"], v["date"], v["time"], seats, v["reason"], approver=a)

        return self._dialog(
            "extra", self.tr("加班：按 %1 %2 加开").replace("%1", d["time"]).replace("%2", d["departure_id"]),
            [Field("date", self.tr("日期"), day), Field("time", self.tr("发车时间"), d["time"]),
             Field("seats", self.tr("座位数"), str(d["seats"])), self._reason()],
            submit, note=self.tr("加班车与所选班次同线路、同车型、同票价；座位全部租给本机，立即可售。"))
