#!/usr/bin/env bash
# Release builds. Work files go to pyi-work/ (build/ holds sources).
#   bash build/build.sh          the PyInstaller bundle in dist/kezhan/ (kezhan + kezhan-gui), the
#                                optional demo server part in dist/kezhan-demo-server/, and the
#                                bundle's size beside a bare PySide6 window frozen the same way
#   bash build/build.sh deb      the above, then dist/kezhan_<version>_<arch>.deb and
#                                dist/kezhan-demo-server_<version>_<arch>.deb (build/deb.py)
# On Windows the installer is compiled from build/windows/kezhan.iss over dist/kezhan/ (docs/install.md).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python

bundle() {
    bash build/dev.sh setup
    "$PY" -m pip install -q -e ".[build]"
    "$PY" -m app.i18n_build
    .venv/bin/pyinstaller --noconfirm --clean --workpath pyi-work --distpath dist build/kezhan.spec
    # Links PyInstaller made to Qt libraries the filter left out point nowhere: drop them.
    find dist/kezhan -xtype l -delete
    if [ ! -e dist/kezhan/kezhan-gui.exe ]; then
        printf '#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/kezhan" gui "$@"\n' > dist/kezhan/kezhan-gui
        chmod 755 dist/kezhan/kezhan-gui
    fi
    demo_server_part
    baseline
    check_bundle
    smoke
}

# The frozen program runs: its version, and the headless demo day (sales printed through python-escpos
# to the printer simulator, the demo server loaded from the optional part) in a throw-away folder.
smoke() {
    local tmp
    tmp=$(mktemp -d)
    dist/kezhan/kezhan --version
    if ! KEZHAN_HOME="$tmp/home" QT_QPA_PLATFORM=offscreen dist/kezhan/kezhan demo --headless --no-screens \
            --out "$tmp/out" > "$tmp/demo.log" 2>&1; then
        tail -n 20 "$tmp/demo.log" >&2
        echo "the frozen demo day failed (log: $tmp/demo.log)" >&2
        exit 1
    fi
    echo "frozen demo day: $(grep -c '✓' "$tmp/demo.log") steps ok"
    rm -rf "$tmp"
}

# The reference server and its web stack, pure Python, for the demo: not part of the terminal.
demo_server_part() {
    "$PY" build/demo_server_part.py dist/kezhan-demo-server pyi-work/kezhan/PYZ-00.toc
    echo "  size: $(du -sh dist/kezhan-demo-server | cut -f1)"
}

# A bare PySide6 window frozen with the same options, rebuilt only when PyInstaller or PySide6 change.
baseline() {
    local stamp
    stamp=$("$PY" -c 'import PyInstaller, PySide6; print(PyInstaller.__version__, PySide6.__version__)')
    stamp="$stamp $(cat build/pyi_lean.py build/bare_window.spec | sha1sum | cut -c1-12)"
    if [ ! -d pyi-work/bare/dist/bare-window ] || [ "$(cat pyi-work/bare/stamp 2>/dev/null)" != "$stamp" ]; then
        .venv/bin/pyinstaller --noconfirm --clean --workpath pyi-work/bare/work --distpath pyi-work/bare/dist \
            build/bare_window.spec
        echo "$stamp" > pyi-work/bare/stamp
    fi
}

check_bundle() {
    "$PY" - <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, "build")
from pyi_lean import FORBIDDEN_TOP, tree_size

bundle, bare = Path("dist/kezhan"), Path("pyi-work/bare/dist/bare-window")
size, base = tree_size(bundle), tree_size(bare)
print(f"bundle dist/kezhan/: {size / 2**20:.1f} MB; bare PySide6 window, same options: {base / 2**20:.1f} MB; "
      f"ratio {size / base:.2f} (goal <= 1.2)")
# Nothing of the server or the test tools inside: neither as files nor among the archived modules
# (the analysis' table of the archive: pyi-work/kezhan/PYZ-00.toc).
import ast
found = [p.name for p in bundle.rglob("*") if p.name.split(".")[0] in FORBIDDEN_TOP]
toc = ast.literal_eval(Path("pyi-work/kezhan/PYZ-00.toc").read_text())
names = [entry[0] for entry in toc[-1]] if isinstance(toc[-1], list) else []
if not names:
    raise SystemExit("cannot read the list of archived modules in pyi-work/kezhan/PYZ-00.toc")
found += [n for n in names if n.split(".")[0] in FORBIDDEN_TOP or n.startswith("sync.server")]
if found:
    raise SystemExit(f"the bundle carries server or test packages: {sorted(set(found))[:20]}")
print("no server or test packages inside: ok")
EOF
}

case "${1:-bundle}" in
    bundle)
        bundle ;;
    deb)
        [ -x dist/kezhan/kezhan ] || bundle
        "$PY" build/deb.py --payload dist/kezhan --demo-server dist/kezhan-demo-server --out dist ;;
    iss)
        # The Windows installer from build/windows/kezhan.iss. On Windows: ISCC on the PATH. Elsewhere
        # the npm package `innosetup` runs its ISCC.exe under wine (apt: wine wine32:i386). The
        # payload is dist/kezhan/ as built on Windows; DISTDIR points elsewhere (a stand-in) to check
        # the script compiles.
        version=$("$PY" -c 'import app; print(app.__version__)')
        dist=$(cd "${DISTDIR:-dist}" && pwd)
        if command -v iscc >/dev/null 2>&1; then
            iscc "/DAppVersion=$version" "/DDistDir=$(cygpath -w "$dist" 2>/dev/null || echo "$dist")" \
                build/windows/kezhan.iss
        else
            iscc_exe=pyi-work/innosetup/node_modules/innosetup/bin/ISCC.exe
            [ -f "$iscc_exe" ] || npm install --silent --prefix pyi-work/innosetup innosetup@6.4.1
            export WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$PWD/pyi-work/wine}"
            wine "$iscc_exe" /Q "/DAppVersion=$version" "/DDistDir=Z:${dist//\//\\}" \
                "Z:$(pwd | sed 's|/|\\|g')\\build\\windows\\kezhan.iss"
        fi
        echo "built: $dist/kezhan-setup-$version.exe" ;;
    *)
        echo "usage: bash build/build.sh [bundle|deb|iss]" >&2
        exit 2 ;;
esac
