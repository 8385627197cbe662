"""The sale view: the clerk's home screen.

The keyboard path of a walk-up sale: type the destination's pinyin initials, Enter (first
suggestion), Enter (first sellable departure), tap the ID card (fills the passenger and moves to
the cash field), Enter (exact cash: an empty field means the exact amount), Enter (confirm). The
view then resets with the cursor back in the destination box.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import parse_yuan
from app.errors import KezhanError
from app.ui import theme
from app.ui.widgets import (
    _KeyFilter,
    clear_message,
    error_text,
    focus,
    label,
    line_edit,
    message_kind,
    money,
    refresh_message,
    set_valid,
    show_message,
)

log = logging.getLogger("kezhan.ui.sale")

ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


@dataclass
class Slot:
    """One passenger of the order being built."""

    type_code: str
    needs_document: bool
    name: str = ""
    doc_type: str = ""
    doc_number: str = ""
    from_card: bool = False
    carried_by: int | None = None  # index of the adult slot carrying this free child

    @property
    def complete(self) -> bool:
        return (not self.needs_document) or bool(self.doc_number and self.name)


class _DepartureTable(QTableWidget):
    """The departures: typed letters never move the selection. Qt's keyboard search would jump to
    the row whose first cell starts with them, unseen, and the next sale would go on that bus."""

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 - Qt's name
        pass


class _TypedText(QObject):
    """Hands the printable characters typed into a widget to a handler (which may refuse them)."""

    def __init__(self, parent: QObject, handler) -> None:
        super().__init__(parent)
        self.handler = handler

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            text = event.text()
            plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier,
                                          Qt.KeyboardModifier.ShiftModifier)
            if plain and text and text.isprintable() and not text.isspace():
                self.handler(text)
                return True
        return False


class SaleView(QWidget):
    """Emits ``sold(result)`` after a committed sale; the window prints it."""

    sold = Signal(object)
    stock_confirm_needed = Signal(object)  # the refusal: the roll's next blank must be confirmed
    seat_map_requested = Signal()

    def __init__(self, backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("saleView")
        self.backend = backend
        self.today = backend.today()
        self.presale_days = backend.presale_days
        self.date = self.today
        self.destination = None  # the chosen Suggestion
        self.departures: list = []
        self.departure = None  # the chosen DepartureInfo
        self.slots: list[Slot] = []
        self.seats: list[int] | None = None  # chosen on the seat map; None = auto
        self._preview: tuple | None = None  # (station, date) whose departures the table shows
        self.suggestions: list = []
        self._waiting_cards: list = []  # tapped before a departure was chosen
        self._name_pending = False  # the whole ID number moved the cursor on: an Enter for it is spent
        self._validating = False
        self.last_result = None
        self.types = backend.ticket_types()
        self.doc_types = backend.document_types()
        self._build()
        self.retranslate()
        self.reset()

    # --- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        """One builder per panel, then the keys that move between them."""
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 4)
        outer.setSpacing(6)
        outer.addLayout(self._build_header())
        outer.addLayout(self._build_departures(), 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self._build_passengers(), 3)
        bottom.addWidget(self._build_payment(), 2)
        outer.addLayout(bottom, 1)
        self.epayEdit.hide()
        self._route_keys()

    def _build_header(self) -> QHBoxLayout:
        """The date, the destination being typed, and the last sale."""
        header = QHBoxLayout()
        self.dateCaption = label(role="section")
        self.dateLabel = label(role="date", name="dateLabel")
        self.dateHint = label(role="hint")
        self.destCaption = label(role="section")
        self.destinationEdit = line_edit("destinationEdit")
        self.destinationEdit.setMinimumWidth(300)
        self.destinationEdit.setMaximumWidth(420)
        self.destinationName = label(role="title", name="destinationName")
        self.lastSaleLabel = label(role="ok", name="lastSaleLabel")
        self.lastSaleLabel.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.dateCaption)
        header.addWidget(self.dateLabel)
        header.addWidget(self.dateHint)
        header.addSpacing(16)
        header.addWidget(self.destCaption)
        header.addWidget(self.destinationEdit)
        header.addWidget(self.destinationName)
        header.addStretch(1)
        header.addWidget(self.lastSaleLabel)
        return header

    def _build_departures(self) -> QHBoxLayout:
        """The destination suggestions beside the departures to them."""
        middle = QHBoxLayout()
        self.suggestionList = QListWidget()
        self.suggestionList.setObjectName("suggestionList")
        self.suggestionList.setFixedWidth(210)
        self.suggestionList.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.suggestionList.itemActivated.connect(lambda _item: self.take_suggestion())
        self.departuresTable = _DepartureTable(0, 9)
        self.departuresTable.setObjectName("departuresTable")
        self.departuresTable.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.departuresTable.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.departuresTable.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.departuresTable.setAlternatingRowColors(True)
        self.departuresTable.verticalHeader().setVisible(False)
        self.departuresTable.setTabKeyNavigation(False)
        self.departuresTable.doubleClicked.connect(lambda _i: self.choose_departure())
        # Fixed column widths from the font: sizing to contents would measure every cell again on
        # every keystroke's refill.
        hdr = self.departuresTable.horizontalHeader()
        hdr.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hdr.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        middle.addWidget(self.suggestionList)
        middle.addWidget(self.departuresTable, 1)
        return middle

    def _build_passengers(self) -> QGroupBox:
        """How many of each ticket type, the document being entered, the passengers so far."""
        self.passengerBox = QGroupBox()
        self.passengerBox.setObjectName("passengerBox")
        pgrid = QVBoxLayout(self.passengerBox)
        pgrid.setSpacing(4)
        pgrid.addLayout(self._build_counts())
        pgrid.addLayout(self._build_document_row())
        self.docHint = label(role="hint", name="docHint")
        pgrid.addWidget(self.docHint)

        self.passengersTable = QTableWidget(0, 5)
        self.passengersTable.setObjectName("passengersTable")
        self.passengersTable.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.passengersTable.verticalHeader().setVisible(False)
        self.passengersTable.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        phdr = self.passengersTable.horizontalHeader()
        phdr.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        phdr.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        pgrid.addWidget(self.passengersTable, 1)
        self.seatsLabel = label(role="hint", name="seatsLabel")
        pgrid.addWidget(self.seatsLabel)
        return self.passengerBox

    def _build_counts(self) -> QHBoxLayout:
        counts = QHBoxLayout()
        self.countSpins: dict[str, QSpinBox] = {}
        self.countLabels: dict[str, QLabel] = {}
        for t in self.types:
            caption = label()
            spin = QSpinBox()
            spin.setObjectName(f"count_{t.code}")
            spin.setRange(0, 9)
            spin.setMinimumWidth(64)
            spin.valueChanged.connect(self._counts_changed)
            caption.setBuddy(spin)
            self.countLabels[t.code] = caption
            self.countSpins[t.code] = spin
            counts.addWidget(caption)
            counts.addWidget(spin)
        counts.addStretch(1)
        return counts

    def _build_document_row(self) -> QHBoxLayout:
        docs = QHBoxLayout()
        self.docTypeCombo = QComboBox()
        self.docTypeCombo.setObjectName("docTypeCombo")
        self.docTypeCombo.setMaximumWidth(230)
        for code, name, _name_en in self.doc_types:
            self.docTypeCombo.addItem(name, code)
        self.docNumberEdit = line_edit("docNumberEdit")
        self.docNumberEdit.setMinimumWidth(250)
        self.docNumberEdit.textChanged.connect(self._validate_document)
        self.docTypeCombo.currentIndexChanged.connect(lambda _i: self._validate_document())
        self.nameEdit = line_edit("nameEdit")
        self.nameEdit.setMaximumWidth(180)
        docs.addWidget(self.docTypeCombo)
        docs.addWidget(self.docNumberEdit, 1)
        docs.addWidget(self.nameEdit)
        return docs

    def _build_payment(self) -> QGroupBox:
        """The total, cash tendered or an e-payment reference, the change, and confirm."""
        self.paymentBox = QGroupBox()
        self.paymentBox.setObjectName("paymentBox")
        pay = QGridLayout(self.paymentBox)
        pay.setVerticalSpacing(4)
        self.totalCaption = label(role="section")
        self.totalLabel = label(role="big", name="totalLabel")
        self.totalLabel.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.methodCombo = QComboBox()
        self.methodCombo.setObjectName("paymentMethodCombo")
        self.methodCombo.addItem("", "cash")
        self.methodCombo.addItem("", "epay")
        self.methodCombo.currentIndexChanged.connect(self._method_changed)
        self.tenderedCaption = label(role="section")
        self.tenderedEdit = line_edit("tenderedEdit")
        self.tenderedEdit.textChanged.connect(self._update_change)
        self.epayEdit = line_edit("epayReferenceEdit")
        self.changeCaption = label(role="section")
        self.changeLabel = label(role="change", name="changeLabel")
        self.changeLabel.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.confirmButton = QPushButton()
        self.confirmButton.setObjectName("confirmButton")
        self.confirmButton.setProperty("role", "primary")
        self.confirmButton.clicked.connect(self.confirm)
        self.messageLabel = label(role="error", name="saleMessage")
        self.messageLabel.setWordWrap(True)
        self.messageLabel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        pay.addWidget(self.totalCaption, 0, 0)
        pay.addWidget(self.totalLabel, 0, 1)
        pay.addWidget(self.methodCombo, 1, 0)
        pay.addWidget(self.tenderedEdit, 1, 1)
        pay.addWidget(self.epayEdit, 1, 1)
        pay.addWidget(self.changeCaption, 2, 0)
        pay.addWidget(self.changeLabel, 2, 1)
        pay.addWidget(self.confirmButton, 3, 0, 1, 2)
        pay.addWidget(self.messageLabel, 4, 0, 1, 2)
        pay.setColumnStretch(1, 1)
        return self.paymentBox

    def _route_keys(self) -> None:
        # Keyboard routing: Enter moves forward, Esc backs out, arrows reach the suggestions.
        self.destinationEdit.textEdited.connect(self.update_suggestions)
        self.destinationEdit.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Return: self.take_suggestion,
            Qt.Key.Key_Enter: self.take_suggestion,
            Qt.Key.Key_Down: lambda: self._move_suggestion(1),
            Qt.Key.Key_Up: lambda: self._move_suggestion(-1),
            Qt.Key.Key_Escape: self.reset,
        }))
        self.departuresTable.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Return: self.choose_departure,
            Qt.Key.Key_Enter: self.choose_departure,
            Qt.Key.Key_Escape: lambda: focus(self.destinationEdit),
        }))
        self.departuresTable.installEventFilter(_TypedText(self, self._typed_on_departures))
        self.docNumberEdit.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Return: self._document_entered,
            Qt.Key.Key_Enter: self._document_entered,
            Qt.Key.Key_Escape: self._back_to_departures,
        }))
        self.nameEdit.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Return: self._name_entered,
            Qt.Key.Key_Enter: self._name_entered,
            Qt.Key.Key_Escape: self._name_back,
        }))
        for spin in self.countSpins.values():
            spin.installEventFilter(_KeyFilter(self, {
                Qt.Key.Key_Return: self._next_after_counts,
                Qt.Key.Key_Enter: self._next_after_counts,
                Qt.Key.Key_Escape: self._back_to_departures,
            }))
        self.tenderedEdit.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Return: self._tendered_entered,
            Qt.Key.Key_Enter: self._tendered_entered,
            Qt.Key.Key_Escape: self._back_to_passengers,
        }))
        self.epayEdit.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Return: self._tendered_entered,
            Qt.Key.Key_Enter: self._tendered_entered,
            Qt.Key.Key_Escape: self._back_to_passengers,
        }))
        self.confirmButton.installEventFilter(_KeyFilter(self, {
            Qt.Key.Key_Return: self.confirm,
            Qt.Key.Key_Enter: self.confirm,
            Qt.Key.Key_Escape: lambda: focus(self._payment_field()),
        }))

    def retranslate(self) -> None:
        self.dateCaption.setText(self.tr("日期"))
        self.dateHint.setText(self.tr("PgUp/PgDn 换日"))
        self.destCaption.setText(self.tr("目的地"))
        self.destinationEdit.setPlaceholderText(self.tr("拼音首字母 / 站码 / 汉字"))
        self.departuresTable.setHorizontalHeaderLabels([
            self.tr("时间"), self.tr("班次"), self.tr("线路 / 途经"), self.tr("车型"), self.tr("检票口"),
            self.tr("票价 %1").replace("%1", "/".join(self.initial(t) for t in self._priced_types())),
            self.tr("余票"), self.tr("本机可售"), self.tr("状态"),
        ])
        self.departuresTable.horizontalHeaderItem(5).setToolTip(
            "  ".join(f"{self.initial(t)} = {self.short_name(t)}" for t in self._priced_types()))
        self.passengerBox.setTitle(self.tr("乘客（读卡自动填入下一位）"))
        english = theme.language() == "en"
        for t in self.types:
            self.countLabels[t.code].setText(self.short_name(t))
            self.countLabels[t.code].setToolTip((t.name_en or t.name) if english else t.name)
        for i, (_code, name, name_en) in enumerate(self.doc_types):
            self.docTypeCombo.setItemText(i, (name_en or name) if english else name)
        self.docNumberEdit.setPlaceholderText(self.tr("证件号码（刷身份证自动填入）"))
        self.nameEdit.setPlaceholderText(self.tr("姓名"))
        self.passengersTable.setHorizontalHeaderLabels([
            self.tr("票种"), self.tr("姓名"), self.tr("证件"), self.tr("号码"), self.tr("携童"),
        ])
        self.paymentBox.setTitle(self.tr("收款"))
        self.totalCaption.setText(self.tr("应收"))
        self.methodCombo.setItemText(0, self.tr("现金"))
        self.methodCombo.setItemText(1, self.tr("电子支付"))
        self.tenderedEdit.setPlaceholderText(self.tr("实收（空 = 正好）"))
        self.epayEdit.setPlaceholderText(self.tr("支付流水号"))
        self.changeCaption.setText(self.tr("找零"))
        self.confirmButton.setText(self.tr("确认售票 Enter"))
        self._size_columns()
        self._show_date()
        self._fill_departures()
        self._fill_passengers()
        self._update_seats_label()
        # What is already on show speaks the new language too.
        self._validating = True
        try:
            self._validate_document()
        finally:
            self._validating = False
        self._update_change()
        refresh_message(self.messageLabel)
        refresh_message(self.lastSaleLabel)

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._size_columns()
        super().changeEvent(event)

    def _size_columns(self) -> None:
        metrics = self.departuresTable.fontMetrics()
        header = self.departuresTable.horizontalHeader()
        samples = {0: "00:00", 1: "K00000", 3: "大型高级", 4: self.tr("检票口"), 6: self.tr("余票") + "0",
                   7: self.tr("本机可售"), 8: self.tr("停售") + "停"}
        for col, text in samples.items():
            width = max(metrics.horizontalAdvance(text), metrics.horizontalAdvance(
                self.departuresTable.horizontalHeaderItem(col).text() if self.departuresTable.horizontalHeaderItem(col) else ""))
            header.resizeSection(col, width + 18)
        fares = " ".join(f"{self.initial(t)}188.50" for t in self._priced_types())
        header_text = self.departuresTable.horizontalHeaderItem(5).text()
        header.resizeSection(5, max(metrics.horizontalAdvance(fares), metrics.horizontalAdvance(header_text)) + 18)

    # --- date ---------------------------------------------------------------------------------

    def _show_date(self) -> None:
        weekday = [self.tr("周一"), self.tr("周二"), self.tr("周三"), self.tr("周四"), self.tr("周五"),
                   self.tr("周六"), self.tr("周日")][self.date.weekday()]
        text = f"{self.date.isoformat()} {weekday}"
        if self.date == self.today:
            text += " " + self.tr("（今天）")
        self.dateLabel.setText(text)

    def step_date(self, days: int) -> None:
        self.set_date(self.date + timedelta(days=days))

    def set_date(self, day: date) -> None:
        last = self.today + timedelta(days=self.presale_days)
        day = min(max(day, self.today), last)
        if day == self.date:
            return
        self.date = day
        self.seats = None
        self._show_date()
        if self.destination is not None:
            self.load_departures(keep_focus=True)
        elif self._preview is not None:
            self._preview_current()

    # --- destination --------------------------------------------------------------------------

    def update_suggestions(self, text: str) -> None:
        self.suggestionList.clear()
        self.suggestions = []
        # A new destination is being typed: what was said of the last one, and its name, go.
        for kind in ("destination", "departure"):
            clear_message(self.messageLabel, kind)
        if self.destination is not None:
            self.destination = None
            self.destinationName.clear()
            self.departure = None
            self.seats = None
            self._update_total()
            self._update_seats_label()
        text = text.strip()
        if not text:
            return
        # The stations stay in a Python list beside the widget: PySide6 mishandles Python objects
        # kept as item data when the interpreter exits.
        self.suggestions = self.backend.suggest(text)
        for s in self.suggestions:
            self.suggestionList.addItem(QListWidgetItem(f"{s.name}  {s.pinyin}  {s.code}"))
        if self.suggestionList.count():
            self.suggestionList.setCurrentRow(0)
        self._preview_current()

    def _preview_current(self) -> None:
        """The departures of the highlighted suggestion, shown while the clerk is still typing, so
        the list is already there when Enter takes the destination."""
        row = self.suggestionList.currentRow()
        if not 0 <= row < len(self.suggestions):
            self._preview = None
            self.departures = []
            self._fill_departures()
            return
        station = self.suggestions[row]
        if self._preview == (station.code, self.date):
            return  # one more letter, the same first suggestion: the list is already right
        self.departures = self.backend.departures(station.code, self.date)
        self._preview = (station.code, self.date)
        self._fill_departures()

    def _move_suggestion(self, step: int) -> None:
        count = self.suggestionList.count()
        if count:
            row = (self.suggestionList.currentRow() + step) % count
            self.suggestionList.setCurrentRow(row)
            self._preview_current()

    def take_suggestion(self) -> None:
        row = max(self.suggestionList.currentRow(), 0)
        if row >= len(self.suggestions):
            if self.destinationEdit.text().strip():
                show_message(self.messageLabel, lambda: self.tr("没有找到这个目的地"), kind="destination")
            return
        self.destination = self.suggestions[row]
        self.destinationEdit.setText(self.destination.pinyin)
        self.destinationName.setText(self.destination.name)
        for kind in ("destination", "departure"):
            clear_message(self.messageLabel, kind)
        self.load_departures(fresh=self._preview != (self.destination.code, self.date))

    def load_departures(self, keep_focus: bool = False, fresh: bool = True) -> None:
        if fresh:
            self.departures = self.backend.departures(self.destination.code, self.date)
            self._fill_departures()
        self._preview = None
        self.departure = None
        if not self.departures:
            show_message(self.messageLabel, lambda: self.tr("当天没有到该站的班次"), kind="destination")
            return
        first = next((i for i, d in enumerate(self.departures) if d.sellable), 0)
        self.departuresTable.selectRow(first)
        if not keep_focus:
            self.departuresTable.setFocus(Qt.FocusReason.OtherFocusReason)

    def status_text(self, d) -> str:
        return {
            "normal": self.tr("正常"),
            "stopped": self.tr("停售"),
            "boarding": self.tr("检票中"),
            "delayed": self.tr("晚点"),
            "cancelled": self.tr("停班"),
            "departed": self.tr("已发车"),
            "sold_out": self.tr("售完"),
            "no_lease": self.tr("无租座"),
        }.get(d.status, d.status)

    @staticmethod
    def short_name(t) -> str:
        """A ticket type's name short enough for a column: 学生票 -> 学生, "Free child" -> "Free"."""
        if theme.language() == "en" and t.name_en:
            return t.name_en.split()[0].split("/")[0]
        return t.name.replace("票", "") if len(t.name) > 2 else t.name

    @staticmethod
    def initial(t) -> str:
        """One character per ticket type for the fares column: 全 儿 学 军 / F C S D."""
        if theme.language() == "en" and t.name_en:
            return t.name_en[0].upper()
        return t.name[0]

    def _priced_types(self) -> list:
        return [t for t in self.types if t.needs_seat]

    def _price_text(self, d) -> str:
        # Yuan without the sign, one letter per type: the column must leave room for the route.
        return " ".join(f"{self.initial(t)}{d.prices[t.code] / 100:.2f}"
                        for t in self._priced_types() if t.code in d.prices)

    def _fill_departures(self) -> None:
        table = self.departuresTable
        table.setRowCount(len(self.departures))
        for row, d in enumerate(self.departures):
            via = f"{d.route_name}" + (f"（{d.via}）" if d.via else "")
            cells = [d.time, d.schedule_code, via, d.vehicle_class, d.gate, self._price_text(d),
                     str(d.seats_left), str(d.offline_left), self.status_text(d)]
            colour = theme.STATUS_COLOURS.get(d.status, QColor("#111111"))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in (6, 7):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 8 or not d.sellable:
                    item.setForeground(colour)
                if col == 8 and d.status != "normal":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(row, col, item)

    # --- departure ----------------------------------------------------------------------------

    def choose_departure(self) -> None:
        row = self.departuresTable.currentRow()
        if not 0 <= row < len(self.departures):
            return
        d = self.departures[row]
        if not d.sellable:
            show_message(self.messageLabel, lambda: d.reason_in(theme.language()) or self.tr(
                "该班次不能售票：%1").replace("%1", self.status_text(d)), kind="departure")
            # The clerk goes on from here: another bus with the arrows, or Ctrl+D for another place.
            self.departuresTable.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.departure = d
        self.seats = None
        clear_message(self.messageLabel)
        self._rebuild_slots()
        waiting, self._waiting_cards = self._waiting_cards, []
        for card in waiting:
            self.fill_from_card(card)
        self._next_needed_field()

    def _back_to_departures(self) -> None:
        self.departuresTable.setFocus(Qt.FocusReason.OtherFocusReason)

    def _typed_on_departures(self, text: str) -> None:
        """Typing on the departures: the first digit of an ID number takes the highlighted bus (the
        Enter is implied) and starts the number; anything else is refused aloud, never searched."""
        # Only while no bus is chosen yet: back on the table mid-sale, a digit must not swap the bus.
        if text.isdigit() and self.departure is None and 0 <= self.departuresTable.currentRow() < len(self.departures):
            self.choose_departure()
            if self.departure is not None and self.next_open_slot() is not None:
                focus(self.docNumberEdit)
                self.docNumberEdit.setText(self.docNumberEdit.text() + text)
            return
        row = self.departuresTable.currentRow()
        refused = self.departures[row] if 0 <= row < len(self.departures) and not self.departures[row].sellable \
            else None

        def hint() -> str:
            text = self.tr("班次表不接受文字：↑↓ 选班次，Enter 选定，Ctrl+D 改目的地")
            return f"{refused.reason_in(theme.language())} — {text}" if refused and refused.reason else text

        show_message(self.messageLabel, hint, kind="departure")

    # --- passengers ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {code: spin.value() for code, spin in self.countSpins.items()}

    def _counts_changed(self) -> None:
        self.seats = None
        self._rebuild_slots()

    def _rebuild_slots(self) -> None:
        old = {}
        for s in self.slots:
            old.setdefault(s.type_code, []).append(s)
        slots: list[Slot] = []
        for t in self.types:
            kept = old.get(t.code, [])
            for i in range(self.countSpins[t.code].value()):
                slots.append(kept[i] if i < len(kept) else Slot(t.code, t.document_required))
        # Free children go with the adults in order: the first carried child with the first adult
        # who can carry one. Whether that is allowed is the service's decision at commit.
        carriers = [i for i, s in enumerate(slots) if self._type(s.type_code).can_carry]
        k = 0
        for s in slots:
            if self._type(s.type_code).needs_adult:
                s.carried_by = carriers[k] if k < len(carriers) else None
                k += 1
                if not s.name:
                    s.name = self.tr("携童")
        self.slots = slots
        self._fill_passengers()
        self._update_total()
        self._update_seats_label()

    def _type(self, code: str):
        return next(t for t in self.types if t.code == code)

    def _type_name(self, code: str) -> str:
        t = self._type(code)
        return (t.name_en or t.name) if theme.language() == "en" else t.name

    def _fill_passengers(self) -> None:
        table = self.passengersTable
        table.setRowCount(len(self.slots))
        doc_names = {code: ((en or name) if theme.language() == "en" else name) for code, name, en in self.doc_types}
        for row, s in enumerate(self.slots):
            carried = "" if s.carried_by is None else f"← {s.carried_by + 1}"
            cells = [f"{row + 1}. {self._type_name(s.type_code)}", s.name,
                     doc_names.get(s.doc_type, ""), self.backend.mask(s.doc_number) if s.doc_number else
                     ("" if not s.needs_document else self.tr("（待刷卡或录入）")), carried]
            for col, text in enumerate(cells):
                table.setItem(row, col, QTableWidgetItem(text))

    def next_open_slot(self) -> int | None:
        return next((i for i, s in enumerate(self.slots) if s.needs_document and not s.complete), None)

    def fill_from_card(self, card) -> None:
        """A card was read: it names the next passenger who still needs a document."""
        if self.departure is None:
            # Passengers often tap before the clerk has found the bus: keep the card for then.
            self._waiting_cards.append(card)
            show_message(self.messageLabel, lambda: self.tr("已读卡：%1（选定班次后自动填入）").replace(
                "%1", card.name), ok=True)
            return
        index = self.next_open_slot()
        if index is None:
            # Another card with every seat filled: the clerk is adding a passenger.
            full = next((t.code for t in self.types if t.needs_seat and t.can_carry), None)
            if full is None or sum(self.counts().values()) >= 9:
                show_message(self.messageLabel, lambda: self.tr("所有乘客都已有证件"))
                return
            self.countSpins[full].setValue(self.countSpins[full].value() + 1)
            index = self.next_open_slot()
            if index is None:
                return
        problem = self._document_problem(card.doc_type, card.number, index)
        if problem is not None:
            show_message(self.messageLabel, problem, kind="document")
            return
        s = self.slots[index]
        s.name, s.doc_type, s.doc_number, s.from_card = card.name, card.doc_type, card.number, True
        clear_message(self.messageLabel)
        self._fill_passengers()
        self._next_needed_field()

    def _document_problem(self, doc_type: str, number: str, index: int | None = None):
        """What refuses this document for the passenger at ``index``, as a message in the current
        language (None: it may be sold): a malformed number, the same document earlier in this
        sale, or one already holding a seat on the chosen departure (一证一座, naming that ticket)."""
        if self.backend.check_document(doc_type, number):
            return lambda: self.backend.check_document(doc_type, number) or ""
        wanted = number.strip().upper()
        for i, other in enumerate(self.slots):
            if i != index and other.doc_number.strip().upper() == wanted and other.doc_type == doc_type:
                return lambda i=i: self.tr("该证件已是第 %1 位乘客（一证一座）").replace("%1", str(i + 1))
        if self.departure is not None:
            refusal = self.backend.document_refusal(self.departure.id, doc_type, number)
            if refusal is not None:
                return lambda: error_text(refusal)
        return None

    def _validate_document(self) -> None:
        number = self.docNumberEdit.text().strip()
        if not number:
            set_valid(self.docNumberEdit, None)
            self.docHint.clear()
            clear_message(self.messageLabel, "document")
            return
        doc_type = self.docTypeCombo.currentData()
        problem = self.backend.check_document(doc_type, number)
        if problem is None and self.backend.document_complete(doc_type, number):
            # The whole number is in: refuse a document that already holds a seat now, before the
            # name and the money are taken, and otherwise go on to the name without an Enter.
            refusal = self._document_problem(doc_type, number, self.next_open_slot())
            if refusal is not None:
                set_valid(self.docNumberEdit, False)
                self.docHint.clear()  # the message line says why, once
                show_message(self.messageLabel, refusal, kind="document")
                return
            clear_message(self.messageLabel, "document")
            set_valid(self.docNumberEdit, True)
            self.docHint.setText(self.tr("证件号码有效"))
            typing = self.window().focusWidget() is self.docNumberEdit
            if not self._validating and typing and not self.nameEdit.text().strip():
                self._name_pending = True
                focus(self.nameEdit)
            return
        clear_message(self.messageLabel, "document")
        set_valid(self.docNumberEdit, problem is None)
        self.docHint.setText(problem or self.tr("证件号码有效"))

    def _document_entered(self) -> None:
        number = self.docNumberEdit.text().strip()
        if not number:
            if self.next_open_slot() is None and self.departure is not None:
                focus(self._payment_field())
            return
        problem = self._document_problem(self.docTypeCombo.currentData(), number, self.next_open_slot())
        if problem is not None:
            show_message(self.messageLabel, problem, kind="document")
            return
        self._name_pending = False
        focus(self.nameEdit)

    def _name_entered(self) -> None:
        name = self.nameEdit.text().strip()
        number = self.docNumberEdit.text().strip()
        if not name:
            if self._name_pending:
                # The number's last digit already brought the cursor here; the Enter a clerk
                # presses out of habit after the number is spent, not refused.
                self._name_pending = False
                return
            show_message(self.messageLabel, lambda: self.tr("请输入乘客姓名"))
            return
        self._name_pending = False
        problem = self._document_problem(self.docTypeCombo.currentData(), number, self.next_open_slot())
        if problem is not None:
            show_message(self.messageLabel, problem, kind="document")
            focus(self.docNumberEdit)
            return
        index = self.next_open_slot()
        if index is None:
            show_message(self.messageLabel, lambda: self.tr("所有乘客都已有证件"))
            return
        s = self.slots[index]
        s.name, s.doc_type, s.doc_number, s.from_card = name, self.docTypeCombo.currentData(), number, False
        self.docNumberEdit.clear()
        self.nameEdit.clear()
        clear_message(self.messageLabel)
        self._fill_passengers()
        self._next_needed_field()

    def _name_back(self) -> None:
        self._name_pending = False
        focus(self.docNumberEdit)

    def _next_after_counts(self) -> None:
        self._next_needed_field()

    def _next_needed_field(self) -> None:
        if self.next_open_slot() is not None:
            focus(self.docNumberEdit)
        elif self.slots:
            focus(self._payment_field())

    def _back_to_passengers(self) -> None:
        focus(self.docNumberEdit)

    def _update_seats_label(self) -> None:
        if self.seats:
            self.seatsLabel.setText(self.tr("座位：%1（F9 重选）").replace("%1", ", ".join(map(str, self.seats))))
        else:
            self.seatsLabel.setText(self.tr("座位：自动分配（F9 选座）"))

    def set_seats(self, seats: list[int] | None) -> None:
        self.seats = seats or None
        self._update_seats_label()

    def seats_needed(self) -> int:
        return sum(1 for s in self.slots if self._type(s.type_code).needs_seat)

    # --- payment ------------------------------------------------------------------------------

    def total(self) -> int:
        if self.departure is None:
            return 0
        return sum(self.departure.prices.get(s.type_code, 0) for s in self.slots)

    def _update_total(self) -> None:
        self.totalLabel.setText(money(self.total()))
        self._update_change()

    def _payment_field(self) -> QLineEdit:
        return self.epayEdit if self.methodCombo.currentData() == "epay" else self.tenderedEdit

    def toggle_method(self) -> None:
        self.methodCombo.setCurrentIndex(1 - self.methodCombo.currentIndex())
        focus(self._payment_field())

    def _method_changed(self) -> None:
        epay = self.methodCombo.currentData() == "epay"
        self.tenderedEdit.setVisible(not epay)
        self.epayEdit.setVisible(epay)
        self._update_change()

    def tendered(self) -> int:
        """The cash handed over; an empty field is the exact amount."""
        text = self.tenderedEdit.text().strip()
        return self.total() if not text else parse_yuan(text)

    def _update_change(self) -> None:
        if self.methodCombo.currentData() == "epay":
            self.changeLabel.setText(money(0))
            self._set_short(False)
            clear_message(self.messageLabel, "short")
            return
        try:
            change = self.tendered() - self.total()
        except KezhanError:
            self.changeLabel.setText("—")
            set_valid(self.tenderedEdit, False)
            self._set_short(True)
            clear_message(self.messageLabel, "short")  # it named an amount no longer in the field
            return
        set_valid(self.tenderedEdit, None if change >= 0 else False)
        self._set_short(change < 0)
        self.changeLabel.setText(money(change) if change >= 0 else self.tr("不足 %1").replace("%1", money(-change)))
        # A shortfall message follows the cash in the field: a new amount re-words it or, once
        # enough is tendered, withdraws it.
        if message_kind(self.messageLabel) == "short":
            if change < 0:
                refresh_message(self.messageLabel)
            else:
                clear_message(self.messageLabel)

    def _set_short(self, short: bool) -> None:
        """A shortfall must not look like change: the box turns the warning colour."""
        state = "short" if short else ""
        if self.changeLabel.property("state") != state:
            self.changeLabel.setProperty("state", state)
            theme.repolish(self.changeLabel)

    def _shortfall_text(self) -> str:
        try:
            short = self.total() - self.tendered()
        except KezhanError:
            return ""
        return self.tr("实收不足，还差 %1").replace("%1", money(short))

    def _tendered_entered(self) -> None:
        if self.departure is None:
            show_message(self.messageLabel, lambda: self.tr("请先选择班次"))
            return
        if self.methodCombo.currentData() == "cash":
            try:
                short = self.total() - self.tendered()
            except KezhanError as exc:
                show_message(self.messageLabel, lambda exc=exc: error_text(exc))
                return
            if short > 0:
                show_message(self.messageLabel, self._shortfall_text, kind="short")
                return
            if not self.tenderedEdit.text().strip():
                # Exact cash (the empty field): nothing to check on the change box, one Enter sells.
                self.confirm()
                return
        elif not self.epayEdit.text().strip():
            show_message(self.messageLabel, lambda: self.tr("请输入电子支付流水号"))
            return
        self.confirmButton.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- commit -------------------------------------------------------------------------------

    def confirm(self) -> None:
        if self.departure is None:
            show_message(self.messageLabel, lambda: self.tr("请先选择班次"))
            return
        open_slot = self.next_open_slot()
        if open_slot is not None:
            show_message(self.messageLabel, lambda: self.tr("第 %1 位乘客还没有证件").replace("%1", str(open_slot + 1)))
            focus(self.docNumberEdit)
            return
        method = self.methodCombo.currentData()
        try:
            tendered = self.tendered() if method == "cash" else None
            result = self.backend.sell(
                departure=self.departure,
                destination=self.destination.code,
                slots=self.slots,
                seats=self.seats,
                method=method,
                tendered=tendered,
                reference=self.epayEdit.text().strip() or None,
            )
        except Exception as exc:
            if not isinstance(exc, KezhanError):
                log.exception("sale failed")
            show_message(self.messageLabel, lambda exc=exc: error_text(exc))
            if isinstance(exc, KezhanError) and exc.code == "STOCK_CONFIRM_REQUIRED":
                self.stock_confirm_needed.emit(exc)  # the window asks for the roll's next blank
            return
        self.last_result = result

        def summary() -> str:
            return self.tr("已售 %1 张 %2，找零 %3").replace("%1", str(len(result.tickets))).replace(
                "%2", money(result.total)).replace("%3", money(result.change or 0))

        self.reset()
        show_message(self.lastSaleLabel, summary, ok=True)
        self.sold.emit(result)

    def reset(self) -> None:
        """Ready for the next passenger: cursor in the destination box."""
        self.destination = None
        self.departure = None
        self.departures = []
        self._preview = None
        self._waiting_cards = []
        self.seats = None
        self.slots = []
        for spin in self.countSpins.values():
            spin.blockSignals(True)
            spin.setValue(0)
            spin.blockSignals(False)
        default = next((t.code for t in self.types if t.needs_seat and t.can_carry), None)
        if default:
            self.countSpins[default].blockSignals(True)
            self.countSpins[default].setValue(1)
            self.countSpins[default].blockSignals(False)
        self.destinationEdit.clear()
        self.destinationName.clear()
        self.suggestionList.clear()
        self.suggestions = []
        self.docNumberEdit.clear()
        self.nameEdit.clear()
        self.tenderedEdit.clear()
        self.epayEdit.clear()
        self.methodCombo.setCurrentIndex(0)
        self._name_pending = False
        clear_message(self.messageLabel)
        self._fill_departures()
        self._rebuild_slots()
        focus(self.destinationEdit)

    def end_session(self) -> None:
        """The clerk signed out: nothing of this session stays for the next one to see."""
        self.reset()
        clear_message(self.lastSaleLabel)
        self.last_result = None

    def focus_payment(self) -> None:
        focus(self._payment_field())

    def focus_counts(self) -> None:
        first = next(iter(self.countSpins.values()), None)
        if first is not None:
            focus(first)

    def focus_destination(self) -> None:
        focus(self.destinationEdit)
