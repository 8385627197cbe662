"""The set-up wizard driven by keyboard, offscreen, from a bare PC to a ready terminal: the reference
server over loopback, the printer simulator on TCP, the ID card reader simulator on a pseudo-terminal,
a keyboard-wedge scan typed into the field. Each step's screenshot is saved (``KEZHAN_TEST_SCREENS``
names a folder to keep them in)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.line_server import issue_code

ENTER = Qt.Key.Key_Return


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("KEZHAN_TEST_SCREENS") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Keys:
    """Keys pressed into whatever has the focus, counted."""

    def __init__(self, qtbot, wizard) -> None:
        self.qtbot, self.wizard, self.count, self.presses = qtbot, wizard, 0, 0

    def target(self):
        widget = self.wizard.focusWidget()
        assert widget is not None, "nothing in the wizard has the keyboard focus"
        return widget

    def type(self, text: str) -> None:
        self.count += len(text)
        self.qtbot.keyClicks(self.target(), text)

    def press(self, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        self.count += 1
        self.presses += 1
        self.qtbot.keyClick(self.target(), key, modifier)

    def enter(self) -> None:
        self.press(ENTER)


def open_wizard(qtbot, home: Path, language: str = "zh_CN"):
    from app.setup import SetupSession, readiness
    from app.ui import theme
    from app.ui.setup_wizard import SetupWizard

    theme.apply(QApplication.instance(), 1366)  # as run_setup does
    theme.set_language(language)
    session = SetupSession(home / "kezhan.toml", sleep=lambda _s: None)
    wizard = SetupWizard(session, readiness(home / "kezhan.toml"))
    qtbot.addWidget(wizard)
    wizard.resize(1100, 720)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


def shot(wizard, folder: Path, name: str) -> Path:
    QApplication.processEvents()
    path = folder / f"setup-{name}.png"
    assert wizard.grab().save(str(path))
    return path


def wait_state(qtbot, wizard, step: str, state=True) -> None:
    qtbot.waitUntil(lambda: not wizard.busy and wizard.state[step] == state, timeout=20000)


def test_a_bare_pc_to_a_ready_terminal_by_keyboard(qtbot, kezhan_home, server, printer_sim, reader_sim, shots):
    from app.setup import readiness
    from app.ui import theme

    reader, reader_port = reader_sim
    wizard = open_wizard(qtbot, kezhan_home)
    keys = Keys(qtbot, wizard)
    assert wizard.current().step == "language"
    assert [wizard.stepList.item(i).text()[0] for i in range(8)] == ["·"] * 8
    shot(wizard, shots, "1-language")

    keys.enter()  # 中文
    assert wizard.current().step == "role"
    keys.press(Qt.Key.Key_Down)
    keys.press(Qt.Key.Key_Down)  # 售票兼检票
    keys.press(Qt.Key.Key_Tab)
    keys.type("3,4")
    shot(wizard, shots, "2-role")
    keys.enter()
    assert wizard.state["role"] is True and wizard.current().step == "server"

    page = wizard.current()
    keys.type(server.url)
    page.test_link()
    qtbot.waitUntil(lambda: "时钟偏差" in page.resultLabel.text(), timeout=10000)
    keys.enter()  # to the code field
    keys.type(issue_code(server.url))
    shot(wizard, shots, "3-server")
    keys.enter()
    wait_state(qtbot, wizard, "server")
    assert "已注册为" in page.resultLabel.text()
    assert wizard.current().step == "printer"

    page = wizard.current()
    assert page.previewLabel.pixmap() is not None and not page.previewLabel.pixmap().isNull()
    keys.type(printer_sim.target)
    shot(wizard, shots, "4-printer")
    keys.enter()
    wait_state(qtbot, wizard, "printer")
    assert len(printer_sim.wait_for_jobs(1)) == 1  # the test ticket reached the printer
    assert wizard.current().step == "reader"

    page = wizard.current()
    page.portEdit.clear()
    keys.type(reader_port)
    keys.enter()  # probe
    qtbot.waitUntil(lambda: not wizard.busy and "读卡器在" in page.resultLabel.text(), timeout=20000)
    shot(wizard, shots, "5-reader")
    reader.place("resident")
    keys.press(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_state(qtbot, wizard, "reader")
    assert "读卡成功" in page.resultLabel.text()
    assert "*" in page.resultLabel.text()  # the number masked
    assert wizard.current().step == "scanner"

    keys.type("T1234567890")  # a wedge scanner types, then Enter
    shot(wizard, shots, "6-scanner")
    keys.enter()
    assert wizard.state["scanner"] is True and wizard.current().step == "password"

    keys.type("tech-secret")
    keys.enter()
    keys.type("tech-secret")
    shot(wizard, shots, "7-password")
    keys.enter()
    wait_state(qtbot, wizard, "password")
    assert wizard.current().step == "checklist"

    checklist = wizard.current()
    qtbot.waitUntil(lambda: not wizard.busy and checklist.checkList.count() > 0, timeout=30000)
    names = [checklist.checkList.item(i).text().split()[1] for i in range(checklist.checkList.count())]
    assert names[:2] == ["config", "database"] and "server" in names and "printer" in names
    statuses = {r.name: r.status for r in checklist.results}
    assert statuses["config"] == "ok" and statuses["database"] == "ok" and statuses["reader"] == "ok"
    shot(wizard, shots, "8-checklist")
    # docs/setup.md counts these: the keys besides what is typed (URL, code, printer, port, scan,
    # password twice), from a bare PC to the checklist.
    assert keys.presses == 13

    # Re-enter a step: Alt+1, English this time; the wizard speaks English from then on.
    keys.press(Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert wizard.current().step == "language"
    keys.press(Qt.Key.Key_Down)
    keys.enter()
    assert theme.language() == "en" and wizard.windowTitle() == "Kezhan — set-up wizard"
    keys.press(Qt.Key.Key_8, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: not wizard.busy and checklist.checkList.count() > 0, timeout=30000)
    shot(wizard, shots, "8-checklist-en")
    keys.enter()
    assert wizard.result() == wizard.DialogCode.Accepted
    theme.set_language("zh_CN")

    assert readiness(kezhan_home / "kezhan.toml") == []
    config = tomllib.loads((kezhan_home / "kezhan.toml").read_text(encoding="utf-8"))
    assert config["terminal"]["role"] == "both" and config["terminal"]["gates"] == ["3", "4"]
    assert config["terminal"]["language"] == "en"
    assert config["printer"]["target"] == printer_sim.target
    assert config["reader"]["port"] == reader_port
    assert len(server.server.list_terminals()) == 1
    # Counted for docs/setup.md: the keys from a bare PC to the checklist (URL, code and password typed).
    assert keys.count < 200


def test_the_wizard_reopens_only_what_failed(qtbot, kezhan_home, server, printer_sim, shots):
    """A PC set up by `kezhan setup` without a printer: the wizard opens on the printer step alone;
    a wrong enrolment code marks its step ✗ and the fix makes it ✓ without touching the others."""
    from app.setup import SetupSession

    session = SetupSession(kezhan_home / "kezhan.toml", sleep=lambda _s: None)
    assert session.set_role("window").ok
    assert session.enrol(server.url, issue_code(server.url)).ok
    assert session.set_password("tech-secret").ok
    session.save()

    wizard = open_wizard(qtbot, kezhan_home)
    keys = Keys(qtbot, wizard)
    marks = [wizard.stepList.item(i).text()[0] for i in range(8)]
    assert marks == ["✓", "✓", "✓", "·", "✓", "✓", "✓", "·"]
    assert wizard.current().step == "printer"

    keys.type("tcp:127.0.0.1:9")  # nothing listens there
    keys.enter()
    wait_state(qtbot, wizard, "printer", False)
    assert wizard.stepList.item(3).text().startswith("✗")
    assert wizard.current().step == "printer"  # a failure stays on its step
    shot(wizard, shots, "4-printer-failed")
    wizard.current().targetEdit.clear()
    keys.type(printer_sim.target)
    keys.enter()
    wait_state(qtbot, wizard, "printer")
    # The only open step was the printer: the wizard goes straight to the checklist.
    assert wizard.current().step == "checklist"


def test_a_wrong_code_and_a_server_answering_html_say_so_on_the_page(qtbot, kezhan_home, server, shots):
    wizard = open_wizard(qtbot, kezhan_home)
    keys = Keys(qtbot, wizard)
    keys.press(Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    page = wizard.current()
    assert page.step == "server"
    keys.type(server.url)
    keys.enter()
    keys.type("ABCD-EFGH-JKMN")
    keys.enter()
    wait_state(qtbot, wizard, "server", False)
    assert page.resultLabel.text() == "注册码无效：请核对后重新输入"
    assert wizard.stepList.item(2).text().startswith("✗")
    shot(wizard, shots, "3-server-wrong-code")
    assert server.server.list_terminals() == []

    # A captive portal answering every request with a web page.
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Portal(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = "<!doctype html><html><body>请先登录酒店 Wi-Fi</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    portal = ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    try:
        page.urlEdit.clear()
        qtbot.keyClicks(page.urlEdit, f"http://127.0.0.1:{portal.server_address[1]}")
        keys.press(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not wizard.busy and "网页" in page.resultLabel.text(), timeout=10000)
    finally:
        portal.shutdown()
        portal.server_close()
    assert page.resultLabel.text().endswith("省平台返回了网页而不是协议数据")
    assert wizard.state["server"] is False


def test_stock_offsets_move_the_preview_and_the_calibration_page_prints(qtbot, kezhan_home, printer_sim, shots):
    wizard = open_wizard(qtbot, kezhan_home)
    keys = Keys(qtbot, wizard)
    keys.press(Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    page = wizard.current()
    keys.type(printer_sim.target)
    keys.press(Qt.Key.Key_Tab)  # to the paper
    assert not page.xSpin.isVisibleTo(page)  # roll paper: no calibration
    keys.press(Qt.Key.Key_Down)
    keys.press(Qt.Key.Key_Down)  # preprinted
    assert page.profileBox.currentData() == "preprinted" and page.xSpin.isVisibleTo(page)
    before = page.previewLabel.pixmap().toImage()
    keys.press(Qt.Key.Key_Tab)
    for _ in range(5):
        keys.press(Qt.Key.Key_Up)  # half a millimetre a press
    assert wizard.session.config.printer.offset_x_mm == 2.5
    assert page.previewLabel.pixmap().toImage() != before
    shot(wizard, shots, "4-printer-preprinted")
    keys.press(Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not wizard.busy and "校准页" in page.resultLabel.text(), timeout=20000)
    assert len(printer_sim.wait_for_jobs(1)) == 1
    keys.enter()  # the test ticket on the calibrated stock; the offsets are kept
    wait_state(qtbot, wizard, "printer")
    config = tomllib.loads((kezhan_home / "kezhan.toml").read_text(encoding="utf-8"))
    assert config["printer"]["profile"] == "preprinted" and config["printer"]["offset_x_mm"] == 2.5


def test_a_silent_printer_is_kept_with_ctrl_enter_once_its_ticket_is_seen(qtbot, kezhan_home, printer_sim):
    printer_sim.set_condition("silent")  # it prints, and never answers a status query
    wizard = open_wizard(qtbot, kezhan_home)
    keys = Keys(qtbot, wizard)
    keys.press(Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    page = wizard.current()
    keys.type(printer_sim.target)
    keys.enter()
    wait_state(qtbot, wizard, "printer", False)
    assert "Ctrl+Enter" in page.resultLabel.text()
    keys.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_state(qtbot, wizard, "printer")
    assert wizard.session.config.printer.target == printer_sim.target
    assert len(printer_sim.wait_for_jobs(2)) == 2


def test_no_cjk_font_and_a_read_only_data_folder_are_said_on_the_page(qtbot, kezhan_home, monkeypatch):
    from app import setup as steps
    from drivers.printer import fonts
    from drivers.printer.errors import FontNotFoundError

    def no_font(*_a, **_k):
        raise FontNotFoundError("找不到中文字体", en="no CJK font found")

    monkeypatch.setattr(fonts, "find_cjk_font", no_font)
    monkeypatch.setattr(steps.SetupSession, "preview_png", lambda self: no_font())
    wizard = open_wizard(qtbot, kezhan_home)
    keys = Keys(qtbot, wizard)
    keys.press(Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    assert "无法显示预览" in wizard.current().previewLabel.text()  # the page still works

    # ProgramData made read-only after the wizard opened: the step says so and stays to do.
    wizard.session.path = Path("/proc/kezhan-read-only/kezhan.toml")
    keys.press(Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    keys.enter()
    page = wizard.current()
    assert page.step == "role" and wizard.state["role"] is False
    assert "无法写入配置文件" in page.resultLabel.text() and "KEZHAN_HOME" in page.resultLabel.text()


def test_a_link_test_shows_the_link_without_marking_the_step_done(qtbot, kezhan_home, server):
    """Ctrl+T before the code: the page says the link is fine, the step stays to do (no ✓ on a
    terminal that is not enrolled yet); a link that fails marks it ✗."""
    wizard = open_wizard(qtbot, kezhan_home)
    keys = Keys(qtbot, wizard)
    keys.press(Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    page = wizard.current()
    keys.type(server.url)
    keys.press(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not wizard.busy and "时钟偏差" in page.resultLabel.text(), timeout=10000)
    assert wizard.state["server"] is None and wizard.stepList.item(2).text().startswith("·")
    assert page.resultLabel.property("role") == "ok"
    page.urlEdit.clear()
    keys.type("http://127.0.0.1:9")  # nothing listens there
    keys.press(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    wait_state(qtbot, wizard, "server", False)
    assert wizard.stepList.item(2).text().startswith("✗")


def test_no_reader_or_scanner_is_skipped_by_alt_s_or_by_enter_on_the_skip_button(qtbot, kezhan_home):
    """A PC without a reader or a scanner: Alt+S (written on the button) skips the step; Tab to the
    button and Enter presses it too, instead of running the page's probe."""
    from app import setup as steps

    probed: list[str] = []
    wizard = open_wizard(qtbot, kezhan_home)
    wizard.session.probe_reader = lambda port="auto", **_k: probed.append(port) or steps.StepResult(
        "reader", False, "没有找到读卡器", "no reader found")
    keys = Keys(qtbot, wizard)
    keys.press(Qt.Key.Key_5, Qt.KeyboardModifier.AltModifier)
    page = wizard.current()
    assert page.skipButton.text() == "跳过 Alt+S" and "Alt+S" in page.hintLabel.text()
    keys.press(Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    assert wizard.state["reader"] == "skipped" and wizard.stepList.item(4).text().startswith("–")
    assert wizard.current().step == "scanner"

    scanner = wizard.current()
    for _ in range(3):  # the scan field, the port, Listen, Skip
        keys.press(Qt.Key.Key_Tab)
    assert wizard.focusWidget() is scanner.skipButton
    keys.enter()
    assert wizard.state["scanner"] == "skipped" and wizard.current().step == "password"
    assert wizard.session.config.scanner.port == ""

    keys.press(Qt.Key.Key_5, Qt.KeyboardModifier.AltModifier)  # back to the reader: Enter probes
    keys.enter()
    qtbot.waitUntil(lambda: not wizard.busy and probed == ["auto"], timeout=10000)
    assert wizard.state["reader"] is False
