"""The .deb for UOS / Kylin station PCs (``bash build/build.sh deb``), built with dpkg-deb.

Layout: the program under ``/opt/kezhan`` (the PyInstaller bundle: ``kezhan`` and ``kezhan-gui``),
``/usr/bin/kezhan`` (a wrapper that points the data directory at the machine-wide
``/var/lib/kezhan``: one terminal per PC, whoever signs in to the desktop), a .desktop entry and its
icon. The maintainer scripts: ``postinst`` makes the data folder (group ``kezhan``, group-writable)
and, on an upgrade, migrates the station's database in place — ``kezhan db migrate`` backs the file
up first — unless the counter window has it open (the window migrates it, with the same backup, when
it next starts); ``postrm remove`` keeps the data, ``postrm purge`` deletes it.

``--python PY`` builds the package over a Python environment instead of a frozen bundle: the
sources go to ``/opt/kezhan/lib`` and ``/opt/kezhan/kezhan`` starts them with ``PY``. The build
check (tests/build/test_deb.py) uses it, so CI tests the package and its maintainer scripts in
seconds without a PyInstaller build; the release package carries the bundle.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "kezhan"
DATA_DIR = "/var/lib/kezhan"
# What the bundle loads from the system: Qt's X11 platform, OpenGL/EGL, fonts (a CJK one for tickets).
DEPENDS = ("libc6, libegl1, libgl1, libfontconfig1, libglib2.0-0, libdbus-1-3, libxkbcommon0, "
           "libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, "
           "libxcb-render-util0, libxcb-shape0, libxcb-xinerama0, libxcb-xkb1, "
           "fonts-wqy-microhei | fonts-noto-cjk | fonts-wqy-zenhei")

WRAPPER = f"""#!/bin/sh
# The station's data is machine-wide: one terminal per PC, whoever is signed in to the desktop.
: "${{KEZHAN_HOME:={DATA_DIR}}}"
export KEZHAN_HOME
exec /opt/kezhan/kezhan "$@"
"""

DESKTOP = """[Desktop Entry]
Type=Application
Name=Kezhan
Name[zh_CN]=客站售检票
GenericName=Ticket window and gate terminal
GenericName[zh_CN]=客运站售票检票终端
Comment=Sell and check road passenger tickets
Comment[zh_CN]=公路客运站售票、检票
Exec=/usr/bin/kezhan gui
Icon=kezhan
Terminal=false
Categories=Office;Finance;
StartupNotify=true
"""

POSTINST = f"""#!/bin/sh
set -e
DATA={DATA_DIR}
case "$1" in
configure)
    getent group kezhan >/dev/null 2>&1 || groupadd --system kezhan
    mkdir -p "$DATA"
    chgrp kezhan "$DATA"
    chmod 2775 "$DATA"
    # An upgrade (the old version is $2) migrates the station's database now; `kezhan db migrate`
    # backs it up to $DATA/backups first. Not while the counter window has it open: the window
    # migrates it, with the same backup, when it next starts.
    if [ -n "$2" ] && {{ [ -f "$DATA/kezhan.sqlite3" ] || [ -f "$DATA/kezhan.toml" ]; }}; then
        if [ -f "$DATA/kezhan.sqlite3.lock" ] && command -v flock >/dev/null 2>&1 \\
                && ! flock -n "$DATA/kezhan.sqlite3.lock" true; then
            echo "kezhan: the counter window is open; it migrates the database when it next starts" >&2
        elif ! KEZHAN_HOME="$DATA" /opt/kezhan/kezhan db migrate; then
            echo "kezhan: the database was not migrated now; the window migrates it when it next starts" >&2
        fi
        chgrp -R kezhan "$DATA" || true
        chmod -R g+rwX "$DATA" || true
    fi
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    ;;
esac
exit 0
"""

PRERM = """#!/bin/sh
set -e
# Nothing to stop: the terminal is no service. The data stays (see postrm).
exit 0
"""

POSTRM = f"""#!/bin/sh
set -e
case "$1" in
purge)
    # Purge deletes the station's data: database, backups, archives, logs, configuration.
    rm -rf {DATA_DIR}
    if getent group kezhan >/dev/null 2>&1; then
        groupdel kezhan >/dev/null 2>&1 || true
    fi
    ;;
remove|upgrade|failed-upgrade|abort-install|abort-upgrade|disappear)
    # Remove keeps {DATA_DIR}: a reinstall finds the same terminal, its sales and its enrolment.
    ;;
esac
exit 0
"""


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def _arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def _copy_sources(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("app", "drivers", "sync", "resources"):
        shutil.copytree(ROOT / package, dest / package, ignore=ignore)


def _payload(opt: Path, bundle: Path | None, python: str | None) -> None:
    if bundle is not None:
        shutil.copytree(bundle, opt, symlinks=True)
        return
    _copy_sources(opt / "lib")
    for name, extra in (("kezhan", ""), ("kezhan-gui", " gui")):
        _write(opt / name, f'#!/bin/sh\nPYTHONPATH=/opt/kezhan/lib${{PYTHONPATH:+:$PYTHONPATH}} '
                           f'exec {python} -m app{extra} "$@"\n', 0o755)


def build(out: Path, *, bundle: Path | None = None, python: str | None = None, version: str | None = None,
          demo_server: Path | None = None) -> list[Path]:
    """Build the package(s) into ``out``; returns their paths."""
    if (bundle is None) == (python is None):
        raise ValueError("give the frozen bundle or a Python to run the sources with")
    if version is None:
        sys.path.insert(0, str(ROOT))
        from app import __version__ as version
    arch = _arch()
    out.mkdir(parents=True, exist_ok=True)
    built = []
    with tempfile.TemporaryDirectory(prefix="kezhan-deb-") as work:
        tree = Path(work) / "kezhan"
        _payload(tree / "opt" / "kezhan", bundle, python)
        _write(tree / "usr" / "bin" / "kezhan", WRAPPER, 0o755)
        _write(tree / "usr" / "share" / "applications" / "kezhan.desktop", DESKTOP)
        icon = tree / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps" / "kezhan.png"
        icon.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "resources" / "icons" / "kezhan.png", icon)
        size_kb = sum(f.stat().st_size for f in tree.rglob("*") if f.is_file() and not f.is_symlink()) // 1024
        _write(tree / "DEBIAN" / "control", "\n".join([
            f"Package: {NAME}",
            f"Version: {version}",
            f"Architecture: {arch}",
            "Maintainer: Kezhan <kezhan@localhost>",
            f"Installed-Size: {size_kb}",
            f"Depends: {DEPENDS}",
            "Suggests: kezhan-demo-server",
            "Section: misc",
            "Priority: optional",
            "Description: Kezhan (客站) ticket window and boarding gate terminal",
            " Sells real-name road passenger tickets at the window, prints them on ESC/POS",
            " printers, reads resident ID cards, checks passengers at the gate and syncs",
            " with the provincial server. Data lives in /var/lib/kezhan.",
            "",
        ]))
        for name, text in (("postinst", POSTINST), ("prerm", PRERM), ("postrm", POSTRM)):
            _write(tree / "DEBIAN" / name, text, 0o755)
        built.append(_dpkg_deb(tree, out / f"{NAME}_{version}_{arch}.deb"))
        if demo_server is not None and demo_server.is_dir():
            built.append(_demo_server_deb(Path(work) / "demo", demo_server, version, out))
    return built


def _demo_server_deb(tree: Path, part: Path, version: str, out: Path) -> Path:
    """The optional part: the reference server, for `kezhan demo` on an installed terminal. Compiled
    modules inside (pydantic-core) make it a package of the machine's architecture."""
    shutil.copytree(part, tree / "opt" / "kezhan" / "demo-server")
    compiled = any(p.suffix in (".so", ".pyd") or ".so." in p.name for p in part.rglob("*"))
    arch = _arch() if compiled else "all"
    _write(tree / "DEBIAN" / "control", "\n".join([
        "Package: kezhan-demo-server",
        f"Version: {version}",
        f"Architecture: {arch}",
        "Maintainer: Kezhan <kezhan@localhost>",
        f"Depends: {NAME} (= {version})",
        "Section: misc",
        "Priority: optional",
        "Description: Kezhan demo station's embedded provincial server",
        " The reference provincial server, for `kezhan demo` only; a station never needs it.",
        "",
    ]))
    return _dpkg_deb(tree, out / f"kezhan-demo-server_{version}_{arch}.deb")


def _dpkg_deb(tree: Path, dest: Path) -> Path:
    for path in tree.rglob("*"):
        if path.is_dir():
            path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    # Files owned by root whoever builds; xz keeps the package small, -Zgzip would be faster.
    command = ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(dest)]
    if os.geteuid() != 0 and shutil.which("fakeroot"):
        command = ["fakeroot", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payload", type=Path, help="the frozen bundle folder (dist/kezhan)")
    parser.add_argument("--python", help="build over the sources, run by this Python (the build check)")
    parser.add_argument("--demo-server", type=Path, help="the optional demo server part (dist/kezhan-demo-server)")
    parser.add_argument("--version", help="the package version (default: app.__version__)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    for path in build(args.out, bundle=args.payload, python=args.python, version=args.version,
                      demo_server=args.demo_server):
        print(f"built {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
