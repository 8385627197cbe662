"""The gate's operation dialogs: open the check (plate and driver), and the exceptions a station
asks a supervisor for (late check, undo a check, ride change, merge, void a road bill).

One dialog shape for all of them, as the counter's ticket dialog has one shape for its five
operations: the fields, the supervisor's code and password when the operation needs them (the same
row and the same names as the counter's forced refund), the message line, confirm and close. The
operation itself is a call handed in by the window; what it raises is shown in the dialog, which
stays open for a correction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.errors import KezhanError
from app.ui.dialogs import _confirm_and_close, _quote_and_message, supervisor_row
from app.ui.sale_view import ENTER_KEYS as ENTER
from app.ui.sale_view import _KeyFilter
from app.ui.widgets import error_text, focus, label, line_edit, show_message

log = logging.getLogger("kezhan.ui.gate_dialogs")


@dataclass(frozen=True)
class Field:
    key: str
    caption: str
    default: str = ""
    choices: tuple[tuple[str, str], ...] | None = None  # (value, text): a list to pick from
    suggestions: tuple[str, ...] = ()  # typed freely, these offered as the checker types


class GateActionDialog(QDialog):
    """``submit(values, approver)`` does the operation (``approver`` is (code, password) or None)
    and returns its result, which ``done_operation`` carries to the window."""

    done_operation = Signal(str, object)  # kind, the service's result

    def __init__(self, kind: str, title: str, fields: list[Field], submit: Callable, *,
                 supervisor: bool = False, note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.submit = submit
        self.needs_supervisor = supervisor
        self.setObjectName(f"gate_{kind}Dialog")
        self.setModal(True)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.titleLabel = label(title, role="title", name="dialogTitle")
        layout.addWidget(self.titleLabel)
        if note:
            hint = label(note, role="hint", name="dialogNote")
            hint.setWordWrap(True)
            layout.addWidget(hint)
        form = QFormLayout()
        self.inputs: dict[str, QLineEdit | QComboBox] = {}
        order: list[QWidget] = []
        for f in fields:
            if f.choices is not None:
                widget = QComboBox()
                widget.setObjectName(f"field_{f.key}")
                for value, text in f.choices:
                    widget.addItem(text, value)
            else:
                widget = line_edit(f"field_{f.key}")
                widget.setText(f.default)
                if f.suggestions:
                    completer = QCompleter(list(f.suggestions), widget)
                    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
                    completer.setFilterMode(Qt.MatchFlag.MatchContains)
                    widget.setCompleter(completer)
            self.inputs[f.key] = widget
            order.append(widget)
            form.addRow(label(f.caption), widget)
        layout.addLayout(form)

        (self.supervisorBox, self.supervisorCaption, self.supervisorCodeEdit,
         self.supervisorPasswordEdit) = supervisor_row()
        self.supervisorCaption.setText(self.tr("值班站长"))
        self.supervisorCodeEdit.setPlaceholderText(self.tr("工号"))
        self.supervisorPasswordEdit.setPlaceholderText(self.tr("密码"))
        layout.addWidget(self.supervisorBox)
        self.supervisorBox.setVisible(supervisor)
        if supervisor:
            order += [self.supervisorCodeEdit, self.supervisorPasswordEdit]

        self.quoteLabel, self.messageLabel = _quote_and_message(layout)
        layout.addStretch(1)
        self.confirmButton, self.closeButton = _confirm_and_close(self, layout, role="primary")
        self.confirmButton.setText(self.tr("确认 Enter"))
        self.closeButton.setText(self.tr("关闭 Esc"))
        # Enter moves down the fields and confirms on the last, as the counter's dialogs do.
        for i, widget in enumerate(order):
            nxt = order[i + 1] if i + 1 < len(order) else None
            widget.installEventFilter(_KeyFilter(self, {
                k: (lambda n=nxt: focus(n)) if nxt is not None else self.confirm for k in ENTER}))
        self.confirmButton.installEventFilter(_KeyFilter(self, {k: self.confirm for k in ENTER}))
        self.first = order[0] if order else self.confirmButton

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.confirmButton.setText(self.tr("确认 Enter"))
            self.closeButton.setText(self.tr("关闭 Esc"))
        super().changeEvent(event)

    def values(self) -> dict[str, str]:
        out = {}
        for key, widget in self.inputs.items():
            out[key] = widget.currentData() if isinstance(widget, QComboBox) else widget.text().strip()
        return out

    def confirm(self) -> None:
        approver = None
        if self.needs_supervisor:
            if not self.supervisorCodeEdit.text().strip() or not self.supervisorPasswordEdit.text():
                show_message(self.messageLabel, self.tr("需要值班站长输入工号和密码"))
                focus(self.supervisorCodeEdit)
                return
            approver = (self.supervisorCodeEdit.text().strip(), self.supervisorPasswordEdit.text())
        missing = next((k for k, v in self.values().items() if not v), None)
        if missing is not None:
            show_message(self.messageLabel, self.tr("请填写所有项目"))
            focus(self.inputs[missing])
            return
        try:
            result = self.submit(self.values(), approver)
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("gate %s failed", self.kind)
            show_message(self.messageLabel, error_text(exc))
            if self.needs_supervisor:
                self.supervisorPasswordEdit.clear()
            return
        self.supervisorPasswordEdit.clear()
        self.done_operation.emit(self.kind, result)
        self.accept()

    def open_focused(self) -> None:
        self.first.setFocus(Qt.FocusReason.OtherFocusReason)
