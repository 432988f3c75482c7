# Sourced by scripts/demo and scripts/test: find Python >= 3.11 and make the virtual environment.
# LABELAUDIT_VENV picks the venv (CI reuses one under ~/.cache/labelaudit); default: ./.venv
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LABELAUDIT_VENV:-$ROOT/.venv}"

find_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "labelaudit: error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py="$(find_python)"
        echo "creating the virtual environment $VENV" >&2
        "$py" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
}

# pip install "$@" into the venv, quietly unless it fails.
venv_install() {
    local log
    log="$(mktemp)"
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "labelaudit: error: installing $* failed (see above)" >&2
        return 1
    fi
    rm -f "$log"
}
