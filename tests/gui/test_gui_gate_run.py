"""`kezhan gui` on a terminal configured as a gate (terminal.role = "gate", terminal.gates = [1]):
run_gui makes the gate's service and the window signs gate checkers in to the gate view."""

from __future__ import annotations

import pytest

from tests.gui.test_gui_sync import enrolled_station

pytestmark = pytest.mark.gui

_RUN_GUI = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.config import Config
from app.ui.app import application, run_gui
from app.ui.main_window import MainWindow

config = Config()
config.database.path, config.server.url = sys.argv[1], sys.argv[2]
config.terminal.language = "en"
config.terminal.role = "gate"
config.terminal.gates = ["1"]
seen = {}

def look():
    [window] = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    seen["title"] = window.windowTitle()
    seen["login"] = window.loginView.titleLabel.text()
    seen["gates"] = list(window.gate.gates)
    seen["role"] = window.role
    window.close()
    QApplication.instance().quit()

application()
QTimer.singleShot(300, look)
code = run_gui(config)
print(json.dumps({"code": code, **seen}))
"""


def test_run_gui_on_a_gate_terminal(server, tmp_path):
    import json
    import os
    import subprocess
    import sys

    path = tmp_path / "station.sqlite3"
    enrolled_station(server, path).dispose()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KEZHAN_HOME=str(tmp_path / "home"))
    result = subprocess.run([sys.executable, "-c", _RUN_GUI, str(path), server.url], capture_output=True,
                            text=True, env=env, timeout=90, cwd=os.getcwd())
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"code": 0, "title": "Kezhan — gate", "login": "Kezhan gate — sign in", "gates": ["1"],
                    "role": "gate"}
