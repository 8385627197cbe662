#!/usr/bin/env bash
# Builds the PyInstaller bundle into dist/kezhan/. Work files go to pyi-work/ (build/ holds sources).
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/dev.sh setup
.venv/bin/python -m pip install -q -e ".[build]"
.venv/bin/python -m app.i18n_build
.venv/bin/pyinstaller --noconfirm --clean --workpath pyi-work --distpath dist build/kezhan.spec
echo "built: dist/kezhan/"
