"""The gate inside the station window: the gate view in the window's stack, its keys, its dialogs
and its road bill on the window's printer.

A gate checker signing in switches the window to the gate (:meth:`GateMode.enter`): the counter's
keys are disabled and the gate's enabled, so F2..F10 mean the gate's operations and nothing else;
signing out switches back. The devices stay the window's: a scan or a card tap reaches the gate
view through the window's ``on_scan`` / ``on_card``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QTimer

from app.errors import KezhanError
from app.ui import actions
from app.ui.dialogs import PreviewDialog
from app.ui.gate_dialogs import Field, GateActionDialog
from app.ui.gate_view import GateView
from app.ui.key_mode import KeyMode
from app.ui.widgets import error_text, show_message

log = logging.getLogger("kezhan.ui.gate_window")

@dataclass(frozen=True)
class RoadBillPaper:
    """What a road bill's printer job carries: the bill marked printed once the printer takes it
    (a bill the printer refused stays listed as unprinted, for F8)."""

    number: str


class GateMode(KeyMode):
    SHARED = (*KeyMode.SHARED, "demo_scan")

    def __init__(self, window, gate) -> None:
        super().__init__(window)
        self.gate = gate
        self.view = GateView(gate)
        self.view.checked.connect(self._after_local_event)
        self.view.changed.connect(self._after_local_event)
        window.stack.addWidget(self.view)
        handlers = {
            "gate_open": self.open_check,
            "gate_stop": self.stop_check,
            "gate_late": self.late_check,
            "gate_undo": self.undo_check,
            "gate_ride_change": self.ride_change,
            "gate_merge": self.merge,
            "gate_reprint_bill": lambda: self.print_road_bill(reprint=True),
            "gate_void_bill": self.void_road_bill,
            "gate_bill_preview": self.preview_road_bill,
            "gate_entry": self._entry,
            "gate_board": self._board,
        }
        self.bind_keys(handlers, actions.GATE_WHERE, on_bar=lambda a: a.operation or a.id == "gate_bill_preview")
        window.printer.job_finished.connect(self._job_finished)
        self.statusTimer = QTimer(self)
        self.statusTimer.setObjectName("gateStatusTimer")
        self.statusTimer.setSingleShot(True)
        self.statusTimer.setInterval(300)
        self.statusTimer.timeout.connect(window.refresh_status)
        self.retranslate()

    # --- switching ------------------------------------------------------------------------------

    def enter(self) -> None:
        self.switch_in((getattr(self.window, "supervisorMode", None),))
        self.window.stack.setCurrentWidget(self.view)
        self.view.start()
        self.view.set_device_state("scanner", self.window.scanner.state, self.window.scanner.message)
        self.view.set_device_state("reader", self.window.reader.state, self.window.reader.message)

    def leave(self) -> None:
        if self.switch_out():
            self.view.end_session()

    def retranslate(self) -> None:
        self.retranslate_keys()

    def device_state(self, device: str, state: str, message: str) -> None:
        self.view.set_device_state(device, state, message)

    def _after_local_event(self, *_args) -> None:
        after = getattr(self.gate, "after_local_event", None)
        if after is not None:
            after()
        # The status bar (the upload backlog) a moment later, not in the frame that shows the verdict;
        # a run of scans refreshes it once.
        if not self.statusTimer.isActive():
            self.statusTimer.start()

    def _entry(self) -> None:
        if self.window.dialog is None:
            self.view.focus_entry()

    def _board(self) -> None:
        if self.window.dialog is None:
            self.view.focus_board()

    # --- operations -----------------------------------------------------------------------------

    def _current(self):
        d = self.view.current
        if d is None:
            show_message(self.view.messageLabel, lambda: self.tr("请先选择检票班次（Ctrl+B 到班次列表）"))
        return d

    def _dialog(self, kind: str, title: str, fields: list[Field], submit, *, supervisor: bool = True,
                note: str = "") -> GateActionDialog | None:
        if self.window.dialog is not None or not self.active:
            return None
        dialog = GateActionDialog(kind, title, fields, submit, supervisor=supervisor, note=note, parent=self.window)
        dialog.done_operation.connect(self._done)
        self.window._open(dialog)
        dialog.resize(min(self.window.width() - 80, 760), min(self.window.height() - 80, 420))
        dialog.open_focused()
        return dialog

    def _done(self, kind: str, result) -> None:
        departure = result if hasattr(result, "state") and hasattr(result, "opens_at") else None
        if hasattr(result, "code") and hasattr(result, "tone"):  # a Verdict (undo, ride change)
            self.view.show_verdict(result)
        self.view.after_change(departure)
        if kind == "stop":
            # The bill is committed: to the printer now, and its preview once the stop dialog has closed.
            self.print_road_bill()
            QTimer.singleShot(0, self.preview_road_bill)

    def _reason_field(self) -> Field:
        return Field("reason", self.tr("原因"))

    def _last_ticket(self) -> str:
        """The ticket of the last verdict that named one: what an undo or a ride change is usually for."""
        return next((v.ticket_id for v in self.view.verdicts if v.ticket_id), "") or ""

    def _other_departures(self, current) -> tuple[tuple[str, str], ...]:
        """Today's other departures still to leave: this terminal's gates first, then the station's."""
        try:
            station = list(self.gate.station_departures())
        except (KezhanError, AttributeError) as exc:
            log.info("the station's departures: %s", exc)
            station = []
        mine = {d.id for d in self.view.departures}
        ordered = list(self.view.departures) + [d for d in station if d.id not in mine]
        return tuple((d.id, self._departure_text(d)) for d in ordered
                     if d.id != current.id and d.state not in ("departed", "merged"))

    def _departure_text(self, d) -> str:
        gate = self.tr("%1 号检票口").replace("%1", d.gate) if d.gate else ""
        return f"{self.view._local(d.departs_at)} {d.schedule_code} {d.destination_names} {gate}".strip()

    def open_check(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        try:
            crews = list(self.gate.recent_crews())
        except KezhanError as exc:
            log.info("recent crews: %s", exc)
            crews = []
        plates = tuple(dict.fromkeys(p for p, _d in crews if p))
        drivers = tuple(dict.fromkeys(dr for _p, dr in crews if dr))
        return self._dialog(
            "open", self.tr("开检：%1").replace("%1", f"{self.view._local(d.departs_at)} {d.schedule_code}"),
            [Field("vehicle", self.tr("车牌"), d.plate or "", suggestions=plates),
             Field("driver", self.tr("驾驶员"), d.driver or "", suggestions=drivers)],
            lambda v, _a: self.gate.open_check(d.id, vehicle=v["vehicle"], driver=v["driver"]), supervisor=False)

    def stop_check(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        note = self.tr("已检 %1 人，未检 %2 人。停检后生成路单并打印。").replace("%1", str(d.checked)).replace(
            "%2", str(d.unchecked))
        return self._dialog("stop", self.tr("停检：%1").replace("%1", f"{self.view._local(d.departs_at)} {d.schedule_code}"),
                            [], lambda _v, _a: self.gate.stop_check(d.id), supervisor=False, note=note)

    def late_check(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        return self._dialog("late", self.tr("补检：%1").replace("%1", f"{self.view._local(d.departs_at)} {d.schedule_code}"),
                            [self._reason_field()],
                            lambda v, a: self.gate.late_check(d.id, reason=v["reason"], approver=a))

    def undo_check(self) -> GateActionDialog | None:
        if self._current() is None:
            return None
        return self._dialog("undo", self.tr("注销检票"),
                            [Field("ticket", self.tr("票号"), self._last_ticket()), self._reason_field()],
                            lambda v, a: self.gate.undo_check(v["ticket"], reason=v["reason"], approver=a),
                            note=self.tr("路单生成后不能注销检票。"))

    def ride_change(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        # Mostly a passenger of another bus boarding the one being checked: that one is offered first.
        here = ((d.id, self._departure_text(d)),)
        return self._dialog("ride_change", self.tr("改乘"),
                            [Field("ticket", self.tr("票号"), self._last_ticket()),
                             Field("target", self.tr("改乘班次"), choices=here + self._other_departures(d)),
                             self._reason_field()],
                            lambda v, a: self.gate.ride_change(v["ticket"], v["target"], reason=v["reason"], approver=a),
                            note=self.tr("改乘班次须经停该票的到站；原座位释放。"))

    def merge(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        return self._dialog("merge", self.tr("并班：%1 并入").replace("%1", f"{self.view._local(d.departs_at)} {d.schedule_code}"),
                            [Field("target", self.tr("并入班次"), choices=self._other_departures(d)),
                             self._reason_field()],
                            lambda v, a: self.gate.merge(d.id, v["target"], reason=v["reason"], approver=a),
                            note=self.tr("并班后，本班次的车票在并入班次检票。"))

    def void_road_bill(self) -> GateActionDialog | None:
        d = self._current()
        if d is None:
            return None
        return self._dialog("void_bill", self.tr("作废路单 %1").replace("%1", d.road_bill_no or "—"),
                            [self._reason_field()],
                            lambda v, a: self.gate.void_road_bill(d.id, reason=v["reason"], approver=a))

    # --- the road bill ------------------------------------------------------------------------

    def _bill_bytes(self, d, *, reprint: bool) -> bytes | None:
        try:
            return self.gate.road_bill_bytes(d.id, reprint=reprint)
        except KezhanError as exc:
            show_message(self.view.messageLabel, lambda exc=exc: error_text(exc))
            return None

    def print_road_bill(self, *, reprint: bool = False) -> None:
        """Print the current departure's road bill (committed first, by the stop)."""
        d = self._current()
        if d is None:
            return
        data = self._bill_bytes(d, reprint=reprint)
        if not data:
            if not self.view.messageLabel.text():
                show_message(self.view.messageLabel, lambda: self.tr("本班次还没有路单（F3 停检后生成）"))
            return
        self.window.last_ticket_bytes = data
        self.window.printer.print_job(data, RoadBillPaper(d.road_bill_no) if d.road_bill_no else None)
        show_message(self.view.messageLabel, lambda: self.tr("路单已送打印机"), ok=True, kind="print")

    def preview_road_bill(self) -> PreviewDialog | None:
        d = self._current()
        if d is None:
            return None
        data = self._bill_bytes(d, reprint=False)
        if not data:
            if not self.view.messageLabel.text():
                show_message(self.view.messageLabel, lambda: self.tr("本班次还没有路单（F3 停检后生成）"))
            return None
        return self._preview(data)

    def _preview(self, data: bytes) -> PreviewDialog | None:
        if self.window.dialog is not None:
            return None
        try:
            png = self.gate.render_png(data)
        except KezhanError as exc:
            log.warning("road bill preview failed: %s", exc)
            png = None
        dialog = PreviewDialog(png, self.window)
        dialog.titleLabel.setText(self.tr("路单打印预览（Esc 关闭）"))
        self.window._open(dialog)
        return dialog

    def _job_finished(self, paper, ok: bool) -> None:
        if ok and isinstance(paper, RoadBillPaper):
            try:
                self.gate.mark_road_bill_printed(paper.number)
            except KezhanError as exc:
                log.warning("cannot mark road bill %s printed: %s", paper.number, exc)

    def printed(self, ok: bool, message: str) -> None:
        if not ok:
            # The bill is committed and numbered; only its paper is missing. F8 prints it again.
            show_message(self.view.messageLabel,
                         lambda: self.tr("路单打印失败：%1（路单已保存，F8 补打）").replace("%1", message), kind="print")
