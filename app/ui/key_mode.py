"""A screen that takes over the window's F-keys while it is shown: the gate (app/ui/gate_window.py)
and the supervisor's day (app/ui/supervisor_view.py).

The counter's keys and the mode's are bound once, side by side; switching enables one set and
disables the other, so F2..F10 always mean exactly one screen's operations. A few of the window's
own keys (help, language, sign-out, the demo's) stay live in every mode.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, Qt
from PySide6.QtWidgets import QPushButton

from app.ui import actions


def short_label(text: str) -> str:
    """The F-key bar's caption: the action's label up to its first explanation."""
    return text.split("（")[0].split(" (")[0].split("：")[0].split(":")[0]


class KeyMode(QObject):
    # The window's own actions that stay live while the mode is shown.
    SHARED: tuple[str, ...] = ("help", "language", "logout", "demo_link", "demo_card")

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.active = False
        self.actions: dict = {}
        self.buttons: dict[str, QPushButton] = {}

    def bind_keys(self, handlers: dict, where: tuple[str, ...], *, on_bar=None) -> None:
        """Bind the mode's keys (off until :meth:`switch_in`) and add its buttons to the F-key bar,
        hidden; ``on_bar`` picks the actions that get a button (default: the operations)."""
        window = self.window
        self.actions = actions.bind(window, handlers, where=where)
        for action in self.actions.values():
            action.setEnabled(False)
        on_bar = on_bar or (lambda a: a.operation)
        bar = window.fkeyBar.layout()
        for a in actions.ACTIONS:
            if a.where in where and on_bar(a):
                button = QPushButton()
                button.setObjectName(f"fkey_{a.id}")
                button.setProperty("role", "fkey")
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                button.clicked.connect(self.actions[a.id].trigger)
                button.hide()
                bar.insertWidget(bar.count() - 1, button)  # before the bar's closing stretch
                self.buttons[a.id] = button

    def switch_in(self, others=()) -> None:
        """Enable this mode's keys and buttons, and of the window's only the shared ones; ``others``
        are other modes whose keys must be off too."""
        self.active = True
        for action_id, action in self.window.actions.items():
            action.setEnabled(action_id in self.SHARED)
        for mode in others:
            if mode is not None and mode is not self:
                for action in mode.actions.values():
                    action.setEnabled(False)
        for action in self.actions.values():
            action.setEnabled(True)
        for action_id, button in self.window.fkeyButtons.items():
            button.setVisible(action_id in self.SHARED)
        for button in self.buttons.values():
            button.show()

    def switch_out(self) -> bool:
        """Back to the window's keys; False when the mode was not shown."""
        if not self.active:
            return False
        self.active = False
        for action in self.actions.values():
            action.setEnabled(False)
        for action in self.window.actions.values():
            action.setEnabled(True)
        for button in self.window.fkeyButtons.values():
            button.show()
        for button in self.buttons.values():
            button.hide()
        return True

    def retranslate_keys(self) -> None:
        for action_id, button in self.buttons.items():
            a = actions.BY_ID[action_id]
            button.setText(f"{a.keys[0]} {short_label(QCoreApplication.translate(actions.CONTEXT, a.label))}")
        for action_id, action in self.actions.items():
            action.setText(QCoreApplication.translate(actions.CONTEXT, actions.BY_ID[action_id].label))
