"""Look, language and keyboard map: object names, the F1 overlay, the F12 switch to English, the
Linguist file, the print preview, the log-in lock, and screenshots at both sizes in both languages."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QWidget,
)

from app import paths
from app.ui import actions
from app.ui.dialogs import HelpDialog, PreviewDialog
from tests.gui.conftest import CLERK, has_focus, sign_in

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
TS_FILE = paths.resources_dir() / "i18n" / "kezhan_en.ts"
INTERACTIVE = (QAbstractButton, QLineEdit, QAbstractSpinBox, QComboBox, QAbstractItemView)


def unnamed_interactive(top: QWidget) -> list[str]:
    """Interactive widgets without an objectName (Qt's own parts of a composite widget excluded)."""
    out = []
    for w in top.findChildren(QWidget):
        if not isinstance(w, INTERACTIVE) or w.objectName().startswith("qt_"):
            continue
        parent = w.parentWidget()
        composite = False
        while parent is not None and parent is not top:
            if isinstance(parent, INTERACTIVE):
                composite = True  # a spin box's line edit, a table's corner button, a combo's list
                break
            parent = parent.parentWidget()
        if not composite and not w.objectName():
            out.append(f"{type(w).__name__} in {type(w.window()).__name__}")
    return out


def test_every_interactive_widget_has_an_object_name(qtbot, window, keys, backend):
    assert unnamed_interactive(window) == []
    sign_in(keys)
    assert unnamed_interactive(window) == []
    for key in (Qt.Key.Key_F3, Qt.Key.Key_F4, Qt.Key.Key_F5, Qt.Key.Key_F6, Qt.Key.Key_F7, Qt.Key.Key_F8,
                Qt.Key.Key_F1, Qt.Key.Key_F10, Qt.Key.Key_F11):
        keys.press(key)
        dialog = window.dialog
        assert dialog is not None and dialog.objectName()
        assert unnamed_interactive(dialog) == [], dialog.objectName()
        keys.press(Qt.Key.Key_Escape)
        assert window.dialog is None


def test_help_overlay_lists_the_registry(qtbot, window, keys):
    sign_in(keys)
    keys.press(Qt.Key.Key_F1)
    dialog = window.dialog
    assert isinstance(dialog, HelpDialog)
    table = dialog.table
    # Two key/action pairs side by side (so the registry fits the screen): every action once.
    cells = [dialog.cell_of(i) for i in range(len(actions.ACTIONS))]
    assert len(set(cells)) == len(actions.ACTIONS)
    shown = [(table.item(r, c).text(), table.item(r, c + 1).text()) for r, c in cells]
    assert ("F3", "退票") in shown and ("F8", "交班结算") in shown
    assert any(k.startswith("PageUp") for k, _ in shown)
    keys.press(Qt.Key.Key_Escape)
    assert window.dialog is None


def test_every_bound_shortcut_is_unique_and_from_the_registry(window):
    seen = {}
    for action in window.actions.values():
        for sequence in action.shortcuts():
            text = sequence.toString()
            assert text not in seen, f"{text} bound twice ({seen.get(text)}, {action.objectName()})"
            seen[text] = action.objectName()
    registry = {k for a in actions.ACTIONS if a.where in actions.BOUND_WHERE for k in a.keys}
    assert {s for s in seen} == {s.replace("PgUp", "PgUp").replace("PgDown", "PgDown") for s in registry}


def test_markdown_table_prints_every_key_in_both_languages():
    out = subprocess.run([sys.executable, "-m", "app.ui.actions", "--markdown"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    lines = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(lines) == len(actions.ACTIONS)
    assert "| `F3` | 退票 | Refund |" in out
    assert "`PageUp` / `Ctrl+←`" in out
    assert all(line.split("|")[3].strip() for line in lines), "an action without its English label"


def test_the_linguist_file_is_complete_and_current(tmp_path):
    root = ET.parse(TS_FILE).getroot()
    untranslated = [m.findtext("source") for m in root.iter("message")
                    if not (m.findtext("translation") or "").strip()
                    or (m.find("translation").get("type") == "unfinished")]
    assert untranslated == []
    # Every string the code asks to translate is in the file (lupdate finds nothing new).
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    fresh = tmp_path / "fresh.ts"
    sources = sorted(str(p) for p in (ROOT / "app" / "ui").glob("*.py"))
    subprocess.run([str(lupdate), *sources, "-ts", str(fresh), "-no-obsolete", "-locations", "none",
                    "-source-language", "zh_CN", "-target-language", "en"], check=True, capture_output=True)
    wanted = {(c.findtext("name"), m.findtext("source")) for c in ET.parse(fresh).getroot().iter("context")
              for m in c.iter("message")}
    have = {(c.findtext("name"), m.findtext("source")) for c in root.iter("context") for m in c.iter("message")}
    assert wanted - have == set()


def test_f12_switches_to_english_and_back(qtbot, window, keys, backend):
    sign_in(keys)
    view = window.saleView
    assert window.fkeyButtons["refund"].text() == "F3 退票"
    keys.press(Qt.Key.Key_F12)
    assert window.fkeyButtons["refund"].text() == "F3 Refund"
    assert view.confirmButton.text() == "Confirm sale  Enter"
    assert view.departuresTable.horizontalHeaderItem(0).text() == "Time"
    assert window.printerLabel.text() == "Printer: none (preview only)"
    assert view.countLabels["full"].text() == "Full"
    # Errors the services raise speak English too.
    keys.type("ZZZZ")
    keys.enter()
    assert view.messageLabel.text() == "No such destination"
    keys.press(Qt.Key.Key_F12)
    assert window.fkeyButtons["refund"].text() == "F3 退票"
    assert view.confirmButton.text() == "确认售票 Enter"


def test_print_preview_shows_the_last_ticket(qtbot, window, keys, backend):
    from tests.gui.test_gui_operations import sell_one

    sign_in(keys)
    keys.press(Qt.Key.Key_F10)
    assert isinstance(window.dialog, PreviewDialog) and window.dialog.pixmap.isNull()
    assert window.dialog.image.text() == "还没有打印过车票"
    keys.press(Qt.Key.Key_Escape)
    job, _, _ = sell_one(backend, 40)
    window._print(backend.ticket_bytes([job.ticket_id]))
    keys.press(Qt.Key.Key_F10)
    pixmap = window.dialog.pixmap
    assert not pixmap.isNull()
    assert pixmap.height() > pixmap.width() > 300  # a ticket: a tall strip of 80 mm paper
    image = pixmap.toImage()
    dark = sum(1 for y in range(0, image.height(), 4) for x in range(0, image.width(), 4)
               if QImage.pixelColor(image, x, y).lightness() < 128)
    assert dark > 200  # printed, not blank


def test_login_locks_after_repeated_failures(qtbot, window, keys):
    view = window.loginView
    for left in (4, 3, 2, 1, 0):
        keys.type(CLERK)
        keys.enter()
        keys.type("wrong")
        keys.enter()
        # The tries left before the lock, then the lock itself (issue 13: a warning first).
        assert view.messageLabel.text() == (f"工号或密码错误，还可再试 {left} 次（之后账号锁定）" if left
                                            else "工号或密码错误，账号已锁定，请联系技术员解锁")
        view.codeEdit.clear()
        view.codeEdit.setFocus()
    keys.type(CLERK)
    keys.enter()
    keys.type("1234")  # the right password, too late
    keys.enter()
    assert "锁定" in view.messageLabel.text()
    assert window.stack.currentWidget() is view
    assert has_focus(view.passwordEdit)


def test_screenshots_at_both_sizes_in_both_languages(qtbot, backend, tmp_path):
    from app.ui import theme
    from app.ui.app import save_screens

    out = tmp_path / "screens"
    saved = save_screens(out, backend.db, terminal=backend.terminal, clerk=CLERK, password="1234",
                         clock=backend.clock, languages=("zh_CN", "en"))
    names = sorted(p.name for p in saved)
    for screen in ("sale", "seatmap", "refund", "settlement"):
        for size in ("1366x768", "1920x1080"):
            assert f"{screen}-{size}.png" in names and f"{screen}-{size}-en.png" in names
    for path in saved:
        image = QImage(str(path))
        assert not image.isNull()
        if path.name.startswith("sale-"):
            width, height = (int(n) for n in path.stem.split("-")[1].split("x"))
            assert (image.width(), image.height()) == (width, height)
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 20, path.name
    assert theme.language() == "zh_CN"


@pytest.mark.parametrize("page", ["docs/ui.md", "README.md"])
def test_docs_carry_the_current_keyboard_table(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    between = text.split("<!-- keyboard-table:start -->\n", 1)[1].split("<!-- keyboard-table:end -->", 1)[0]
    assert between == actions.markdown_table()


def _gui_routes_to(monkeypatch, home):
    """What `kezhan gui` opens in ``home``: the wizard's pending steps, or "counter"."""
    import argparse

    from app.commands import gui
    from app.ui import app as ui_app

    seen = []
    monkeypatch.setenv("KEZHAN_HOME", str(home))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(ui_app, "run_setup", lambda pending, **kw: seen.append(list(pending)) or False)
    monkeypatch.setattr(ui_app, "run_gui", lambda config, **kw: seen.append("counter") or 0)
    assert gui.run(argparse.Namespace(probe=False, screens=None, language=None, setup=False)) == 0
    return seen


def test_setup_guide_carries_the_current_setup_keyboard_table():
    text = (ROOT / "docs/setup.md").read_text(encoding="utf-8")
    between = text.split("<!-- setup-keyboard-table:start -->\n", 1)[1].split("<!-- setup-keyboard-table:end -->", 1)[0]
    assert between == actions.markdown_table(actions.SETUP_ACTIONS)


def test_kezhan_gui_without_a_database_opens_the_set_up_wizard(tmp_path, monkeypatch):
    # Issue 14: a bare PC gets the wizard on every step, not a line on stderr (exit 3) that
    # someone starting it from the desktop icon never sees.
    assert _gui_routes_to(monkeypatch, tmp_path) == [
        ["language", "role", "server", "printer", "reader", "scanner", "password"]]


def test_none_outlives_many_void_calls_into_qt(qapp):
    # PySide6 6.12.0 on Python 3.11 drops a reference to None per void call (pyproject excludes it);
    # with such a release installed this loop aborts the process ("deallocating None").
    from PySide6.QtCore import QObject

    before = sys.getrefcount(None)
    probe = QObject()
    for _ in range(20_000):
        probe.setObjectName("probe")
    assert sys.getrefcount(None) >= before - 100


def test_ui_keystroke_benchmark_measures_beside_its_baseline(qapp, demo_db):
    from app.ui.bench import ui_keystroke

    db, _ = demo_db
    figure = ui_keystroke(n=30, db_path=db.path, quiet=False)  # pytest-qt keeps watching Qt's warnings
    assert figure.name == "ui_keystroke" and figure.n == 30 and figure.unit == "ms"
    assert 0 < figure.baseline and 0 < figure.p50 <= figure.p99
    assert figure.met is (figure.p99 < 16.0)


def test_kezhan_gui_on_a_terminal_not_enrolled_opens_the_wizard_on_what_is_missing(tmp_path, monkeypatch):
    # Issue 14: a migrated but unenrolled file used to exit 6 with a line on stderr.
    from app import config
    from app.store.engine import open_database

    home = tmp_path / "home"
    home.mkdir()
    open_database(home / "kezhan.sqlite3").dispose()
    cfg = config.Config()
    cfg.printer.target = "tcp:192.0.2.10"
    config.save(cfg, home / "kezhan.toml")
    assert _gui_routes_to(monkeypatch, home) == [["server", "password"]]


def test_a_gate_checker_cannot_sign_in_at_the_counter(qtbot, window, keys, backend):
    from app.store.users import ensure_user

    with backend.db.transaction() as session:
        ensure_user(session, "5001", "检票员甲", "gate", "5555")
    keys.type("5001")
    keys.enter()
    keys.type("5555")
    keys.enter()
    assert window.stack.currentWidget() is window.loginView
    assert window.loginView.messageLabel.text() == "该账号不能在售票窗口登录"
    assert backend.user is None


def view_message(window) -> str:
    return window.saleView.messageLabel.text() if window.saleView else ""


def cut_short(top: QWidget) -> list[str]:
    """Visible labels whose text does not fit: a wrapped label lower than its text needs, or a
    one-line label narrower than its text."""
    from PySide6.QtWidgets import QLabel

    out = []
    for lbl in top.findChildren(QLabel):
        if not lbl.isVisibleTo(top) or not lbl.text() or lbl.pixmap() is not None and not lbl.pixmap().isNull():
            continue
        if lbl.wordWrap():
            if lbl.height() + 1 < lbl.heightForWidth(lbl.width()):
                out.append(f"{lbl.objectName() or lbl.text()[:20]}: {lbl.height()} < {lbl.heightForWidth(lbl.width())}")
        elif lbl.width() + 1 < lbl.sizeHint().width():
            out.append(f"{lbl.objectName() or lbl.text()[:20]}: {lbl.width()} < {lbl.sizeHint().width()}")
    return out


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_no_text_is_cut_short(qtbot, window, keys, backend, language, size):
    from app.ui import theme
    from app.ui.app import application

    theme.apply(application(), size[0])
    window.resize(*size)
    theme.set_language(language)
    keys.type(CLERK)
    keys.enter()
    keys.type("wrong")
    keys.enter()  # an error under the password
    qtbot.wait(10)
    assert window.loginView.messageLabel.text()
    assert cut_short(window) == []
    window.loginView.codeEdit.setFocus()
    window.loginView.codeEdit.clear()
    keys.type(CLERK)
    keys.enter()
    keys.type("1234")
    keys.enter()
    keys.type("12X")
    keys.enter()  # an error on the shift panel
    qtbot.wait(10)
    assert window.shiftView.messageLabel.text()
    assert cut_short(window) == []
    window.shiftView.stockEdit.clear()
    keys.type("00100001")
    keys.enter()
    assert window.selling()
    keys.type("ZZZZ")
    keys.enter()  # "no such destination"
    qtbot.wait(10)
    assert cut_short(window) == []
    for key in (Qt.Key.Key_F3, Qt.Key.Key_F8, Qt.Key.Key_F1, Qt.Key.Key_F11):
        keys.press(key)
        qtbot.wait(10)
        dialog = window.dialog
        assert dialog is not None, (key, view_message(window))
        assert cut_short(dialog) == [], dialog.objectName()
        keys.press(Qt.Key.Key_Escape)
        qtbot.waitUntil(window.isActiveWindow)  # the window system hands the focus back


def test_tickets_follow_the_configured_paper(backend):
    from app.ui.backend import Backend
    from tests.gui.test_gui_operations import sell_one

    backend.login(CLERK, "1234")
    backend.open_shift("00100001")
    job, _, _ = sell_one(backend, 90)
    narrow = Backend(backend.db, backend.terminal, clock=backend.clock, printer_profile="58mm")
    narrow._print_jobs[job.ticket_id] = job
    wide = backend.ticket_bytes([job.ticket_id])
    slim = narrow.ticket_bytes([job.ticket_id])
    assert b"=" * 48 in wide
    assert b"=" * 32 in slim and b"=" * 33 not in slim
