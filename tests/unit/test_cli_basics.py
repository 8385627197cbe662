import subprocess
import sys

from app import __version__
from app.cli import main


def test_version_is_printed(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"kezhan {__version__}"


def test_python_dash_m_app_is_the_same_command():
    out = subprocess.run([sys.executable, "-m", "app", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"kezhan {__version__}"
