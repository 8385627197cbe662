"""The .deb round trip on this machine: install, run, upgrade in place, remove, purge.

The package is built by build/deb.py — the release one over the PyInstaller bundle, this one over the
sources run by the test's own Python (``--python``), so the check takes seconds, not a PyInstaller
build: it proves the package's layout, its wrapper and machine-wide data folder, and its maintainer
scripts (the upgrade's migration with its backup, remove keeping the data, purge deleting it); the
frozen executables are checked by `bash build/build.sh`, not here.

Runs only where it can install a package for real (dpkg, as root: CI on Debian) and where no Kezhan
is installed already; the teardown purges what it installed.
"""

from __future__ import annotations

import grp
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path("/var/lib/kezhan")


def _installed(package: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return done.returncode == 0 and "installed" in done.stdout and "not-installed" not in done.stdout


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("dpkg") and shutil.which("dpkg-deb")), reason="needs dpkg"),
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="installs a package: root only"),
]


@pytest.fixture
def machine():
    if _installed("kezhan") or DATA.exists() or Path("/opt/kezhan").exists():
        pytest.skip("Kezhan is installed on this machine: the round trip would touch a real station")
    yield
    subprocess.run(["dpkg", "--purge", "kezhan"], capture_output=True)
    shutil.rmtree(DATA, ignore_errors=True)


def _dpkg(*args: str) -> str:
    done = subprocess.run(["dpkg", *args], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _kezhan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEZHAN_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run(["/usr/bin/kezhan", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=180)


def _station_at(revision: str, path: Path) -> None:
    """A station database left by an older release: schema ``revision``, with one setting of its own."""
    from alembic import command

    from app.store.engine import _alembic_config, make_engine

    engine = make_engine(path)
    with engine.connect() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.exec_driver_sql("INSERT INTO settings (key, value) VALUES ('station_note', '\"kept\"')")
        connection.commit()
    engine.dispose()


def _revision_and_note(path: Path) -> tuple[str, str | None]:
    con = sqlite3.connect(path)
    try:
        revision = con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        row = con.execute("SELECT value FROM settings WHERE key = 'station_note'").fetchone()
    finally:
        con.close()
    return revision, row[0] if row else None


def test_install_run_upgrade_remove_purge(machine, tmp_path):
    """Install, run the demo, upgrade in place (over a running window, then closed), remove, purge."""
    from app import __version__
    from app.store.engine import known_revisions

    build = [sys.executable, str(ROOT / "build" / "deb.py"), "--python", sys.executable, "--out", str(tmp_path)]
    first = subprocess.run([*build, "--version", f"{__version__}~check1"], capture_output=True, text=True, check=True)
    second = subprocess.run([*build, "--version", f"{__version__}~check2"], capture_output=True, text=True, check=True)
    deb1 = Path(first.stdout.split()[1])
    deb2 = Path(second.stdout.split()[1])

    # Install: the command, the desktop entry and its icon, the machine-wide data folder.
    _dpkg("-i", str(deb1))
    assert _kezhan("--version").stdout.strip() == f"kezhan {__version__}"
    assert Path("/usr/share/applications/kezhan.desktop").read_text().count("Exec=/usr/bin/kezhan gui") == 1
    assert Path("/usr/share/icons/hicolor/256x256/apps/kezhan.png").is_file()
    assert DATA.is_dir() and grp.getgrgid(DATA.stat().st_gid).gr_name == "kezhan"
    assert DATA.stat().st_mode & 0o2775 == 0o2775

    # The headless demo runs from the installed package.
    demo = _kezhan("demo", "--headless", "--no-screens", "--out", str(tmp_path / "demo"), cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "demo" / "summary.json").is_file()
    assert "pending events: 0" in demo.stdout

    # A station left at an older schema; the upgrade migrates it in place, after a backup.
    _known, head = known_revisions()
    older = f"{int(head) - 1:04d}"
    db = DATA / "kezhan.sqlite3"
    _station_at(older, db)
    # An upgrade over a running window leaves its database alone (the window holds its lock)...
    from app.store.instance import hold

    window = hold(db, "kezhan gui")
    try:
        out = _dpkg("-i", str(deb2))
    finally:
        window.release()
    assert "the counter window is open" in out
    assert _revision_and_note(db) == (older, '"kept"')
    # ...and once it is closed, the package's configuration migrates it in place, after a backup.
    out = _dpkg("-i", str(deb2))
    assert f"migrated {older} -> {head}" in out
    assert _revision_and_note(db) == (head, '"kept"')
    backups = list((DATA / "backups").glob(f"kezhan-before-{head}-*.sqlite3"))
    assert len(backups) == 1 and _revision_and_note(backups[0]) == (older, '"kept"')
    assert "~check2" in _dpkg("-s", "kezhan")

    # Remove keeps the station's data; purge deletes it.
    _dpkg("-r", "kezhan")
    assert not Path("/usr/bin/kezhan").exists() and not Path("/opt/kezhan/kezhan").exists()
    assert _revision_and_note(db) == (head, '"kept"')
    _dpkg("--purge", "kezhan")
    assert not DATA.exists()
    assert not _installed("kezhan")
