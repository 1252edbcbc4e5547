# shellcheck shell=bash
# scripts/lib/venv.sh — the pinned Python virtual environments of the test scripts, one per
# script under .data/.

# python_venv VENV "PINS": makes VENV from $PYTHON (default python3) with exactly PINS installed
# from PyPI, again whenever PINS change; nothing when it is already so.
python_venv() {
    local venv="$1" pins="$2"
    if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ]]; then
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv"
        # shellcheck disable=SC2086  # the pins are words
        "$venv/bin/pip" install -q --disable-pip-version-check $pins
        echo "$pins" >"$venv/.pins"
    fi
}
