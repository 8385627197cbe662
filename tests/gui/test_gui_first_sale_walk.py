"""From the installed package to the first sale, by keyboard only: the walk docs/setup.md counts.

A technician on a fresh station PC starts the demo's provincial server (`kezhan server`), asks it for
an enrolment code (`kezhan server issue-code`), starts the printer simulator (`kezhan sim printer`)
and opens `kezhan gui`, which shows the set-up wizard. WALK is every key pressed from there: the
eight wizard steps, the technician adding the first clerk, the clerk signing in, opening the shift
and selling one ticket. This test replays WALK through the real wizard and the real counter window
(built as `kezhan gui` builds it), offscreen, against the reference server with the demo province
over loopback and the printer simulator on TCP, then checks the ticket is in the terminal's file and
came out of the printer. docs/setup.md and docs/install.md carry WALK's table and counts; the test
fails when they differ from what is replayed here.

The walk sells on tomorrow's first departure (PageDown): today's may have left already, so the
keys would depend on the hour.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[2]

# What the technician types where the values come from the machine: the address `kezhan server`
# prints, the code `kezhan server issue-code` prints (always 14 characters) and the address of
# `kezhan sim printer`. The replay types the values of its own server and simulator instead.
SERVER_URL = "http://127.0.0.1:8470"
CODE = "9NJU-AHA8-7WTS"
PRINTER = "tcp:127.0.0.1:9100"
TECH_PASSWORD = "tech-secret"
CLERK, CLERK_NAME, CLERK_PASSWORD = "1001", "Li", "1234"
STOCK = "00100001"
PASSENGER_ID, PASSENGER = "330102199001010012", "Zhang"

# Keys (each press or chord counts one); every other entry is text typed, one per character.
KEYS = {
    "Enter": (Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier),
    "Ctrl+T": (Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier),
    "Alt+S": (Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier),
    "Ctrl+Q": (Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier),
    "PageDown": (Qt.Key.Key_PageDown, Qt.KeyboardModifier.NoModifier),
    "2": (Qt.Key.Key_2, Qt.KeyboardModifier.NoModifier),  # the technician menu's second task
}

# (where, keys and text in order, what the technician sees happen)
WALK: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("向导 1 语言 · Wizard 1 Language", ("Enter",), "中文 kept · Chinese kept"),
    ("向导 2 终端用途 · 2 Role", ("Enter",), "售票窗口 kept · ticket window kept"),
    ("向导 3 省平台与注册 · 3 Server and enrolment", (SERVER_URL, "Ctrl+T", "Enter", CODE, "Enter"),
     "连接正常、时钟偏差；Enter 到注册码，Enter 注册 · link and clock offset shown; Enter to the code, Enter enrols"),
    ("向导 4 打印机 · 4 Printer", (PRINTER, "Enter"),
     "输入替换预选的地址，测试票打出 · typing replaces the preselected address; the test ticket prints"),
    ("向导 5 身份证读卡器 · 5 ID card reader", ("Alt+S",), "跳过 · skipped"),
    ("向导 6 扫码枪 · 6 Scanner", ("Alt+S",), "跳过 · skipped"),
    ("向导 7 技术员密码 · 7 Technician password", (TECH_PASSWORD, "Enter", TECH_PASSWORD, "Enter"),
     "账号 9901 · account 9901"),
    ("向导 8 检查清单 · 8 Checklist", ("Enter",), "完成，打开售票窗口 · finish: the counter window opens"),
    ("登录 · Sign-in", ("9901", "Enter", TECH_PASSWORD, "Enter"), "技术员菜单 · the technician menu"),
    ("技术员菜单 · Technician menu", ("2", CLERK, "Enter", CLERK_NAME, "Enter", "Enter", CLERK_PASSWORD, "Enter",
                                   "Ctrl+Q"),
     "添加售票员（角色默认售票员），退出登录 · adds clerk 1001 (the role defaults to clerk), signs out"),
    ("登录 · Sign-in", (CLERK, "Enter", CLERK_PASSWORD, "Enter"), "售票员 · the clerk"),
    ("开班 · Shift", (STOCK, "Enter"), "票卷第一张票号 · the roll's first stock number"),
    ("售票 · Sale", ("sx", "Enter", "PageDown", "Enter", PASSENGER_ID, "Enter", PASSENGER, "Enter", "Enter",
                    "Enter"),
     "绍兴，明天，第一班；证件号、姓名；现金正好；确认，车票打出 · Shaoxing, tomorrow, first bus; ID, name; "
     "exact cash; confirm: the ticket prints"),
)
SHELL = (
    "sudo apt install ./kezhan_0.1.0_amd64.deb ./kezhan-demo-server_0.1.0_all.deb",
    "kezhan server",
    "kezhan server issue-code",
    "kezhan sim printer --out tickets",
    "kezhan gui",
)
WIZARD_SCREENS = 8


def counts() -> dict[str, int]:
    keys = sum(1 for _w, entries, _s in WALK for e in entries if e in KEYS)
    typed = sum(len(e) for _w, entries, _s in WALK for e in entries if e not in KEYS)
    wizard = WALK[:WIZARD_SCREENS]
    return {
        "wizard_steps": WIZARD_SCREENS,
        "keys": keys,
        "typed": typed,
        "total": keys + typed,
        "wizard_keys": sum(1 for _w, entries, _s in wizard for e in entries if e in KEYS),
        "wizard_typed": sum(len(e) for _w, entries, _s in wizard for e in entries if e not in KEYS),
        "commands": len(SHELL),
    }


def markdown() -> str:
    """WALK as the table docs/setup.md carries."""
    def cell(entry: str) -> str:
        return f"**{entry}**" if entry in KEYS else f"`{entry}`"

    rows = ["| # | 界面 Screen | 按键与输入 Keys and typing | 按键 keys | 字符 typed | 结果 What happens |",
            "|---|---|---|---|---|---|"]
    for i, (where, entries, seen) in enumerate(WALK, 1):
        keys = sum(1 for e in entries if e in KEYS)
        typed = sum(len(e) for e in entries if e not in KEYS)
        rows.append(f"| {i} | {where} | {' '.join(cell(e) for e in entries)} | {keys} | {typed} | {seen} |")
    c = counts()
    rows.append(f"| | 合计 Total | | {c['keys']} | {c['typed']} | {c['total']} 次按键 key presses |")
    return "\n".join(rows) + "\n"


def summary() -> str:
    c = counts()
    return (f"{c['commands']} shell commands, {c['wizard_steps']} wizard steps, {c['total']} key presses "
            f"including typed text ({c['keys']} keys and chords besides {c['typed']} typed characters); "
            f"the wizard alone: {c['wizard_keys']} keys besides {c['wizard_typed']} typed characters")


def test_the_docs_carry_the_walk_that_is_replayed():
    setup = (ROOT / "docs" / "setup.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- first-sale-walk:start -->\n(.*?)<!-- first-sale-walk:end -->", setup, re.S)
    assert table is not None, "docs/setup.md has lost its first-sale walk table"
    assert table.group(1) == markdown(), "regenerate: python -m tests.gui.test_gui_first_sale_walk"
    for doc in ("setup.md", "install.md"):
        text = " ".join((ROOT / "docs" / doc).read_text(encoding="utf-8").split())
        assert summary() in text, f"docs/{doc} does not say: {summary()}"
    for command in SHELL:  # the lines of the guide's shell block
        assert re.search(rf"^{re.escape(command)}(\s|$)", setup, re.M), command


@pytest.fixture
def demo_server(tmp_path):
    """`kezhan server` as the technician starts it: the reference server on loopback with the demo
    province from today (what it loads when given none)."""
    from app.demodata import demo_province_from_today
    from sync.server import ServerThread

    srv = ServerThread(str(tmp_path / "province-server.sqlite3"), admin_token="walk-admin-token",
                       fallback_province=demo_province_from_today, sweep_interval=None).start()
    yield srv
    srv.stop()


def issue_code(srv, capsys) -> str:
    """`kezhan server issue-code`, with no station: the demo province's home station."""
    from app.cli import main

    capsys.readouterr()
    assert main(["server", "issue-code", "--db", srv.db_url, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["code"]


def open_counter(qtbot, config):
    """The counter window as `kezhan gui` opens it once the wizard is done (app.ui.app.run_gui):
    the sign-in screen first, then the services loaded and attached."""
    from app.ui.app import DemoDevices, StartingBackend, _load_services, build_window

    role = config.terminal.role if config.terminal.role in ("gate", "both") else "window"
    window = build_window(StartingBackend(), width=1366, printer_target=config.printer.target or None,
                          reader_port=config.reader.port or None, reader_baud=config.reader.baud,
                          scanner_port=config.scanner.port or None, role=role, ask_printer=False)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    db, backend, sync, gate = _load_services(config, DemoDevices(), Path(config.db_path))
    window.attach(backend, sync, gate)
    window.printer.refresh()
    return window, db, backend


def test_from_the_installed_package_to_the_first_sale_by_keyboard(qtbot, kezhan_home, demo_server, printer_sim,
                                                                  capsys, monkeypatch, tmp_path):
    from app import config as config_mod
    from app import setup as steps
    from app.services import auth, sales
    from app.ui import theme
    from tests.gui.test_gui_setup_wizard import open_wizard

    # A PC without a serial port: the wizard lists no printer (the typed address replaces the one it
    # would preselect, so the keys are the same either way).
    monkeypatch.setattr(steps.SetupSession, "printers", staticmethod(lambda: []))
    code = issue_code(demo_server, capsys)
    machine = {SERVER_URL: demo_server.url, CODE: code, PRINTER: printer_sim.target}
    assert len(code) == len(CODE)

    shots = Path(os.environ.get("KEZHAN_TEST_SCREENS") or tmp_path / "screens")
    shots.mkdir(parents=True, exist_ok=True)
    wizard = open_wizard(qtbot, kezhan_home)
    state = {"top": wizard, "window": None}
    pressed = {"keys": 0, "typed": 0}

    def target():
        top = state["top"]
        widget = (top.dialog or top).focusWidget() if top is state["window"] else top.focusWidget()
        assert widget is not None, "nothing has the keyboard focus"
        return widget

    def settle() -> None:
        if state["window"] is None:
            qtbot.waitUntil(lambda: not wizard.busy, timeout=30000)
        qtbot.wait(1)

    checks = {
        3: lambda: wizard.state["server"] is True and len(demo_server.server.list_terminals()) == 1,
        4: lambda: wizard.state["printer"] is True and len(printer_sim.wait_for_jobs(1)) == 1,
        5: lambda: wizard.state["reader"] == "skipped",
        6: lambda: wizard.state["scanner"] == "skipped",
        7: lambda: wizard.state["password"] is True and wizard.current().step == "checklist",
    }
    for number, (where, entries, _seen) in enumerate(WALK, 1):
        if number == WIZARD_SCREENS:
            qtbot.waitUntil(lambda: not wizard.busy and wizard.current().checkList.count() > 0, timeout=30000)
            assert "按 2 添加" in wizard.current().resultLabel.text()  # no clerk yet: where they come from
        if where.startswith("售票"):
            # The window's first sync brings the demo province; the destination is typed after it.
            qtbot.waitUntil(lambda: bool(state["window"].backend.suggest("sx")), timeout=30000)
        for entry in entries:
            if entry in KEYS:
                key, modifier = KEYS[entry]
                pressed["keys"] += 1
                qtbot.keyClick(target(), key, modifier)
            else:
                text = machine.get(entry, entry)
                pressed["typed"] += len(entry)
                qtbot.keyClicks(target(), text)
            settle()
        if number in checks:
            qtbot.waitUntil(checks[number], timeout=30000)
        if number == WIZARD_SCREENS:
            assert wizard.result() == wizard.DialogCode.Accepted, where
            config = config_mod.load(kezhan_home / "kezhan.toml")
            window, db, backend = open_counter(qtbot, config)
            state.update(top=window, window=window)
        assert state["top"].grab().save(str(shots / f"walk-{number:02d}.png"))  # after the screen's keys
        if number == WIZARD_SCREENS + 1:
            assert window.technicianView is not None and window.stack.currentWidget() is window.technicianView
        if number == WIZARD_SCREENS + 2:
            assert window.stack.currentWidget() is window.loginView
            assert {u.code: u.role for u in auth.users(db)}[CLERK] == "clerk"
    try:
        view = window.saleView
        qtbot.waitUntil(lambda: "已售 1 张" in view.lastSaleLabel.text(), timeout=10000)
        [ticket] = sales.find_tickets(db, backend.terminal, doc_type="resident_id", doc_number=PASSENGER_ID)
        assert ticket.stock_no == STOCK and ticket.status == "active"
        # The test ticket, then the sale's, which carries its stock number and the passenger.
        jobs = printer_sim.wait_for_jobs(2)
        assert jobs[1].printed and STOCK.encode() in jobs[1].data and PASSENGER.encode() in jobs[1].data
        assert jobs[1].png_path is not None and jobs[1].png_path.stat().st_size > 1000
        # The window's sync client uploads the sale to the demo server.
        qtbot.waitUntil(lambda: window.pendingLabel.text() == "待上传：0", timeout=60000)
        assert window.linkLabel.text() == "链路：在线"
    finally:
        window.close()
        theme.set_language("zh_CN")

    assert pressed == {"keys": counts()["keys"], "typed": counts()["typed"]}
    assert counts() == {"wizard_steps": 8, "keys": 29, "typed": 141, "total": 170, "wizard_keys": 11,
                        "wizard_typed": 75, "commands": 5}


if __name__ == "__main__":
    print(markdown())
    print(summary())
