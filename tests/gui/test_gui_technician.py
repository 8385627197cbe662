"""The technician at the window: 9901 signs in to the technician menu and, by keyboard, unlocks a
clerk locked out by five wrong passwords, adds a gate checker, resets a password, runs the checklist
and exports a diagnostic bundle without an ID number or a passenger's name in it."""

from __future__ import annotations

import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import CLERK, CLERK_PASSWORD

TECH, TECH_PASSWORD = "9901", "tech-secret"


@pytest.fixture
def technician(backend):
    from app.store.users import ensure_user

    with backend.db.transaction() as session:
        ensure_user(session, TECH, "技术员", "technician", TECH_PASSWORD)
    return backend


def sign_in(keys, code, password):
    keys.type(code)
    keys.enter()
    keys.type(password)
    keys.enter()


def test_the_technician_menu_by_keyboard(qtbot, technician, window, keys, kezhan_home, monkeypatch, tmp_path):
    from app import paths
    from app.errors import RuleViolation
    from app.services import auth
    from app.ui.technician_menu import TechnicianView

    opened: list[Path] = []
    monkeypatch.setattr(TechnicianView, "open_folder", staticmethod(opened.append))
    from app import config
    from app.ui.app import _sample_sale

    backend = technician
    now = datetime.now(UTC)
    # The terminal's file is the window's: the bundle learns the passengers' names from it.
    cfg = config.Config()
    cfg.database.path = str(tmp_path / "kezhan.sqlite3")
    config.save(cfg, kezhan_home / "kezhan.toml")
    backend.login(CLERK, CLERK_PASSWORD)
    backend.open_shift("00100001")
    assert _sample_sale(window, backend) is not None  # a ticket for 王小明
    backend.logout()
    for _ in range(auth.MAX_FAILED_ATTEMPTS):
        with pytest.raises(RuleViolation):
            auth.login(backend.db, backend.terminal, CLERK, "wrong", now=now)
    # A real-looking ID number and a name in the log, as a careless line would leave them.
    (paths.log_dir() / "kezhan.log").write_text(
        "2026-12-05 INFO kezhan.x passenger 11010119900307663X 王小明 took seat 3\n", encoding="utf-8")

    sign_in(keys, TECH, TECH_PASSWORD)
    view = window.technicianView
    assert view is not None and window.stack.currentWidget() is view
    assert not window.selling()

    keys.type("1")
    keys.type(CLERK)
    keys.enter()
    assert view.messageLabel.text() == f"账号 {CLERK} 已解锁"
    auth.login(backend.db, backend.terminal, CLERK, CLERK_PASSWORD, now=now)  # signs in again

    keys.press(Qt.Key.Key_Escape)
    keys.type("2")
    keys.type("2101")
    keys.enter()
    keys.type("赵检票")
    keys.enter()
    keys.press(Qt.Key.Key_Down)  # 检票员
    keys.enter()
    keys.type("gate-2101")
    keys.enter()
    assert view.messageLabel.text() == "已添加 检票员 2101 赵检票", view.messageLabel.text()
    assert {u.code: u.role for u in backend.users()}["2101"] == "gate"
    window.grab().save(str(shots_dir(tmp_path) / "technician-add-user.png"))

    keys.press(Qt.Key.Key_Escape)
    keys.type("3")
    keys.type("1002")
    keys.enter()
    keys.type("new-pass")
    keys.enter()
    assert "1002" in view.messageLabel.text() and "重置" in view.messageLabel.text()
    assert auth.login(backend.db, backend.terminal, "1002", "new-pass", now=now).code == "1002"

    # 4: one wizard step again, over this terminal's kezhan.toml.
    keys.press(Qt.Key.Key_Escape)
    keys.type("4")
    keys.press(Qt.Key.Key_Down)  # 终端用途
    keys.enter()
    wizard = view.wizard
    qtbot.waitExposed(wizard)
    assert wizard.current().step == "role"
    qtbot.keyClick(wizard.current().roleBox, Qt.Key.Key_Down)  # 检票口
    qtbot.keyClick(wizard.current().roleBox, Qt.Key.Key_Tab)
    qtbot.keyClicks(wizard.current().gatesEdit, "5")
    qtbot.keyClick(wizard.current().gatesEdit, Qt.Key.Key_Return)
    assert config.load(kezhan_home / "kezhan.toml").terminal.gates == ["5"]
    qtbot.waitUntil(lambda: not wizard.busy, timeout=30000)  # its checklist, run after the step
    qtbot.keyClick(wizard.focusWidget() or wizard, Qt.Key.Key_Escape)
    assert "重新启动" in view.messageLabel.text()

    keys.press(Qt.Key.Key_Escape)
    keys.type("5")
    qtbot.waitUntil(lambda: view.doctorList.count() > 0, timeout=30000)
    assert any(view.doctorList.item(i).text().split()[1] == "disk" for i in range(view.doctorList.count()))
    window.grab().save(str(shots_dir(tmp_path) / "technician-doctor.png"))

    keys.press(Qt.Key.Key_Escape)
    keys.type("6")
    assert opened == [paths.log_dir()]

    keys.press(Qt.Key.Key_Escape)
    keys.type("7")
    qtbot.waitUntil(lambda: view.last_bundle is not None, timeout=30000)
    with zipfile.ZipFile(view.last_bundle) as bundle:
        text = "".join(bundle.read(n).decode("utf-8") for n in bundle.namelist())
    assert "11010119900307663X" not in text and "[ID]" in text
    assert "王小明" not in text and "[NAME]" in text
    assert opened[-1] == view.last_bundle.parent

    keys.press(Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.loginView


def shots_dir(tmp_path) -> Path:
    folder = Path(os.environ.get("KEZHAN_TEST_SCREENS") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
