"""`kezhan gui` where Qt cannot open the display: Qt would abort the process; we say why instead."""

import subprocess
import sys


def test_a_display_qt_cannot_open_is_one_line_not_a_core_dump(kezhan_home):
    import os

    from app.store.engine import migrate

    migrate(kezhan_home / "kezhan.sqlite3")
    env = dict(os.environ, KEZHAN_HOME=str(kezhan_home), DISPLAY=":97", QT_QPA_PLATFORM="nosuchplatform")
    result = subprocess.run([sys.executable, "-m", "app", "gui"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nosuchplatform" in result.stderr
    assert "Aborted" not in result.stderr and "Traceback" not in result.stderr
