"""The set-up wizard: what ``kezhan gui`` opens on a PC that is not ready yet.

A list of steps on the left (each marked done, failed or to do), the step's page on the right.
Everything is reachable by keyboard: Enter does the page's main action, Alt+1..Alt+8 open a step,
Ctrl+PgDown / Ctrl+PgUp go to the next / previous step, Esc leaves. The work is app/setup.py's
(the same as ``kezhan setup``); anything that waits on the network or a device runs on a worker
thread, so the window never freezes while a printer or a server takes its time. A step that
succeeds is saved to kezhan.toml at once; opening the wizard again opens it on the steps still
to do.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import setup as steps
from app.errors import KezhanError
from app.ui import actions, theme
from app.ui.widgets import focus, label, line_edit, push_button
from app.ui.workers import WorkerThread

log = logging.getLogger("kezhan.ui.setup")

PAGES = (*steps.STEPS, "checklist")
MARK = {None: "·", True: "✓", False: "✗", "skipped": "–"}


def zh_en(zh: str, en: str) -> str:
    """The technician's screens keep each text's two languages side by side here rather than in the
    Linguist file the clerk's screens use: most carry values (paths, codes, offsets) formatted in
    Python, and a technician-only screen gains nothing from a translator's round trip."""
    return en if theme.language().startswith("en") else zh


class _Page(QWidget):
    """One step: a title, a hint, a form, a result line; ``primary()`` is what Enter does."""

    def __init__(self, wizard: SetupWizard, step: str) -> None:
        super().__init__()
        self.wizard = wizard
        self.step = step
        self.setObjectName(f"page_{step}")
        self.layout_ = QVBoxLayout(self)
        self.titleLabel = label(role="title", name=f"{step}Title")
        self.hintLabel = label(role="hint", name=f"{step}Hint")
        self.hintLabel.setWordWrap(True)
        self.layout_.addWidget(self.titleLabel)
        self.layout_.addWidget(self.hintLabel)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.buttons = QHBoxLayout()
        self.layout_.addLayout(self.buttons)
        self.resultLabel = label(role="hint", name=f"{step}Result")
        self.resultLabel.setWordWrap(True)
        self.resultLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.resultLabel)
        self.captions: dict[str, QWidget] = {}

    @property
    def session(self) -> steps.SetupSession:
        return self.wizard.session

    def row(self, key: str, widget: QWidget) -> None:
        caption = label()
        self.captions[key] = caption
        self.form.addRow(caption, widget)

    def button(self, name: str, slot) -> object:
        b = push_button(name, None, slot)
        self.buttons.addWidget(b)
        return b

    def retranslate(self) -> None:
        zh, en = steps.TITLES[self.step]
        index = PAGES.index(self.step) + 1
        self.titleLabel.setText(f"{index}. {zh_en(zh, en)}")

    def show_result(self, result: steps.StepResult) -> None:
        self.resultLabel.setProperty("role", "ok" if result.ok else "error")
        self.resultLabel.setText(result.text(theme.language()))
        theme.repolish(self.resultLabel)

    def primary(self) -> None:
        raise NotImplementedError

    def enter(self) -> None:
        """The page was opened: the focus goes to its first field."""


class LanguagePage(_Page):
    def __init__(self, wizard) -> None:
        super().__init__(wizard, "language")
        self.languageBox = QComboBox()
        self.languageBox.setObjectName("languageBox")
        self.languageBox.addItem("中文", "zh_CN")
        self.languageBox.addItem("English", "en")
        self.languageBox.setCurrentIndex(0 if self.session.config.terminal.language == "zh_CN" else 1)
        self.row("language", self.languageBox)

    def retranslate(self) -> None:
        super().retranslate()
        self.hintLabel.setText(zh_en("界面语言（之后可随时按 F12 切换）。↑↓ 选择，Enter 确认。",
                                  "The interface language (F12 switches it later). ↑↓ to choose, Enter to confirm."))
        self.captions["language"].setText(zh_en("语言", "Language"))

    def enter(self) -> None:
        focus(self.languageBox)

    def primary(self) -> None:
        result = self.session.set_language(self.languageBox.currentData())
        theme.set_language(self.session.config.terminal.language)
        self.wizard.step_done(self, result)


class RolePage(_Page):
    def __init__(self, wizard) -> None:
        super().__init__(wizard, "role")
        self.roleBox = QComboBox()
        self.roleBox.setObjectName("roleBox")
        for role in steps.config_mod.TERMINAL_ROLES:
            self.roleBox.addItem(role, role)
        self.roleBox.setCurrentIndex(steps.config_mod.TERMINAL_ROLES.index(self.session.config.terminal.role))
        self.gatesEdit = line_edit("gatesEdit")
        self.gatesEdit.setText(",".join(self.session.config.terminal.gates))
        self.row("role", self.roleBox)
        self.row("gates", self.gatesEdit)

    def retranslate(self) -> None:
        super().retranslate()
        names = {"window": zh_en("售票窗口", "Ticket window"), "gate": zh_en("检票口", "Boarding gate"),
                 "both": zh_en("售票兼检票", "Window and gate")}
        for i, role in enumerate(steps.config_mod.TERMINAL_ROLES):
            self.roleBox.setItemText(i, names[role])
        self.hintLabel.setText(zh_en("本机做什么用。检票终端填写它负责的检票口编号，用逗号分隔。Tab 换栏，Enter 确认。",
                                  "What this PC is for. A gate lists the gate numbers it serves, comma separated. "
                                  "Tab moves, Enter confirms."))
        self.captions["role"].setText(zh_en("用途", "Role"))
        self.captions["gates"].setText(zh_en("检票口", "Gates"))
        self.gatesEdit.setPlaceholderText(zh_en("例如 3,4", "e.g. 3,4"))

    def enter(self) -> None:
        focus(self.roleBox)

    def primary(self) -> None:
        self.wizard.step_done(self, self.session.set_role(self.roleBox.currentData(), self.gatesEdit.text()))


class ServerPage(_Page):
    def __init__(self, wizard) -> None:
        super().__init__(wizard, "server")
        self.urlEdit = line_edit("serverUrlEdit")
        self.urlEdit.setText(self.session.config.server.url)
        self.codeEdit = line_edit("enrolCodeEdit")
        self.row("url", self.urlEdit)
        self.row("code", self.codeEdit)
        self.testButton = self.button("testLinkButton", self.test_link)
        self.enrolButton = self.button("enrolButton", self.primary)

    def retranslate(self) -> None:
        super().retranslate()
        self.hintLabel.setText(zh_en(
            "省平台地址和站务管理员给的一次性注册码。先测试连接（显示往返时间和时钟偏差），再注册；"
            "连接不稳时会自动重试，重试不会注册出第二台终端。",
            "The provincial server's address and the one-time code from the station admin. Test the link "
            "(round trip and clock offset), then enrol; a shaky link is retried, and a retry never makes a "
            "second terminal."))
        self.captions["url"].setText(zh_en("省平台地址", "Server URL"))
        self.captions["code"].setText(zh_en("注册码", "Enrolment code"))
        self.urlEdit.setPlaceholderText("https://")
        self.codeEdit.setPlaceholderText("ABCD-EFGH-JKMN")
        self.testButton.setText(zh_en("测试连接 Ctrl+T", "Test link Ctrl+T"))
        self.enrolButton.setText(zh_en("注册 Enter", "Enrol Enter"))

    def enter(self) -> None:
        focus(self.urlEdit if not self.urlEdit.text() else self.codeEdit)

    def test_link(self) -> None:
        url = self.urlEdit.text()
        # A link that answers is not an enrolled terminal: only a failure marks the step.
        self.wizard.run(self, lambda: self.session.check_link(url), zh_en("正在连接……", "Connecting…"),
                        mark_success=False)

    def primary(self) -> None:
        if self.wizard.busy:
            return
        if self.focusWidget() is self.urlEdit and not self.codeEdit.text():
            focus(self.codeEdit)
            return
        url, code = self.urlEdit.text(), self.codeEdit.text()
        self.wizard.run(self, lambda: self.session.enrol(url, code), zh_en("正在注册……", "Enrolling…"),
                        advance=True)


class PrinterPage(_Page):
    def __init__(self, wizard) -> None:
        super().__init__(wizard, "printer")
        self.printerList = QListWidget()
        self.printerList.setObjectName("printerList")
        self.printerList.setMaximumHeight(110)
        self.printerList.currentItemChanged.connect(self._picked)
        self.targetEdit = line_edit("printerTargetEdit")
        self.targetEdit.setText(self.session.config.printer.target)
        self.profileBox = QComboBox()
        self.profileBox.setObjectName("profileBox")
        for name in ("80mm", "58mm", "preprinted"):
            self.profileBox.addItem(name, name)
        self.profileBox.setCurrentIndex(max(self.profileBox.findData(self.session.config.printer.profile), 0))
        self.profileBox.currentIndexChanged.connect(lambda _i: self._profile_changed())
        self.xSpin, self.ySpin = (self._offset_spin("offsetXSpin"), self._offset_spin("offsetYSpin"))
        self.xSpin.setValue(self.session.config.printer.offset_x_mm)
        self.ySpin.setValue(self.session.config.printer.offset_y_mm)
        offsets = QHBoxLayout()
        offsets.addWidget(self.xSpin)
        offsets.addWidget(self.ySpin)
        self.offsetsBox = offsets_box = QWidget()
        offsets_box.setLayout(offsets)
        offsets.setContentsMargins(0, 0, 0, 0)
        self.row("found", self.printerList)
        self.row("target", self.targetEdit)
        self.row("profile", self.profileBox)
        self.row("offsets", offsets_box)
        self.refreshButton = self.button("findPrintersButton", self.find_printers)
        self.testButton = self.button("testPrintButton", self.primary)
        self.calibrateButton = self.button("calibrationButton", self.calibration)
        self.previewLabel = label(name="stockPreview")
        self.previewLabel.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.layout_.addWidget(self.previewLabel)
        self.find_printers()
        self._profile_changed()

    def _offset_spin(self, name: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setObjectName(name)
        spin.setRange(-20.0, 20.0)
        spin.setSingleStep(0.5)
        spin.setDecimals(1)
        spin.setSuffix(" mm")
        spin.valueChanged.connect(lambda _v: self._offsets_changed())
        return spin

    def retranslate(self) -> None:
        super().retranslate()
        self.hintLabel.setText(zh_en(
            "选择找到的打印机，或输入 tcp:IP地址、serial:COM3、usb:VID:PID、win:打印机名。Enter 打印测试票。"
            "套打票纸：打印校准页，量出十字偏离票面标记的毫米数（向右、向下为正），填入偏移，预览随之移动。",
            "Pick a printer found on this PC, or type tcp:ADDRESS, serial:COM3, usb:VID:PID, win:NAME. Enter prints a "
            "test ticket. Pre-printed stock: print the calibration page, measure how far the cross fell from the "
            "form's mark (right and down positive) and enter it; the preview moves with it."))
        self.captions["found"].setText(zh_en("找到的打印机", "Found"))
        self.captions["target"].setText(zh_en("打印机", "Printer"))
        self.captions["profile"].setText(zh_en("纸张", "Paper"))
        self.captions["offsets"].setText(zh_en("套打偏移 横/纵", "Stock offset x/y"))
        self.refreshButton.setText(zh_en("重新查找", "Find again"))
        self.testButton.setText(zh_en("打印测试票 Enter", "Test print Enter"))
        self.calibrateButton.setText(zh_en("打印校准页 Ctrl+K", "Calibration page Ctrl+K"))
        if self.printerList.count() == 1 and not self.printerList.item(0).data(Qt.ItemDataRole.UserRole):
            self.printerList.item(0).setText(zh_en("（未找到：请输入地址）", "(none found: type the address)"))

    def enter(self) -> None:
        focus(self.targetEdit)

    def find_printers(self) -> None:
        self.printerList.clear()
        try:
            found = self.session.printers()
        except Exception:  # a discovery source that breaks must not stop the wizard
            log.exception("printer discovery failed")
            found = []
        for c in found:
            item = QListWidgetItem(f"{c.label}  —  {c.target}")
            item.setData(Qt.ItemDataRole.UserRole, c.target)
            self.printerList.addItem(item)
        if not found:
            item = QListWidgetItem(zh_en("（未找到：请输入地址）", "(none found: type the address)"))
            item.setData(Qt.ItemDataRole.UserRole, "")
            self.printerList.addItem(item)

    def _picked(self, item, _previous=None) -> None:
        if item is not None and item.data(Qt.ItemDataRole.UserRole):
            self.targetEdit.setText(item.data(Qt.ItemDataRole.UserRole))

    def _profile_changed(self) -> None:
        # Roll paper has no form to line up with: the calibration row is shown for pre-printed stock only.
        preprinted = self.profileBox.currentData() == "preprinted"
        for w in (self.offsetsBox, self.calibrateButton, self.captions["offsets"]):
            w.setVisible(preprinted)
        self.session.config.printer.profile = self.profileBox.currentData()
        self._offsets_changed()

    def _offsets_changed(self) -> None:
        self.session.config.printer.offset_x_mm = round(self.xSpin.value(), 1)
        self.session.config.printer.offset_y_mm = round(self.ySpin.value(), 1)
        self.update_preview()

    def update_preview(self) -> None:
        try:
            png = self.session.preview_png()
        except Exception as exc:  # no CJK font: the preview says so, the wizard goes on
            self.previewLabel.setText(zh_en(f"无法显示预览：{exc}", f"no preview: {exc}"))
            return
        pixmap = QPixmap()
        pixmap.loadFromData(png)
        self.previewLabel.setPixmap(pixmap.scaledToHeight(260, Qt.TransformationMode.SmoothTransformation))

    def primary(self, allow_silent: bool = False) -> None:
        target, profile = self.targetEdit.text(), self.profileBox.currentData()
        if not target.strip():
            focus(self.targetEdit)
            return

        def work():
            result = self.session.set_printer(target, profile=profile, allow_silent=allow_silent)
            if result.ok and profile == "preprinted":
                self.session.set_offsets(self.xSpin.value(), self.ySpin.value())
                self.session.record(result)
            return result

        self.wizard.run(self, work, zh_en("正在打印测试票……", "Printing a test ticket…"), advance=True)

    def keep_silent(self) -> None:
        if not self.wizard.busy:
            self.primary(allow_silent=True)

    def calibration(self) -> None:
        if self.profileBox.currentData() != "preprinted":
            return
        target = self.targetEdit.text()
        self.wizard.run(self, lambda: self.session.calibration_page(target), zh_en("正在打印校准页……", "Printing…"))


class ReaderPage(_Page):
    def __init__(self, wizard) -> None:
        super().__init__(wizard, "reader")
        self.portEdit = line_edit("readerPortEdit")
        self.portEdit.setText(self.session.config.reader.port or "auto")
        self.row("port", self.portEdit)
        self.probeButton = self.button("probeReaderButton", self.primary)
        self.cardButton = self.button("readCardButton", self.read_card)
        self.skipButton = self.button("skipReaderButton", lambda: self.wizard.step_done(self, self.session.skip("reader")))

    def retranslate(self) -> None:
        super().retranslate()
        self.hintLabel.setText(zh_en(
            "读卡器的端口（COM3、/dev/ttyUSB0），或 auto 逐个端口、逐个速率探测。找到后放一张身份证读一次"
            "（只显示姓氏和打码的证件号）。没有读卡器按 Alt+S 跳过：证件号手工输入。",
            "The reader's port (COM3, /dev/ttyUSB0), or auto to probe every port at every speed. Then read a card "
            "(only the first character of the name and the masked number are shown). No reader: Alt+S skips, "
            "documents are typed."))
        self.captions["port"].setText(zh_en("端口", "Port"))
        self.probeButton.setText(zh_en("探测 Enter", "Probe Enter"))
        self.cardButton.setText(zh_en("读测试卡 Ctrl+R", "Read a card Ctrl+R"))
        self.skipButton.setText(zh_en("跳过 Alt+S", "Skip Alt+S"))

    def enter(self) -> None:
        focus(self.portEdit)

    def primary(self) -> None:
        port = self.portEdit.text().strip() or "auto"

        def done(result):
            if result.ok:
                self.portEdit.setText(result.data["port"])

        self.wizard.run(self, lambda: self.session.probe_reader(port), zh_en("正在探测读卡器……", "Probing…"),
                        then=done)

    def read_card(self) -> None:
        self.wizard.run(self, lambda: self.session.read_test_card(timeout=10.0),
                        zh_en("请把身份证放在读卡器上……", "Put a card on the reader…"), advance=True)


class ScannerPage(_Page):
    def __init__(self, wizard) -> None:
        super().__init__(wizard, "scanner")
        self.scanEdit = line_edit("scanTestEdit")
        self.portEdit = line_edit("scannerPortEdit")
        self.portEdit.setText(self.session.config.scanner.port)
        self.row("scan", self.scanEdit)
        self.row("port", self.portEdit)
        self.listenButton = self.button("listenScannerButton", self.listen)
        self.skipButton = self.button("skipScannerButton", lambda: self.wizard.step_done(self, self.session.skip("scanner")))

    def retranslate(self) -> None:
        super().retranslate()
        self.hintLabel.setText(zh_en(
            "键盘模式的扫码枪：光标在上面一栏时扫任意条码，扫完自动回车。串口扫码枪：填端口后按“监听”再扫。"
            "没有扫码枪按 Alt+S 跳过。",
            "A keyboard-wedge scanner: scan any code into the first field (it ends with Enter). A serial scanner: "
            "type its port, press Listen, then scan. No scanner: Alt+S skips."))
        self.captions["scan"].setText(zh_en("扫码测试", "Scan here"))
        self.captions["port"].setText(zh_en("串口", "Serial port"))
        self.listenButton.setText(zh_en("监听串口 Ctrl+L", "Listen Ctrl+L"))
        self.skipButton.setText(zh_en("跳过 Alt+S", "Skip Alt+S"))

    def enter(self) -> None:
        focus(self.scanEdit)

    def primary(self) -> None:
        if self.focusWidget() is self.portEdit and self.portEdit.text().strip():
            self.listen()
            return
        self.wizard.step_done(self, self.session.wedge_scanned(self.scanEdit.text()))

    def listen(self) -> None:
        port = self.portEdit.text().strip()
        if not port:
            focus(self.portEdit)
            return
        self.wizard.run(self, lambda: self.session.test_serial_scanner(port, timeout=10.0),
                        zh_en("请扫一个条码……", "Scan a code…"), advance=True)


class PasswordPage(_Page):
    def __init__(self, wizard) -> None:
        super().__init__(wizard, "password")
        self.codeLabel = label(steps.TECHNICIAN_CODE, name="technicianCode")
        self.passwordEdit = line_edit("technicianPasswordEdit")
        self.againEdit = line_edit("technicianPasswordAgainEdit")
        for edit in (self.passwordEdit, self.againEdit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.row("code", self.codeLabel)
        self.row("password", self.passwordEdit)
        self.row("again", self.againEdit)

    def retranslate(self) -> None:
        super().retranslate()
        self.hintLabel.setText(zh_en(
            f"技术员账号 {steps.TECHNICIAN_CODE} 的密码（至少 {steps.MIN_PASSWORD} 位）。在售票窗口用它登录进入技术员菜单："
            "解锁账号、添加售票员或检票员、诊断。",
            f"The password of the technician account {steps.TECHNICIAN_CODE} ({steps.MIN_PASSWORD}+ characters). Sign in "
            "with it at the window for the technician menu: unlock accounts, add clerks or gate checkers, diagnose."))
        self.captions["code"].setText(zh_en("工号", "User code"))
        self.captions["password"].setText(zh_en("密码", "Password"))
        self.captions["again"].setText(zh_en("再输一次", "Again"))

    def enter(self) -> None:
        focus(self.passwordEdit)

    def primary(self) -> None:
        if self.focusWidget() is self.passwordEdit:
            focus(self.againEdit)
            return
        password, again = self.passwordEdit.text(), self.againEdit.text()
        self.passwordEdit.clear()
        self.againEdit.clear()

        def done(result) -> None:
            if not result.ok:
                focus(self.passwordEdit)

        # Writing the account opens (and may first create) the database: not on the GUI thread.
        self.wizard.run(self, lambda: self.session.set_password(password, again),
                        zh_en("正在保存……", "Saving…"), advance=True, then=done)


class ChecklistPage(_Page):
    def __init__(self, wizard) -> None:
        super().__init__(wizard, "checklist")
        self.checkList = QListWidget()
        self.checkList.setObjectName("checkList")
        # Doctor's lines carry whole paths: wrapped, not cut off behind a scroll bar.
        self.checkList.setWordWrap(True)
        self.checkList.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.checkList.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.layout_.insertWidget(2, self.checkList, 1)
        self.finishButton = self.button("finishButton", self.primary)
        self.results: list = []

    def retranslate(self) -> None:
        self.titleLabel.setText(f"{len(PAGES)}. {zh_en(*steps.TITLES['checklist'])}")
        self.hintLabel.setText(zh_en(
            "与 kezhan doctor 相同的检查。✗ 的项目：按 Alt+数字 回到对应步骤。Enter 完成并打开售票窗口。",
            "The same checks as kezhan doctor. For a ✗, Alt+number goes back to its step. Enter finishes and "
            "opens the counter."))
        self.finishButton.setText(zh_en("完成 Enter", "Finish Enter"))

    def enter(self) -> None:
        session = self.session
        self.wizard.run(self, lambda: (session.checklist(), session.staff_accounts()), zh_en("正在检查……", "Checking…"),
                        then=self._show)
        focus(self.checkList)

    def _show(self, answer) -> None:
        results, staff = answer
        self.results = results
        self.checkList.clear()
        mark = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "–"}
        for r in results:
            item = QListWidgetItem(f"{mark[r.status]} {r.name:<10} {r.detail}")
            item.setData(Qt.ItemDataRole.UserRole, r.status)
            self.checkList.addItem(item)
        # The wizard makes the technician's account only: without this line a newcomer meets a
        # sign-in screen no clerk can pass, with nothing saying where clerks come from.
        self.resultLabel.setProperty("role", "hint")
        self.resultLabel.setText("" if staff != 0 else zh_en(
            f"本机还没有售票员或检票员账号：完成后用技术员 {steps.TECHNICIAN_CODE} 登录，按 2 添加。",
            f"No clerk or gate checker on this terminal yet: once finished, sign in as technician "
            f"{steps.TECHNICIAN_CODE} and press 2 to add one."))
        theme.repolish(self.resultLabel)
        self.wizard.state["checklist"] = all(r.status != "fail" for r in results)
        self.wizard.refresh_steps()

    def primary(self) -> None:
        self.wizard.finish()


class SetupWizard(QDialog):
    """The set-up wizard over a :class:`app.setup.SetupSession`; ``pending`` are the steps to do
    (from :func:`app.setup.readiness`); the others start as done."""

    finished_setup = Signal()

    def __init__(self, session: steps.SetupSession, pending: list[str] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupWizard")
        self.session = session
        self.pending = list(pending if pending is not None else steps.STEPS)
        self.busy = False
        self.worker = WorkerThread("setup", self)
        self.state: dict[str, object] = {s: (None if s in self.pending else True) for s in PAGES}
        self.state["checklist"] = None

        root = QHBoxLayout(self)
        self.stepList = QListWidget()
        self.stepList.setObjectName("stepList")
        self.stepList.setFixedWidth(290)
        self.stepList.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stepList.currentRowChanged.connect(self._row_changed)
        root.addWidget(self.stepList)
        right = QVBoxLayout()
        root.addLayout(right, 1)
        self.stack = QStackedWidget()
        self.stack.setObjectName("setupPages")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.stack)
        right.addWidget(scroll, 1)
        self.statusLabel = label(role="hint", name="setupStatus")
        right.addWidget(self.statusLabel)
        self.pages: dict[str, _Page] = {}
        for cls in (LanguagePage, RolePage, ServerPage, PrinterPage, ReaderPage, ScannerPage, PasswordPage,
                    ChecklistPage):
            page = cls(self)
            if page.step != "checklist":
                page.layout_.addStretch(1)  # the form at the top, not spread down the page
            self.pages[page.step] = page
            self.stack.addWidget(page)
            self.stepList.addItem(QListWidgetItem())

        handlers = {
            "setup_next": lambda: self.go(self._neighbour(+1)),
            "setup_prev": lambda: self.go(self._neighbour(-1)),
            "setup_link": lambda: self._on("server", "test_link"),
            "setup_calibrate": lambda: self._on("printer", "calibration"),
            # A printer that printed but never answers a status query: kept once the ticket is seen.
            "setup_keep_silent": lambda: self._on("printer", "keep_silent"),
            "setup_card": lambda: self._on("reader", "read_card"),
            "setup_scanner": lambda: self._on("scanner", "listen"),
            "setup_skip": self._skip,
        }
        self.keys = {combo: slot for action_id, slot in handlers.items()
                     for combo in actions.key_combinations(action_id)}
        for combo, step in zip(actions.key_combinations("setup_step"), PAGES, strict=True):
            self.keys[combo] = lambda step=step: self.go(step)
        if (Qt.KeyboardModifier.ControlModifier, Qt.Key.Key_Return) in self.keys:
            self.keys[(Qt.KeyboardModifier.ControlModifier, Qt.Key.Key_Enter)] = handlers["setup_keep_silent"]
        # Keys are taken before the focused field sees them (a combo box would eat Alt+digits),
        # and whether or not the window manager has made the wizard the active window.
        QApplication.instance().installEventFilter(self)
        self.retranslate()
        self.go(self.pending[0] if self.pending else "checklist")

    # -- plumbing ------------------------------------------------------------------------------

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() == QEvent.Type.KeyPress and isinstance(obj, QWidget) and \
                (obj is self or self.isAncestorOf(obj)):
            mods = event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
            slot = self.keys.get((mods, Qt.Key(event.key()))) if mods != Qt.KeyboardModifier.NoModifier else None
            if slot is not None:
                slot()
                return True
        return False

    def _skip(self) -> None:
        page = self.current()
        if page.step in ("reader", "scanner") and not self.busy:
            page.skipButton.click()

    def _on(self, step: str, method: str) -> None:
        if self.current().step == step:
            getattr(self.current(), method)()

    def current(self) -> _Page:
        return self.stack.currentWidget()

    def _primary(self) -> None:
        if not self.busy:
            self.current().primary()

    def _neighbour(self, delta: int) -> str:
        index = PAGES.index(self.current().step)
        return PAGES[max(0, min(len(PAGES) - 1, index + delta))]

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(PAGES) and self.current().step != PAGES[row]:
            self.go(PAGES[row])

    def retranslate(self) -> None:
        self.setWindowTitle(zh_en("客站 Kezhan — 设置向导", "Kezhan — set-up wizard"))
        for page in self.pages.values():
            page.retranslate()
        self.refresh_steps()

    def refresh_steps(self) -> None:
        for i, step in enumerate(PAGES):
            state = self.state[step]
            text = f"{MARK[state]}  Alt+{i + 1}  {zh_en(*steps.TITLES[step])}"
            item = self.stepList.item(i)
            item.setText(text)
            item.setData(Qt.ItemDataRole.UserRole, state)

    def go(self, step: str) -> None:
        if self.busy:
            return
        page = self.pages[step]
        self.stack.setCurrentWidget(page)
        self.stepList.blockSignals(True)
        self.stepList.setCurrentRow(PAGES.index(step))
        self.stepList.blockSignals(False)
        page.enter()

    def run(self, page: _Page, fn, waiting: str, *, advance: bool = False, then=None,
            mark_success: bool = True) -> None:
        """``fn()`` on the worker thread; its StepResult is shown (and, with ``advance``, a success
        moves on; without ``mark_success``, a success is only shown); ``then(result)`` runs after,
        on the GUI thread."""
        if self.busy:
            return
        self.busy = True
        self.statusLabel.setText(waiting)

        def done(result) -> None:
            self.busy = False
            self.statusLabel.setText("")
            if then is not None:
                then(result)
            if isinstance(result, steps.StepResult):
                if result.ok and not mark_success:
                    page.show_result(result)
                else:
                    self.step_done(page, result, advance=advance)

        def failed(exc) -> None:
            self.busy = False
            log.error("set-up step %s failed: %s", page.step, exc, exc_info=exc)
            self.statusLabel.setText("")
            page.resultLabel.setProperty("role", "error")
            page.resultLabel.setText(zh_en(f"内部错误：{exc}（详见日志）", f"internal error: {exc} (see the log)"))

        self.worker.submit(fn, on_done=done, on_error=failed)

    def step_done(self, page: _Page, result: steps.StepResult, *, advance: bool = True) -> None:
        page.show_result(result)
        if result.ok:
            self.state[page.step] = "skipped" if result.skipped else True
            try:
                self.session.save()
            except KezhanError as exc:  # a read-only ProgramData: said on the page, the step stays to do
                self.state[page.step] = False
                page.resultLabel.setProperty("role", "error")
                page.resultLabel.setText(exc.text(theme.language()))
                self.refresh_steps()
                return
        else:
            self.state[page.step] = False
        if page.step == "language":
            self.retranslate()
        self.refresh_steps()
        if result.ok and advance:
            self.go(self.next_open_step(page.step))

    def next_open_step(self, after: str) -> str:
        """The next step still to do or failed (the checklist when none is left)."""
        index = PAGES.index(after)
        for step in PAGES[index + 1:] + PAGES[:index]:
            if step != "checklist" and self.state[step] in (None, False):
                return step
        return "checklist"

    def keyPressEvent(self, event):  # noqa: N802
        # Enter reaches here from any field that does not use it itself (line edits, closed combo
        # boxes): the page's main action, never QDialog's default button.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # A button Tab has reached is what the technician means: Enter presses it, as Space does.
            focused = self.focusWidget()
            if isinstance(focused, QPushButton) and self.isAncestorOf(focused):
                if not self.busy:
                    focused.click()
                return
            self._primary()
            return
        if event.key() == Qt.Key.Key_Escape and self.busy:
            return
        super().keyPressEvent(event)

    def showEvent(self, event):  # noqa: N802
        # The focus set before the dialog was shown did not take: the page's first field again.
        super().showEvent(event)
        page = self.current()
        if page.step != "checklist":
            page.enter()

    def finish(self) -> None:
        self.session.save()
        missing = steps.readiness(self.session.path)
        if missing:
            # The counter cannot open on an unenrolled terminal or without a printer: back to the first.
            for step in missing:
                self.state[step] = False
            self.refresh_steps()
            self.go(missing[0])
            names = ", ".join(zh_en(*steps.TITLES[s]) for s in missing)
            self.statusLabel.setText(zh_en(f"还需完成：{names}", f"still to do: {names}"))
            return
        self.finished_setup.emit()
        self.accept()

    def done(self, code: int) -> None:  # noqa: D401 - QDialog's name
        QApplication.instance().removeEventFilter(self)
        self.worker.stop()
        super().done(code)

    def reject(self) -> None:
        if self.busy:
            return
        super().reject()

