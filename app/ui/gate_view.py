"""The gate view: the gate checker's (检票员) screen.

Left, today's departures at this terminal's gates with their check state and the time to the next
opening; right, the departure being checked: its counters, its seat map with the boarded seats, the
entry field (a scan, a typed ticket or stock number) and the last verdicts. A scan or a card tap is
answered by a verdict covering the whole view (:mod:`app.ui.gate_verdict`), painted in the call
that handled the input, and a sound (:mod:`app.ui.gate_sounds`).

The check itself is the services' :class:`~app.services.gate.Gate`, called on the GUI thread like a
sale: a few indexed reads and one small write, and a verdict has to be on screen within a frame.
What is not the verdict waits until it is painted (the next turn of the event loop): the sound, the
flush that makes the check durable against a power loss (docs/gate.md § Durability), the counters,
the seat map, the last verdicts and the window's status bar.
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import KezhanError
from app.ui import theme
from app.ui.gate_seats import SeatGrid
from app.ui.gate_sounds import Player
from app.ui.gate_verdict import VerdictPanel
from app.ui.sale_view import _KeyFilter
from app.ui.widgets import clear_message, error_text, focus, label, line_edit, show_message

log = logging.getLogger("kezhan.ui.gate")

ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)

STATE_WORDS = {
    # state: (Chinese, English, colour)
    "waiting": ("待检", "waiting", "#111111"),
    "checking": ("检票中", "checking", "#0a6b2b"),
    "stopped": ("已停检", "stopped", "#6b6b6b"),
    "late": ("补检中", "late check", "#b35c00"),
    "departed": ("已发车", "departed", "#6b6b6b"),
    "merged": ("已并班", "merged", "#6b6b6b"),
}

# Concession types announced in big type with the card the checker must ask for (the ticket type
# codes of the province's ticket types); other types by their name, a full fare not at all.
ANNOUNCED = {
    "student": ("学生票 — 请出示学生证", "Student ticket — ask for the student card"),
    "military": ("军人票 — 请出示军官证 / 士兵证", "Military ticket — ask for the service card"),
    "disabled": ("军残 / 警残票 — 请出示伤残证", "Disabled military / police — ask for the disability card"),
    "senior": ("老年票 — 请出示老年证", "Senior ticket — ask for the senior card"),
    "child": ("儿童票", "Child ticket"),
    "free_child": ("免票儿童", "Free child"),
}


def announced_type(ticket_type: str | None, type_name: str | None, en: bool) -> str:
    words = ANNOUNCED.get(ticket_type or "")
    if words is not None:
        return words[1] if en else words[0]
    if not ticket_type or ticket_type in ("full", "adult"):
        return ""
    return type_name or ticket_type


def _fixed_columns(table: QTableWidget, samples: tuple) -> None:
    """Column widths from the font and samples of each column's widest texts, in both languages
    (None: the column that stretches). Sizing to contents would measure every cell again at every
    scan's refill."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    metrics = table.fontMetrics()
    for column, sample in enumerate(samples):
        if sample is None:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        else:
            table.setColumnWidth(column, max(metrics.horizontalAdvance(s) for s in sample) + 24)


def _table(name: str, columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setTabKeyNavigation(False)
    table.setAlternatingRowColors(True)
    return table


class GateView(QWidget):
    """The gate checker's home screen over a :class:`~app.services.gate.Gate` (``gate``)."""

    checked = Signal(object)  # a Verdict: the window nudges the sync link and its status bar
    changed = Signal()  # a departure's state changed (open, stop, undo...): the window nudges too

    REFRESH_MS = 15000  # the board re-reads the departures this often (other gates, the clock)

    def __init__(self, gate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gateView")
        self.gate = gate
        self.departures: list = []
        self.current = None  # the GateDeparture being checked
        self.verdicts: list = []  # this session's, newest first (the service's recent() when it has them)
        self.sounds = Player()
        self.scanner_state = ("none", "")
        self.reader_state = ("none", "")
        self._pending = None  # a painted verdict whose follow-up (_after_paint) has not run yet
        self._build()
        self.verdictPanel = VerdictPanel(self)
        self.tickTimer = QTimer(self)
        self.tickTimer.setObjectName("gateTick")
        self.tickTimer.timeout.connect(self._tick)
        self.tickTimer.start(1000)
        self.refreshTimer = QTimer(self)
        self.refreshTimer.setObjectName("gateRefresh")
        self.refreshTimer.timeout.connect(self.refresh)
        self.retranslate()

    # --- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 4)
        outer.setSpacing(6)
        outer.addLayout(self._build_header())
        body = QHBoxLayout()
        body.addWidget(self._build_board(), 4)
        body.addWidget(self._build_current(), 6)
        outer.addLayout(body, 1)

    def _build_header(self) -> QHBoxLayout:
        header = QHBoxLayout()
        self.titleLabel = label(role="title", name="gateTitle")
        self.clockLabel = label(role="date", name="gateClock")
        self.nextLabel = label(role="hint", name="gateNextOpening")
        self.scannerLabel = label(role="hint", name="gateScannerState")
        self.readerLabel = label(role="hint", name="gateReaderState")
        header.addWidget(self.titleLabel)
        header.addSpacing(16)
        header.addWidget(self.clockLabel)
        header.addSpacing(16)
        header.addWidget(self.nextLabel)
        header.addStretch(1)
        header.addWidget(self.scannerLabel)
        header.addSpacing(12)
        header.addWidget(self.readerLabel)
        return header

    def _build_board(self) -> QGroupBox:
        self.boardBox = QGroupBox()
        self.boardBox.setObjectName("gateBoardBox")
        v = QVBoxLayout(self.boardBox)
        self.departuresTable = _table("gateDeparturesTable", 5)
        _fixed_columns(self.departuresTable, (("00:00", "Departs"), None, ("检票口", "Gate"),
                                              ("检票中", "late check"), ("00:00", "Opens")))
        self.departuresTable.installEventFilter(_KeyFilter(self, {
            **{k: self.choose_selected for k in ENTER},
            Qt.Key.Key_Escape: self.focus_entry,
        }))
        self.departuresTable.doubleClicked.connect(lambda _i: self.choose_selected())
        v.addWidget(self.departuresTable, 1)
        self.boardHint = label(role="hint", name="gateBoardHint")
        self.boardHint.setWordWrap(True)
        v.addWidget(self.boardHint)
        return self.boardBox

    def _build_current(self) -> QGroupBox:
        self.currentBox = QGroupBox()
        self.currentBox.setObjectName("gateCurrentBox")
        v = QVBoxLayout(self.currentBox)
        v.setSpacing(4)
        self.currentTitle = label(role="title", name="gateCurrentTitle")
        self.currentTitle.setWordWrap(True)
        self.currentInfo = label(role="hint", name="gateCurrentInfo")
        self.currentInfo.setWordWrap(True)
        v.addWidget(self.currentTitle)
        v.addWidget(self.currentInfo)
        v.addWidget(self._build_counters())
        self.seatGrid = SeatGrid()
        v.addWidget(self.seatGrid, 3)
        self.seatLegend = label(role="hint", name="gateSeatLegend")
        v.addWidget(self.seatLegend)
        entry = QHBoxLayout()
        self.entryCaption = label(role="section")
        self.entryEdit = line_edit("gateEntryEdit")
        self.entryEdit.installEventFilter(_KeyFilter(self, {
            **{k: self.enter_typed for k in ENTER},
            Qt.Key.Key_Escape: self._escape,
        }))
        entry.addWidget(self.entryCaption)
        entry.addWidget(self.entryEdit, 1)
        v.addLayout(entry)
        self.messageLabel = label(role="error", name="gateMessage")
        self.messageLabel.setWordWrap(True)
        v.addWidget(self.messageLabel)
        self.recentTable = _table("gateRecentTable", 5)
        self.recentTable.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        _fixed_columns(self.recentTable, (("00:00:00",), None, ("欧阳小明", "Passenger"), ("座号", "Seat"),
                                          ("杭州东站",)))
        v.addWidget(self.recentTable, 2)
        return self.currentBox

    def _build_counters(self) -> QFrame:
        frame = QFrame()
        frame.setObjectName("gateCounters")
        grid = QGridLayout(frame)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(0)
        self.counterCaptions: dict[str, object] = {}
        self.counterValues: dict[str, object] = {}
        for col, key in enumerate(("seats", "sold", "checked", "unchecked", "free_children", "ride_changes")):
            caption = label(role="section")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            value = label(role="big", name=f"gateCount_{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(caption, 0, col)
            grid.addWidget(value, 1, col)
            self.counterCaptions[key] = caption
            self.counterValues[key] = value
        return frame

    # --- language -----------------------------------------------------------------------------

    def en(self) -> bool:
        return theme.language() == "en"

    def retranslate(self) -> None:
        self.boardBox.setTitle(self.tr("今日班次（本检票口）"))
        self.departuresTable.setHorizontalHeaderLabels(
            [self.tr("发车"), self.tr("班次 / 到站"), self.tr("检票口"), self.tr("状态"), self.tr("开检")])
        self.recentTable.setHorizontalHeaderLabels(
            [self.tr("时间"), self.tr("结果"), self.tr("乘客"), self.tr("座号"), self.tr("到站")])
        self.boardHint.setText(self.tr("↑↓ 选班次，Enter 设为当前检票班次；F2 开检，F3 停检"))
        self.currentBox.setTitle(self.tr("当前检票班次"))
        captions = {"seats": self.tr("座位"), "sold": self.tr("已售"), "checked": self.tr("已检"),
                    "unchecked": self.tr("未检"), "free_children": self.tr("免票儿童"),
                    "ride_changes": self.tr("改乘")}
        for key, caption in self.counterCaptions.items():
            caption.setText(captions[key])
        self.seatLegend.setText(self.tr("绿色 ✓ 已检　蓝色 已售未检　白色 空座　灰色 留座"))
        self.entryCaption.setText(self.tr("扫码 / 票号"))
        self.entryEdit.setPlaceholderText(self.tr("扫描车票二维码，或输入票号 / 票卷号后按 Enter"))
        self._show_title()
        self._show_device_states()
        self._fill_board()
        self._fill_current()
        self._fill_recent()
        self._tick()

    def _show_title(self) -> None:
        user = getattr(self.gate, "user", None)
        gates = "、".join(getattr(self.gate, "gates", ()) or ())
        who = f"{user.code} {user.name}" if user is not None else ""
        title = self.tr("检票口 %1").replace("%1", gates) if gates else self.tr("检票口")
        self.titleLabel.setText(f"{title}　{who}".strip())

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- session --------------------------------------------------------------------------------

    def start(self) -> None:
        """A checker signed in: the board, the departure to check first, the cursor in the entry."""
        self.verdicts = []
        self.verdictPanel.dismiss()
        clear_message(self.messageLabel)
        self._show_title()
        self.current = None
        self.refresh()
        self.refreshTimer.start(self.REFRESH_MS)
        self.focus_entry()

    def end_session(self) -> None:
        self.settle()
        self.refreshTimer.stop()
        self.verdictPanel.dismiss()
        self.current = None
        self.verdicts = []
        self.entryEdit.clear()
        clear_message(self.messageLabel)

    # --- the board ------------------------------------------------------------------------------

    def refresh(self) -> None:
        try:
            self.departures = list(self.gate.departures())
        except KezhanError as exc:
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
            self.departures = []
        if self.current is not None:
            self.current = next((d for d in self.departures if d.id == self.current.id), self.current)
        else:
            self.current = self._first_to_check()
        self._fill_board()
        self._fill_current()
        self._fill_recent()
        self._tick()

    def _first_to_check(self):
        for states in (("checking", "late"), ("waiting",), ("stopped",)):
            for d in self.departures:
                if d.state in states:
                    return d
        return self.departures[0] if self.departures else None

    def _state_text(self, state: str) -> str:
        zh, en, _colour = STATE_WORDS.get(state, (state, state, "#111111"))
        return en if self.en() else zh

    def _local(self, instant: datetime | None, fmt: str = "%H:%M") -> str:
        if instant is None:
            return ""
        return instant.astimezone(self.gate.terminal.zone).strftime(fmt)

    def _fill_board(self) -> None:
        from PySide6.QtGui import QColor

        table = self.departuresTable
        table.setRowCount(len(self.departures))
        for row, d in enumerate(self.departures):
            route = " ".join(x for x in (d.schedule_code, d.destination_names) if x)
            cells = [self._local(d.departs_at), route, d.gate, self._state_text(d.state), self._local(d.opens_at)]
            colour = QColor(STATE_WORDS.get(d.state, ("", "", "#111111"))[2])
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 3:
                    item.setForeground(colour)
                if self.current is not None and d.id == self.current.id:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(row, col, item)

    def choose_selected(self) -> None:
        row = self.departuresTable.currentRow()
        if 0 <= row < len(self.departures):
            self.choose(self.departures[row].id)
        self.focus_entry()

    def choose(self, departure_id: str) -> None:
        self.current = next((d for d in self.departures if d.id == departure_id), None)
        if self.current is None:
            try:
                self.current = self.gate.departure(departure_id)
            except KezhanError as exc:
                show_message(self.messageLabel, lambda exc=exc: error_text(exc))
                return
        clear_message(self.messageLabel)
        self._fill_board()
        self._fill_current()
        self._fill_recent()

    def focus_board(self) -> None:
        focus(self.departuresTable)
        if self.departuresTable.currentRow() < 0 and self.departures:
            self.departuresTable.selectRow(0)

    def focus_entry(self) -> None:
        focus(self.entryEdit)

    # --- the departure being checked ------------------------------------------------------------

    def _fill_current(self) -> None:
        d = self.current
        if d is None:
            self.currentTitle.setText(self.tr("没有今日班次"))
            self.currentInfo.clear()
            for value in self.counterValues.values():
                value.setText("—")
            self.seatGrid.set_seats({})
            return
        self.currentTitle.setText(f"{self._local(d.departs_at)}　{d.schedule_code}　{d.destination_names}　"
                                  f"{self._state_text(d.state)}")
        bits = [self.tr("检票口 %1").replace("%1", d.gate)]
        if d.plate:
            bits.append(self.tr("车牌 %1").replace("%1", d.plate))
        if d.driver:
            bits.append(self.tr("驾驶员 %1").replace("%1", d.driver))
        bits.append(self.tr("开检 %1").replace("%1", self._local(d.opens_at)))
        bits.append(self.tr("补检截止 %1").replace("%1", self._local(d.late_until)))
        if d.road_bill_no:
            bits.append(self.tr("路单 %1").replace("%1", d.road_bill_no))
        self.currentInfo.setText("　".join(bits))
        values = {"seats": d.seats, "sold": d.sold, "checked": d.checked, "unchecked": d.unchecked,
                  "free_children": f"{d.free_children}/{d.free_children_cap}", "ride_changes": d.ride_changes}
        for key, value in values.items():
            self.counterValues[key].setText(str(value))
        try:
            self.seatGrid.set_seats(self.gate.seat_map(d.id))
        except KezhanError as exc:
            log.warning("seat map of %s: %s", d.id, exc)
            self.seatGrid.set_seats({})

    def _fill_recent(self) -> None:
        """The last verdicts of the departure being checked, newest first (the service keeps them per
        departure; a scan the drivers could not read at all was never the service's and is not listed)."""
        rows = []
        if self.current is not None:
            try:
                rows = list(self.gate.recent(self.current.id, limit=8))
            except KezhanError as exc:
                log.info("recent verdicts: %s", exc)
        rows = rows[:8]
        from PySide6.QtGui import QColor

        table = self.recentTable
        table.setRowCount(len(rows))
        colours = {"green": "#0a6b2b", "amber": "#8a4500", "red": "#b00020"}
        for row, v in enumerate(rows):
            cells = [self._local(v.at, "%H:%M:%S"), v.text(theme.language()), v.passenger or "",
                     "" if v.seat_no is None else str(v.seat_no), v.destination or ""]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 1:
                    item.setForeground(QColor(colours.get(v.tone, "#111111")))
                table.setItem(row, col, item)

    # --- the clock -----------------------------------------------------------------------------

    def _tick(self) -> None:
        now = self.gate.now()
        self.clockLabel.setText(self._local(now, "%H:%M:%S"))
        upcoming = [d for d in self.departures if d.state == "waiting" and d.opens_at > now]
        if not upcoming:
            self.nextLabel.setText("")
            return
        d = min(upcoming, key=lambda x: x.opens_at)
        seconds = int((d.opens_at - now).total_seconds())
        h, rest = divmod(seconds, 3600)
        m, s = divmod(rest, 60)
        left = f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
        self.nextLabel.setText(self.tr("下一班开检：%1 %2（还有 %3）").replace("%1", self._local(d.departs_at)).replace(
            "%2", d.schedule_code or d.destination_names).replace("%3", left))

    # --- devices ------------------------------------------------------------------------------

    def set_device_state(self, device: str, state: str, message: str = "") -> None:
        """``device`` "scanner" or "reader"; ``state`` as the device adapters report it. A lost
        device says so here and, while a departure is being checked, on the message line, with the
        other input to use meanwhile."""
        if device == "scanner":
            self.scanner_state = (state, message)
        else:
            self.reader_state = (state, message)
        self._show_device_states()
        scanner_lost = lambda: self.tr("扫码枪已断开：请刷身份证或输入票号继续检票")  # noqa: E731
        reader_lost = lambda: self.tr("读卡器已断开：请扫码或输入票号继续检票")  # noqa: E731
        if state == "lost":
            show_message(self.messageLabel, scanner_lost if device == "scanner" else reader_lost, kind="device")
        elif state == "ready":
            clear_message(self.messageLabel, "device")
            # The other device may still be out: its warning stands.
            if self.scanner_state[0] == "lost":
                show_message(self.messageLabel, scanner_lost, kind="device")
            elif self.reader_state[0] == "lost":
                show_message(self.messageLabel, reader_lost, kind="device")

    def _show_device_states(self) -> None:
        words = {
            "scanner": {"ready": self.tr("扫码枪：就绪"), "lost": self.tr("扫码枪：已断开"),
                        "none": self.tr("扫码枪：键盘口"), "unknown": self.tr("扫码枪：检测中")},
            "reader": {"ready": self.tr("读卡器：就绪"), "lost": self.tr("读卡器：已断开"),
                       "none": self.tr("读卡器：未配置"), "unknown": self.tr("读卡器：检测中")},
        }
        for device, widget, (state, _m) in (("scanner", self.scannerLabel, self.scanner_state),
                                            ("reader", self.readerLabel, self.reader_state)):
            widget.setText(words[device].get(state, words[device]["unknown"]))
            widget.setProperty("role", "error" if state == "lost" else "hint")
            theme.repolish(widget)

    # --- checking -------------------------------------------------------------------------------

    def _need_current(self) -> bool:
        if self.current is None:
            show_message(self.messageLabel, lambda: self.tr("请先选择检票班次（Ctrl+B 到班次列表）"))
            return False
        return True

    def enter_typed(self) -> None:
        """Enter in the entry field: what was typed is a ticket or stock number (a scanner's burst
        never gets here: the wedge filter takes its Enter and delivers it as a scan)."""
        text = self.entryEdit.text().strip()
        if not text:
            return
        self.check_text(text)

    def check_text(self, text: str) -> None:
        self.entryEdit.clear()
        if not self._need_current():
            return
        self._judge(lambda: self.gate.check_text(text, self.current.id))

    def check_card(self, card) -> None:
        if not self._need_current():
            return
        self._judge(lambda: self.gate.check_card(card, self.current.id))

    def scan_failed(self, message: str) -> None:
        """A garbled or partial scan: the drivers could not read a code at all."""
        from app.services.gate import Verdict

        self.entryEdit.clear()
        self.show_verdict(Verdict(code="UNREADABLE", tone="red", message=f"无法识别：{message}",
                                  en=f"Unreadable: {message}", sound="refuse", at=self.gate.now()))

    def _judge(self, check) -> None:
        self.settle()  # the last scan's follow-up first, in order
        try:
            verdict = check()
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("check failed")
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
            self.sounds.play("refuse")
            return
        self.show_verdict(verdict, after=False)
        # The rest once the verdict is on screen: a zero timer runs on the event loop's next turn.
        self._pending = verdict
        QTimer.singleShot(0, self.settle)

    def settle(self) -> None:
        """Run the last verdict's follow-up now if the event loop has not yet: before the next
        scan, and for anything that reads the counters or the seat map right after a verdict."""
        verdict, self._pending = self._pending, None
        if verdict is not None:
            self._after_paint(verdict)

    def show_verdict(self, verdict, *, after: bool = True) -> None:
        """The verdict on the whole pane, painted now; the sound and the counters follow it."""
        en = self.en()
        self.verdictPanel.show_verdict(verdict, theme.language(),
                                       type_name=announced_type(verdict.ticket_type, getattr(verdict, "type_name", None), en)
                                       if verdict.boards else "")
        # Painted here rather than by the event loop's update: its update request is a low-priority
        # event, which the zero timer of the work after the verdict would overtake.
        self.verdictPanel.repaint()
        self.verdicts.insert(0, verdict)
        del self.verdicts[50:]
        if after:
            self.sounds.play(verdict.sound)

    def _after_paint(self, verdict) -> None:
        """What follows a checked verdict on screen, in the order the checker needs it."""
        self.sounds.play(verdict.sound)
        try:
            self.gate.flush()
        except Exception as exc:  # the check is committed; the sync is retried before the next scan
            log.warning("flush after a check: %s", exc)
        self.checked.emit(verdict)
        self._after_verdict(verdict)

    def _after_verdict(self, verdict) -> None:
        # Counters and the seat map from the file: what was written is what is shown. The board's
        # rows (times, states) do not change with a check.
        if verdict.boards and self.current is not None:
            try:
                self.current = self.gate.departure(self.current.id)
            except KezhanError as exc:
                log.warning("departure after a check: %s", exc)
            self._fill_current()
        self._fill_recent()

    def _escape(self) -> None:
        if not self.verdictPanel.dismiss():
            self.entryEdit.clear()

    def keyPressEvent(self, event):  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.verdictPanel.dismiss():
            return
        super().keyPressEvent(event)

    def after_change(self, departure=None) -> None:
        """An operation changed a departure (opened, stopped, merged...): show it as it is now."""
        if departure is not None:
            self.current = departure
        self.refresh()
        self.changed.emit()
