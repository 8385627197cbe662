"""The technician's menu: what account 9901 gets at the window instead of the sale view.

A numbered list on the left (1..7 or ↑↓ and Enter), the chosen task's form on the right; Enter
does it, Esc goes back to the list, F12 switches the language, Ctrl+Q signs out. The accounts are
changed through the counter's services (each change audited under the technician's code); the
checklist, the log folder, the support bundle and the wizard are the same as on the command line.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import KezhanError
from app.ui import actions, theme
from app.ui.widgets import focus, label, line_edit

log = logging.getLogger("kezhan.ui.technician")

TASKS = (
    ("unlock", "解锁账号", "Unlock an account"),
    ("add_user", "添加售票员或检票员", "Add a clerk or gate checker"),
    ("reset_password", "重置密码", "Reset a password"),
    ("wizard", "重新设置某一步（向导）", "Re-run a set-up step (wizard)"),
    ("doctor", "检查清单（kezhan doctor）", "Checklist (kezhan doctor)"),
    ("logs", "打开日志文件夹", "Open the log folder"),
    ("bundle", "导出诊断包（已去除证件号和姓名）", "Export a diagnostic bundle (IDs and names removed)"),
)


def zh_en(zh: str, en: str) -> str:
    """The technician's screens keep each text's two languages side by side here rather than in the
    Linguist file the clerk's screens use: most carry values (paths, codes, offsets) formatted in
    Python, and a technician-only screen gains nothing from a translator's round trip."""
    return en if theme.language().startswith("en") else zh


class TechnicianView(QWidget):
    signed_out = Signal()
    # Tests and the wizard step replace these; the defaults reach the real desktop and data folder.
    open_folder = staticmethod(lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))

    def __init__(self, backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("technicianView")
        self.backend = backend
        self.worker = None
        self.last_bundle = None
        root = QVBoxLayout(self)
        self.titleLabel = label(role="title", name="technicianTitle")
        self.hintLabel = label(role="hint", name="technicianHint")
        root.addWidget(self.titleLabel)
        root.addWidget(self.hintLabel)
        body = QHBoxLayout()
        root.addLayout(body, 1)
        self.taskList = QListWidget()
        self.taskList.setObjectName("technicianTasks")
        self.taskList.setFixedWidth(420)
        for _ in TASKS:
            self.taskList.addItem(QListWidgetItem())
        body.addWidget(self.taskList)
        self.forms = QStackedWidget()
        self.forms.setObjectName("technicianForms")
        body.addWidget(self.forms, 1)
        self.messageLabel = label(role="hint", name="technicianMessage")
        self.messageLabel.setWordWrap(True)
        self.messageLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.messageLabel)

        self.unlockCode = line_edit("unlockCodeEdit")
        self.addCode, self.addName = line_edit("addUserCodeEdit"), line_edit("addUserNameEdit")
        self.addRole = QComboBox()
        self.addRole.setObjectName("addUserRoleBox")
        self.addRole.addItem("", "clerk")
        self.addRole.addItem("", "gate")
        self.addPassword = line_edit("addUserPasswordEdit")
        self.resetCode, self.resetPassword = line_edit("resetCodeEdit"), line_edit("resetPasswordEdit")
        for edit in (self.addPassword, self.resetPassword):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.wizardStep = QComboBox()
        self.wizardStep.setObjectName("wizardStepBox")
        self.doctorList = QListWidget()
        self.doctorList.setObjectName("doctorList")
        self.doctorList.setWordWrap(True)
        self.doctorList.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.captions: dict[str, QWidget] = {}
        self.firsts: dict[str, QWidget] = {}
        self._form("unlock", [("code", self.unlockCode)])
        self._form("add_user", [("code", self.addCode), ("name", self.addName), ("role", self.addRole),
                                ("password", self.addPassword)])
        self._form("reset_password", [("code", self.resetCode), ("password", self.resetPassword)])
        self._form("wizard", [("step", self.wizardStep)])
        self._form("doctor", [("checks", self.doctorList)])
        self._form("logs", [])
        self._form("bundle", [])
        self.taskList.currentRowChanged.connect(self.forms.setCurrentIndex)
        self.task_keys = actions.key_combinations("tech_task")
        self.logout_keys = actions.key_combinations("tech_logout")
        self.installEventFilter(self)
        for w in self.findChildren(QWidget):
            w.installEventFilter(self)
        self.retranslate()

    def _form(self, task: str, rows: list[tuple[str, QWidget]]) -> None:
        page = QWidget()
        page.setObjectName(f"technician_{task}")
        form = QFormLayout(page)
        for key, widget in rows:
            caption = label()
            self.captions[f"{task}.{key}"] = caption
            form.addRow(caption, widget)
        self.firsts[task] = rows[0][1] if rows else self.taskList
        self.forms.addWidget(page)

    def retranslate(self) -> None:
        self.titleLabel.setText(zh_en("技术员菜单", "Technician menu") + f" — {self.backend.station_title()}")
        self.hintLabel.setText(zh_en("数字键 1-7 或 ↑↓ 选择，Enter 执行，Esc 回到列表，Ctrl+Q 退出登录，F12 切换语言。",
                                  "Keys 1-7 or ↑↓ to choose, Enter to do it, Esc back to the list, Ctrl+Q signs out, "
                                  "F12 switches the language."))
        for i, (_task, zh, en) in enumerate(TASKS):
            self.taskList.item(i).setText(f"{i + 1}  {zh_en(zh, en)}")
        words = {"code": ("工号", "User code"), "name": ("姓名", "Name"), "role": ("角色", "Role"),
                 "password": ("新密码", "New password"), "step": ("步骤", "Step"), "checks": ("检查", "Checks")}
        for key, caption in self.captions.items():
            caption.setText(zh_en(*words[key.split(".")[1]]))
        self.addRole.setItemText(0, zh_en("售票员", "Clerk"))
        self.addRole.setItemText(1, zh_en("检票员", "Gate checker"))
        from app import setup as steps

        current = self.wizardStep.currentIndex()
        self.wizardStep.clear()
        for step in steps.STEPS:
            self.wizardStep.addItem(zh_en(*steps.TITLES[step]), step)
        self.wizardStep.setCurrentIndex(max(current, 0))

    def changeEvent(self, event):  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def start(self) -> None:
        self.messageLabel.setText("")
        self.taskList.setCurrentRow(0)
        focus(self.taskList)

    # -- keys ----------------------------------------------------------------------------------

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() != QEvent.Type.KeyPress:
            return False
        key = event.key()
        combo = (event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier),
                 Qt.Key(key))
        if combo in self.logout_keys:
            self.signed_out.emit()
            return True
        if obj is self.taskList:
            if combo in self.task_keys:
                self.choose(TASKS[self.task_keys.index(combo)][0])
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose(TASKS[self.taskList.currentRow()][0])
                return True
            return False
        if key == Qt.Key.Key_Escape:
            focus(self.taskList)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and isinstance(obj, QLineEdit | QComboBox | QListWidget):
            self._next_or_do(obj)
            return True
        return False

    def choose(self, task: str) -> None:
        index = [t[0] for t in TASKS].index(task)
        self.taskList.setCurrentRow(index)
        self.messageLabel.setText("")
        if task in ("doctor", "logs", "bundle"):
            self.do(task)
            return
        focus(self.firsts[task])

    def _next_or_do(self, widget: QWidget) -> None:
        task = TASKS[self.forms.currentIndex()][0]
        order = {"add_user": [self.addCode, self.addName, self.addRole, self.addPassword],
                 "reset_password": [self.resetCode, self.resetPassword]}.get(task, [])
        if widget in order and order.index(widget) < len(order) - 1:
            nxt = order[order.index(widget) + 1]
            if not (isinstance(widget, QLineEdit) and not widget.text().strip()):
                focus(nxt)
            return
        self.do(task)

    # -- the tasks -----------------------------------------------------------------------------

    def say(self, text: str, ok: bool = True) -> None:
        self.messageLabel.setProperty("role", "ok" if ok else "error")
        self.messageLabel.setText(text)
        theme.repolish(self.messageLabel)

    def do(self, task: str) -> None:
        try:
            getattr(self, f"_do_{task}")()
        except KezhanError as exc:
            self.say(exc.text(theme.language()), ok=False)

    def _do_unlock(self) -> None:
        code = self.unlockCode.text().strip()
        was_locked = self.backend.unlock_user(code)
        self.say(zh_en(f"账号 {code} 已解锁", f"account {code} unlocked") if was_locked
                 else zh_en(f"账号 {code} 未被锁定（错误次数已清零）", f"account {code} was not locked (failed tries reset)"))
        self.unlockCode.clear()

    def _do_add_user(self) -> None:
        code = self.addCode.text().strip()
        self.backend.add_user(code, self.addName.text(), self.addRole.currentData(), self.addPassword.text())
        self.say(zh_en(f"已添加 {self.addRole.currentText()} {code} {self.addName.text().strip()}",
                    f"added {self.addRole.currentText().lower()} {code} {self.addName.text().strip()}"))
        for edit in (self.addCode, self.addName, self.addPassword):
            edit.clear()
        focus(self.addCode)

    def _do_reset_password(self) -> None:
        code = self.resetCode.text().strip()
        self.backend.reset_password(code, self.resetPassword.text())
        self.resetPassword.clear()
        self.say(zh_en(f"账号 {code} 的密码已重置并解锁", f"the password of {code} was reset and the account unlocked"))

    def _do_wizard(self) -> None:
        from app.setup import SetupSession
        from app.ui.setup_wizard import SetupWizard

        step = self.wizardStep.currentData()
        self.wizard = SetupWizard(SetupSession(), [step], parent=self)
        self.wizard.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.wizard.resize(1100, 720)
        self.wizard.finished.connect(lambda _r: self.say(zh_en(
            "设置已保存；打印机、读卡器和服务器的更改在重新启动 kezhan gui 后生效",
            "settings saved; printer, reader and server changes apply when kezhan gui starts again")))
        self.wizard.show()

    def _background(self, fn, on_done, waiting: str) -> None:
        """Doctor asks the server and the devices (seconds each when they are down): off the GUI thread."""
        from app.ui.workers import WorkerThread

        if self.worker is None:
            self.worker = WorkerThread("technician", self)
        self.say(waiting)
        self.worker.submit(fn, on_done=on_done,
                           on_error=lambda exc: self.say(exc.text(theme.language()) if isinstance(exc, KezhanError)
                                                         else f"{type(exc).__name__}: {exc}", ok=False))

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def _do_doctor(self) -> None:
        from app.doctor import run_checks

        self.doctorList.clear()
        self._background(run_checks, self._show_checks, zh_en("正在检查……", "Checking…"))

    def _show_checks(self, results) -> None:
        mark = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "–"}
        self.doctorList.clear()
        for r in results:
            self.doctorList.addItem(f"{mark[r.status]} {r.name:<10} {r.detail}")
        failed = [r.name for r in results if r.status == "fail"]
        self.say(zh_en("全部通过", "all checks passed") if not failed
                 else zh_en(f"未通过：{', '.join(failed)}", f"failed: {', '.join(failed)}"), ok=not failed)
        focus(self.doctorList)

    def _do_logs(self) -> None:
        from app import paths

        folder = paths.log_dir()
        self.open_folder(folder)
        self.say(zh_en(f"日志文件夹：{folder}", f"log folder: {folder}"))

    def _do_bundle(self) -> None:
        from app.support import export_bundle

        def written(path) -> None:
            self.last_bundle = path
            self.say(zh_en(f"诊断包已导出：{path}", f"diagnostic bundle written: {path}"))
            self.open_folder(path.parent)

        self._background(export_bundle, written, zh_en("正在导出诊断包……", "Writing the bundle…"))
