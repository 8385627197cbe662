"""The gate's verdict: a full-pane green, amber or red panel the checker reads from a step away.

It is filled and shown in the same call that handled the scan's last key, so the next paint of the
window (one frame) already carries it: nothing about it waits for a timer or a thread.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.ui import theme

# Background, text colour. Green and red also differ in brightness, so a red-green colour-blind
# checker still tells them apart; amber carries dark text.
TONES = {
    "green": ("#0a7a2f", "#ffffff"),
    "amber": ("#f2b400", "#111111"),
    "red": ("#b00020", "#ffffff"),
}

HOLD_MS = 4000  # how long a verdict stays before the board shows again (the next scan replaces it)


class VerdictPanel(QFrame):
    """Covers its parent completely while shown. Takes no focus, so the next scan still goes to
    the entry field underneath."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("verdictPanel")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        # It paints every pixel of itself (paintEvent), so Qt leaves out whatever it covers — the
        # counters and the seat map a check has just changed — instead of painting them unseen in
        # the verdict's frame. A style-sheet background made Qt paint them all.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setAutoFillBackground(True)
        self._background = QColor(TONES["red"][0])
        self.verdict = None
        self.tone = ""
        self._styled: tuple | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 24, 40, 24)
        layout.setSpacing(8)
        self.messageLabel = self._label("verdictMessage")
        self.typeLabel = self._label("verdictType")
        self.passengerLabel = self._label("verdictPassenger")
        self.seatLabel = self._label("verdictSeat")
        self.hintLabel = self._label("verdictHint")
        layout.addStretch(1)
        for w in (self.messageLabel, self.typeLabel, self.passengerLabel, self.seatLabel):
            layout.addWidget(w)
        layout.addStretch(1)
        layout.addWidget(self.hintLabel)
        self.timer = QTimer(self)
        self.timer.setObjectName("verdictTimer")
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.hide)
        self.hide()
        parent.installEventFilter(self)

    def _label(self, name: str) -> QLabel:
        w = QLabel()
        w.setObjectName(name)
        w.setAlignment(Qt.AlignmentFlag.AlignCenter)
        w.setWordWrap(True)
        w.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return w

    def eventFilter(self, obj, event):  # noqa: N802
        if obj is self.parent() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parent().rect())
            self._size_fonts()
        return False

    def _size_fonts(self) -> None:
        """Type sized from the pane, not the screen: readable from the gate at 1024x768 too. The
        background is painted by paintEvent; the labels' style sheets are set only when the size or
        the text colour changed (green and red share white): each one re-polishes the labels, which
        a scan's frame has no time for."""
        h = max(300, self.height())
        w = max(400, self.width())
        bg, fg = TONES.get(self.tone, ("#333333", "#ffffff"))
        self._background = QColor(bg)
        key = (h, w, fg)
        if key == self._styled:
            return
        self._styled = key
        for label, share, bold in ((self.messageLabel, 9, True), (self.typeLabel, 11, True),
                                   (self.passengerLabel, 15, True), (self.seatLabel, 15, True),
                                   (self.hintLabel, 34, False)):
            px = max(14, min(h // share, w // 14))
            label.setStyleSheet(f"font-size: {px}px; font-weight: {'bold' if bold else 'normal'}; "
                                f"color: {fg}; background: transparent;")

    def paintEvent(self, event):  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(event.rect(), self._background)
        painter.end()

    def show_verdict(self, verdict, language: str, *, type_name: str = "") -> None:
        self.verdict = verdict
        self.tone = verdict.tone if verdict.tone in TONES else "red"
        self.setProperty("tone", self.tone)
        self.messageLabel.setText(verdict.text(language))
        self.typeLabel.setText(type_name)
        self.typeLabel.setVisible(bool(type_name))
        who = " ".join(x for x in (verdict.passenger or "", verdict.doc_masked or "") if x)
        self.passengerLabel.setText(who)
        self.passengerLabel.setVisible(bool(who))
        en = language.startswith("en")
        # A boarding verdict's line already names the seat and the destination; a refusal's does not,
        # and they are what the checker compares with the paper.
        where = []
        if verdict.seat_no is not None:
            where.append(f"Seat {verdict.seat_no}" if en else f"{verdict.seat_no} 号座")
        if verdict.destination:
            where.append(("to " if en else "到 ") + verdict.destination)
        if verdict.boards:
            where = []
        self.seatLabel.setText("　".join(where))
        self.seatLabel.setVisible(bool(where))
        self.hintLabel.setText("Next scan or Esc: back to the board" if en else "扫下一张或按 Esc 返回")
        self.setGeometry(self.parent().rect())
        self._size_fonts()
        self.raise_()
        self.show()
        self.timer.start(HOLD_MS)

    def dismiss(self) -> bool:
        if not self.isVisible():
            return False
        self.timer.stop()
        self.hide()
        return True

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange and self.verdict is not None and self.isVisible():
            self.show_verdict(self.verdict, theme.language(), type_name=self.typeLabel.text())
        super().changeEvent(event)
