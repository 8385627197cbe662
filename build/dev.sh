#!/usr/bin/env bash
# The two set-up commands of the README, and the pieces they share.
#   bash build/dev.sh demo   install everything, then run the demo station
#   bash build/dev.sh test   install everything, then run the whole test suite
# Idempotent: a second run installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${KEZHAN_VENV:-.venv}"
PY="${PYTHON:-python3}"

# Debian packages: a CJK font for tickets and screenshots, the libraries Qt's
# offscreen platform loads, those its X11 (xcb) platform needs on a desktop, and venv support.
DEB_PACKAGES=(fonts-wqy-microhei libegl1 libgl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3
              libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
              libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
              # The reference server's tests run on PostgreSQL too: they start their own throwaway
              # server with its initdb and pg_ctl (tests/integration/postgres.py).
              postgresql)

deb_installed() {
    # Installed ("ii") for this machine's own architecture or for all: with a second architecture
    # (i386 beside amd64) a plain `dpkg -s` calls a library installed for both "ambiguous", and takes
    # one installed only for the other architecture, or removed but not purged, for installed.
    dpkg-query -W -f='${Architecture} ${db:Status-Abbrev}\n' "$1" 2>/dev/null |
        grep -E "^($(dpkg --print-architecture)|all) ii" >/dev/null
}

need_debs() {
    command -v dpkg >/dev/null 2>&1 || return 1
    local missing=()
    for p in "${DEB_PACKAGES[@]}"; do
        deb_installed "$p" || missing+=("$p")
    done
    "$PY" -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
    [ ${#missing[@]} -eq 0 ] && return 1
    echo "${missing[@]}"
}

install_debs() {
    local missing
    missing=$(need_debs) || return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: $missing"
    if [[ " $missing " == *" postgresql "* ]]; then
        # Only the programs are wanted: no "main" cluster created and started by the package, so
        # no PostgreSQL is left running on the machine (the tests start and stop their own).
        $sudo mkdir -p /etc/postgresql-common/createcluster.d
        echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/kezhan.conf >/dev/null
    fi
    # A mirror in the middle of a sync answers some index files wrong for a while ("Mirror sync in
    # progress?"): try again, then go on with the lists there are -- the install says so if a
    # package is really out of reach.
    local try
    for try in 1 2 3; do
        $sudo apt-get update -qq && break
        if [ "$try" -lt 3 ]; then
            sleep 15
        else
            echo "apt-get update failed $try times: installing from the package lists there are" >&2
        fi
    done
    for try in 1 2 3; do
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null && return 0
        if [ "$try" -lt 3 ]; then
            sleep 15
            $sudo apt-get update -qq || true  # the lists may name files the mirror no longer has
        fi
    done
    echo "apt-get install failed: $missing" >&2
    return 1
}

install_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    local stamp="$VENV/.kezhan-installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        local log="$VENV/pip-install.log"
        if ! { "$VENV/bin/python" -m pip install --upgrade pip &&
               "$VENV/bin/python" -m pip install -e ".[dev,server]"; } >"$log" 2>&1; then
            tail -n 30 "$log" >&2
            echo "pip install failed: the whole log is in $log" >&2
            exit 1
        fi
        touch "$stamp"
    fi
    "$VENV/bin/python" -m app.i18n_build >/dev/null
}

setup() {
    install_debs
    install_python
}

case "${1:-}" in
    setup)
        setup ;;
    demo)
        setup
        shift
        exec "$VENV/bin/kezhan" demo "$@" ;;
    test)
        setup
        shift
        export QT_QPA_PLATFORM=offscreen
        exec "$VENV/bin/python" -m pytest "$@" ;;
    *)
        echo "usage: bash build/dev.sh demo|test|setup" >&2
        exit 2 ;;
esac
