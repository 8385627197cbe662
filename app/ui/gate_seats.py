"""The seat map of the departure being checked: which seats were sold and which have boarded."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

# state -> fill, text. Checked is the strong colour: it is what the checker counts on.
SEAT_COLOURS = {
    "checked": (QColor("#0a7a2f"), QColor("#ffffff")),
    "sold": (QColor("#cfe0f5"), QColor("#0b3d7a")),
    "free": (QColor("#ffffff"), QColor("#8a8a8a")),
    "held": (QColor("#d9d9d9"), QColor("#555555")),
}

COLUMNS = 4  # two seats, the aisle, two seats: a coach's rows


class SeatGrid(QWidget):
    """Paints the seats as a coach seen from above (two + two with the aisle between); each cell
    carries its number, a checked seat a tick as well as its colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gateSeatGrid")
        self.seats: dict[int, str] = {}
        self.setMinimumSize(QSize(200, 120))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def set_seats(self, seats: dict[int, str]) -> None:
        self.seats = dict(seats)
        self.update()

    def count(self, state: str) -> int:
        return sum(1 for s in self.seats.values() if s == state)

    def paintEvent(self, event):  # noqa: N802
        if not self.seats:
            return
        numbers = sorted(self.seats)
        rows = -(-len(numbers) // COLUMNS)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # Rows run left to right (the coach lying on its side), so a 53-seat coach fits a short pane.
        cols = max(1, rows)
        aisle = 0.5
        cell_w = self.width() / cols
        cell_h = self.height() / (COLUMNS + aisle)
        side = min(cell_w, cell_h)
        font = QFont(self.font())
        font.setPixelSize(max(9, int(side * 0.42)))
        font.setBold(True)
        painter.setFont(font)
        for index, number in enumerate(numbers):
            row, col = divmod(index, COLUMNS)
            y = (col + (aisle if col >= COLUMNS // 2 else 0)) * cell_h
            x = row * cell_w
            rect = QRectF(x + 2, y + 2, cell_w - 4, cell_h - 4)
            fill, ink = SEAT_COLOURS.get(self.seats[number], SEAT_COLOURS["held"])
            painter.setPen(QPen(QColor("#7a8699"), 1))
            painter.setBrush(fill)
            painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(ink)
            text = f"{number}✓" if self.seats[number] == "checked" else str(number)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
