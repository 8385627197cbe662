"""The one registry of keyboard actions.

Every shortcut the counter window answers to is declared here, once. The main window binds them
(:func:`bind`), the help overlay (F1) lists them, and ``python -m app.ui.actions --markdown``
prints the table the README and docs/ui.md include — so the keys a clerk is told about are the
keys that work.

Labels are the Chinese source strings of the ``actions`` translation context; the English column
of the Markdown table is read from ``resources/i18n/kezhan_en.ts`` so there is one translation,
not two. This module imports Qt only inside :func:`bind`, so the table prints without a display.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

CONTEXT = "actions"


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - the name lupdate looks for
    return text


@dataclass(frozen=True)
class Action:
    id: str
    keys: tuple[str, ...]  # QKeySequence portable text, first is the one shown first
    label: str  # Chinese source string, context "actions"
    where: str  # "window": anywhere in the counter window; "sale": the sale view; "dialog": any dialog;
    # "gate": the gate view (a gate checker signed in); "supervisor": the supervisor's day view;
    # "demo": the window of `kezhan demo` only; "setup": the set-up wizard; "technician": its menu
    operation: bool = False  # a counter operation (shown in the operations bar)


ACTIONS: tuple[Action, ...] = (
    Action("help", ("F1",), QT_TRANSLATE_NOOP("actions", "帮助：快捷键一览"), "window"),
    Action("sale", ("F2",), QT_TRANSLATE_NOOP("actions", "售票（回到售票界面）"), "window", True),
    Action("refund", ("F3",), QT_TRANSLATE_NOOP("actions", "退票"), "window", True),
    Action("change", ("F4",), QT_TRANSLATE_NOOP("actions", "改签"), "window", True),
    Action("void", ("F5",), QT_TRANSLATE_NOOP("actions", "废票"), "window", True),
    Action("reprint", ("F6",), QT_TRANSLATE_NOOP("actions", "重打"), "window", True),
    Action("pickup", ("F7",), QT_TRANSLATE_NOOP("actions", "取票"), "window", True),
    Action("shift_close", ("F8",), QT_TRANSLATE_NOOP("actions", "交班结算"), "window", True),
    Action("seat_map", ("F9",), QT_TRANSLATE_NOOP("actions", "座位图（选座）"), "sale", True),
    Action("preview", ("F10",), QT_TRANSLATE_NOOP("actions", "打印预览（上一张票）"), "window"),
    Action("tasks", ("F11",), QT_TRANSLATE_NOOP("actions", "待处理冲突（换座 / 全额退票）"), "window", True),
    Action("language", ("F12",), QT_TRANSLATE_NOOP("actions", "切换语言（中文 / English）"), "window"),
    Action("date_prev", ("PgUp", "Ctrl+Left"), QT_TRANSLATE_NOOP("actions", "前一天"), "sale"),
    Action("date_next", ("PgDown", "Ctrl+Right"), QT_TRANSLATE_NOOP("actions", "后一天"), "sale"),
    Action("date_today", ("Ctrl+Home",), QT_TRANSLATE_NOOP("actions", "回到今天"), "sale"),
    Action("destination", ("Ctrl+D",), QT_TRANSLATE_NOOP("actions", "光标到目的地"), "sale"),
    Action("departures", ("Ctrl+B",), QT_TRANSLATE_NOOP("actions", "光标到班次列表"), "sale"),
    Action("counts", ("Ctrl+T",), QT_TRANSLATE_NOOP("actions", "光标到票种人数（Tab 依次移动）"), "sale"),
    Action("passengers", ("Ctrl+P",), QT_TRANSLATE_NOOP("actions", "光标到乘客证件"), "sale"),
    Action("payment", ("Ctrl+M",), QT_TRANSLATE_NOOP("actions", "光标到收款"), "sale"),
    Action("epay", ("Ctrl+E",), QT_TRANSLATE_NOOP("actions", "收款方式：现金 / 电子支付"), "sale"),
    Action("clear", ("Ctrl+R",), QT_TRANSLATE_NOOP("actions", "清空本单，重新开始"), "sale"),
    Action("forward", ("Return",), QT_TRANSLATE_NOOP("actions", "确认 / 下一步"), "dialog"),
    Action("back", ("Esc",), QT_TRANSLATE_NOOP("actions", "返回 / 取消"), "dialog"),
    Action("next_field", ("Tab",), QT_TRANSLATE_NOOP("actions", "下一个输入项"), "dialog"),
    Action("logout", ("Ctrl+Shift+L",), QT_TRANSLATE_NOOP("actions", "锁屏 / 注销"), "window"),
    Action("unprinted", ("Ctrl+Shift+P",), QT_TRANSLATE_NOOP("actions", "未出票的车票（按原票号打印）"), "window"),
    # The gate view's keys. The counter's F-keys are switched off while a gate checker is signed in,
    # so the same keys serve the gate's own operations (bound apart: GATE_WHERE).
    Action("gate_open", ("F2",), QT_TRANSLATE_NOOP("actions", "开检（录入车牌、驾驶员）"), "gate", True),
    Action("gate_stop", ("F3",), QT_TRANSLATE_NOOP("actions", "停检：生成并打印路单"), "gate", True),
    Action("gate_late", ("F4",), QT_TRANSLATE_NOOP("actions", "补检（值班站长批准）"), "gate", True),
    Action("gate_undo", ("F5",), QT_TRANSLATE_NOOP("actions", "注销检票（值班站长批准）"), "gate", True),
    Action("gate_ride_change", ("F6",), QT_TRANSLATE_NOOP("actions", "改乘其他班次（值班站长批准）"), "gate", True),
    Action("gate_merge", ("F7",), QT_TRANSLATE_NOOP("actions", "并班到其他班次（值班站长批准）"), "gate", True),
    Action("gate_reprint_bill", ("F8",), QT_TRANSLATE_NOOP("actions", "补打路单"), "gate", True),
    Action("gate_void_bill", ("F9",), QT_TRANSLATE_NOOP("actions", "作废路单（值班站长批准）"), "gate", True),
    Action("gate_bill_preview", ("F10",), QT_TRANSLATE_NOOP("actions", "路单预览"), "gate"),
    Action("gate_entry", ("Ctrl+N",), QT_TRANSLATE_NOOP("actions", "光标到扫码 / 票号输入"), "gate"),
    Action("gate_board", ("Ctrl+B",), QT_TRANSLATE_NOOP("actions", "光标到检票班次列表"), "gate"),
    # The supervisor's day view (值班站长). As at the gate, the counter's F-keys are switched off while a
    # supervisor is signed in, and these are bound apart (SUPERVISOR_WHERE).
    Action("sup_refresh", ("F2",), QT_TRANSLATE_NOOP("actions", "刷新当日数据（省平台 / 本机）"), "supervisor", True),
    Action("sup_cancel", ("F3",), QT_TRANSLATE_NOOP("actions", "停班：本班次停售，车票转为免费退票任务"), "supervisor",
           True),
    Action("sup_delay", ("F4",), QT_TRANSLATE_NOOP("actions", "晚点：改为新的发车时间"), "supervisor", True),
    Action("sup_extra", ("F5",), QT_TRANSLATE_NOOP("actions", "加班：按所选班次加开一班"), "supervisor", True),
    Action("sup_export", ("F6",), QT_TRANSLATE_NOOP("actions", "导出当日报表（CSV）"), "supervisor", True),
    Action("sup_day_prev", ("PgUp",), QT_TRANSLATE_NOOP("actions", "值班站长：前一天"), "supervisor"),
    Action("sup_day_next", ("PgDown",), QT_TRANSLATE_NOOP("actions", "值班站长：后一天"), "supervisor"),
    # Bound by `kezhan demo` only: stops or restarts the embedded provincial server.
    Action("demo_link", ("Ctrl+Shift+F12",), QT_TRANSLATE_NOOP("actions", "演示：断开 / 恢复省平台"), "demo"),
    # Bound by `kezhan demo` only: the next demo passenger taps an ID card on the simulated reader.
    Action("demo_card", ("Ctrl+Shift+F11",), QT_TRANSLATE_NOOP("actions", "演示：下一位乘客刷身份证"), "demo"),
    # Bound by `kezhan demo` only, at the gate: the next passenger's ticket code arrives as a scan.
    Action("demo_scan", ("Ctrl+Shift+F10",), QT_TRANSLATE_NOOP("actions", "演示：扫下一位乘客的车票"), "demo"),
)

# The set-up wizard (app/ui/setup_wizard.py) and the technician menu (app/ui/technician_menu.py):
# screens of their own, not the counter's, so these are not in the F1 list nor bound on the
# counter window; each screen takes its keys from here in its own key filter. Their table is in
# docs/setup.md (``python -m app.ui.actions --markdown --setup``).
SETUP_ACTIONS: tuple[Action, ...] = (
    Action("setup_primary", ("Return",),
           QT_TRANSLATE_NOOP("actions", "设置向导：本步的主要操作（确认、注册、打印测试票、探测）"), "setup"),
    Action("setup_step", ("Alt+1", "Alt+2", "Alt+3", "Alt+4", "Alt+5", "Alt+6", "Alt+7", "Alt+8"),
           QT_TRANSLATE_NOOP("actions", "设置向导：打开第 1–8 步"), "setup"),
    Action("setup_next", ("Ctrl+PgDown",),
           QT_TRANSLATE_NOOP("actions", "设置向导：下一步"), "setup"),
    Action("setup_prev", ("Ctrl+PgUp",),
           QT_TRANSLATE_NOOP("actions", "设置向导：上一步"), "setup"),
    Action("setup_link", ("Ctrl+T",),
           QT_TRANSLATE_NOOP("actions", "设置向导：测试省平台连接"), "setup"),
    Action("setup_calibrate", ("Ctrl+K",),
           QT_TRANSLATE_NOOP("actions", "设置向导：打印套打校准页"), "setup"),
    Action("setup_keep_silent", ("Ctrl+Return",),
           QT_TRANSLATE_NOOP("actions", "设置向导：保留无状态应答的打印机（测试票已打出）"), "setup"),
    Action("setup_card", ("Ctrl+R",),
           QT_TRANSLATE_NOOP("actions", "设置向导：读测试身份证"), "setup"),
    Action("setup_scanner", ("Ctrl+L",),
           QT_TRANSLATE_NOOP("actions", "设置向导：监听串口扫码枪"), "setup"),
    Action("setup_skip", ("Alt+S",),
           QT_TRANSLATE_NOOP("actions", "设置向导：跳过读卡器或扫码枪（本机没有时）"), "setup"),
    Action("tech_task", ("1", "2", "3", "4", "5", "6", "7"),
           QT_TRANSLATE_NOOP("actions", "技术员菜单：选择第 1–7 项"), "technician"),
    Action("tech_logout", ("Ctrl+Q",),
           QT_TRANSLATE_NOOP("actions", "技术员菜单：退出登录"), "technician"),
)

BY_ID = {a.id: a for a in ACTIONS + SETUP_ACTIONS}

# Keys handled by the widgets themselves (Enter, Esc, Tab) are listed but not bound as shortcuts:
# binding them window-wide would steal them from line edits and tables.
BOUND_WHERE = ("window", "sale")
# The gate view's keys: bound too, but enabled only while the gate view is shown (and the counter's
# then disabled), so one key never means two things at once.
GATE_WHERE = ("gate",)
# The supervisor's day view's keys, the same way.
SUPERVISOR_WHERE = ("supervisor",)


def key_text(keys: tuple[str, ...], language: str = "zh_CN") -> str:
    shown = {"Return": "Enter", "PgUp": "PageUp", "PgDown": "PageDown"}
    sep = " 或 " if language.startswith("zh") else " or "
    return sep.join(shown.get(k, k).replace("Left", "←").replace("Right", "→") for k in keys)


def english_labels(ts_file: Path | None = None) -> dict[str, str]:
    """The English translations of the ``actions`` context, from the Linguist file."""
    if ts_file is None:
        from app import paths

        ts_file = paths.resources_dir() / "i18n" / "kezhan_en.ts"
    out: dict[str, str] = {}
    if not ts_file.exists():
        return out
    import xml.etree.ElementTree as ET  # noqa: N817 - not loaded on the window's start

    root = ET.parse(ts_file).getroot()
    for context in root.iter("context"):
        if context.findtext("name") != CONTEXT:
            continue
        for message in context.iter("message"):
            source = message.findtext("source") or ""
            translation = message.find("translation")
            if translation is not None and translation.text:
                out[source] = translation.text
    return out


def markdown_table(registry: tuple[Action, ...] = ACTIONS) -> str:
    english = english_labels()
    where_zh = {"window": "任何界面", "sale": "售票界面", "gate": "检票界面", "supervisor": "值班站长界面",
                "dialog": "对话框 / 输入项", "demo": "演示站", "setup": "设置向导", "technician": "技术员菜单"}
    lines = [
        "| 按键 Key | 功能 | Action | 范围 Scope |",
        "|---|---|---|---|",
    ]
    for a in registry:
        keys = " / ".join(f"`{k}`" for k in (key_text((k,), "en") for k in a.keys))
        lines.append(f"| {keys} | {a.label} | {english.get(a.label, '')} | {where_zh[a.where]} ({a.where}) |")
    return "\n".join(lines) + "\n"


def bind(window, handlers: dict, where: tuple[str, ...] = BOUND_WHERE) -> dict:
    """Create a QAction per registry entry with a handler, added to ``window``.

    Returns ``{id: QAction}``. Window-wide shortcuts do not fire while a modal dialog is open,
    which is what a clerk expects: F3 inside the refund dialog must not open another one.
    """
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QAction, QKeySequence

    made = {}
    for a in ACTIONS:
        if a.where not in where or a.id not in handlers:
            continue
        action = QAction(QCoreApplication.translate(CONTEXT, a.label), window)
        action.setObjectName(f"action_{a.id}")
        action.setShortcuts([QKeySequence(k) for k in a.keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(handlers[a.id])
        window.addAction(action)
        made[a.id] = action
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.ui.actions", description="the keyboard map")
    parser.add_argument("--markdown", action="store_true", help="print the keyboard table as Markdown")
    parser.add_argument("--setup", action="store_true", help="the set-up wizard's and technician menu's keys")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown_table(SETUP_ACTIONS if args.setup else ACTIONS))
        return 0
    for a in ACTIONS:
        print(f"{key_text(a.keys, 'en'):24} {a.label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def key_combinations(action_id: str) -> list[tuple]:
    """``(modifiers, key)`` of each key of the action, as a key filter compares them."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    out = []
    for text in BY_ID[action_id].keys:
        combo = QKeySequence(text)[0]
        mods = combo.keyboardModifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        out.append((mods, combo.key()))
    return out
