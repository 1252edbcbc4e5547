#!/usr/bin/env bash
# scripts/deps.sh — install the machine-level dependencies of this project.
#
# Idempotent and quiet on success: it only touches apt / pip when something is
# actually missing, and prints nothing when everything is already there.
# Fails loudly (non-zero exit, apt/pip output shown) when an install fails.
#
# What it ensures:
#   Debian packages (apt-get):
#     libhiredis-dev libpq-dev   C libraries linked by the Swift targets CHiredis / CLibPQ
#     redis-server redis-tools   local Redis for dev/tests (scripts/services.sh)
#     postgresql postgresql-contrib   local PostgreSQL 15 for dev/tests (scripts/services.sh)
#     wrk                        HTTP load generator for benchmarks
#     poppler-utils pandoc qpdf  document text extraction on workers (pdftotext, pandoc); qpdf checks PDFs
#     chromium chromium-driver   headless browser + its WebDriver for the dashboard test (scripts/test-browser.sh)
#   Python packages (pip, into the interpreter named by $PYTHON):
#     check-jsonschema==0.39.0   validates compose/compose.yaml against the Compose
#                                Specification schema it ships (vendor.compose-spec);
#                                used by scripts/check-compose.sh. Pinned so the vendored
#                                schema (and thus what passes) does not drift.
#     jsonschema, PyYAML         generic schema validation / YAML parsing helpers.
#
# Environment variables honoured:
#   PYTHON        Python interpreter to install into and check (default: python3)
#   EXTRA_DEBS    extra Debian packages to ensure, space-separated (default: none)
#   DEPS_VERBOSE  set to 1 to print what is already present, too
#
# Must run as root (or with passwordless sudo available) when something is missing.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
VERBOSE="${DEPS_VERBOSE:-0}"

DEBS=(libhiredis-dev libpq-dev redis-server redis-tools postgresql postgresql-contrib wrk poppler-utils pandoc qpdf chromium chromium-driver)
if [[ -n "${EXTRA_DEBS:-}" ]]; then
  # shellcheck disable=SC2206  # intentional word splitting of a space-separated list
  DEBS+=(${EXTRA_DEBS})
fi

# "requirement spec" -> import-free check via importlib.metadata (distribution name)
PY_REQS=("check-jsonschema==0.39.0" "jsonschema" "PyYAML")

log() { [[ "$VERBOSE" == 1 ]] && echo "deps: $*" >&2 || true; }
die() { echo "deps: ERROR: $*" >&2; exit 1; }

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo; cannot install packages"
  SUDO=(sudo)
fi

# ---------------------------------------------------------------- Debian packages
deb_installed() {
  # dpkg -s alone returns 0 for packages in "config-files" (removed) state,
  # so look at the actual status word.
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == "installed" ]]
}

apt_install() {
  # Install the given packages; apt-get update first (once per run).
  if [[ -z "${_APT_UPDATED:-}" ]]; then
    echo "deps: apt-get update" >&2
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
      || "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update \
      || die "apt-get update failed"
    _APT_UPDATED=1
  fi
  echo "deps: apt-get install $*" >&2
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 \
    || die "apt-get install failed for: $*"
}

missing_debs=()
for p in "${DEBS[@]}"; do
  if deb_installed "$p"; then log "deb $p: present"; else missing_debs+=("$p"); fi
done
if ((${#missing_debs[@]})); then
  apt_install "${missing_debs[@]}"
  for p in "${missing_debs[@]}"; do
    deb_installed "$p" || die "package $p still not installed after apt-get install"
  done
fi

# The Debian postgresql package creates a "main" cluster and, on a machine with
# an init system, starts it on 5432. We never use it (scripts/services.sh runs a
# project-local cluster), so nothing to do here; it is simply left alone.

# ---------------------------------------------------------------- Python packages
command -v "$PYTHON" >/dev/null 2>&1 || {
  apt_install python3
  PYTHON=python3
}
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  apt_install python3-pip
  "$PYTHON" -m pip --version >/dev/null 2>&1 || die "$PYTHON has no pip even after installing python3-pip"
fi

# Print the requirements that are not satisfied (missing, or wrong pinned version).
missing_py="$("$PYTHON" - "${PY_REQS[@]}" <<'EOF'
import sys
from importlib import metadata
for req in sys.argv[1:]:
    name, _, want = req.partition("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(req); continue
    if want and have != want:
        print(req)
EOF
)"

if [[ -n "$missing_py" ]]; then
  mapfile -t reqs <<<"$missing_py"
  echo "deps: pip install ${reqs[*]}" >&2
  # PIP_BREAK_SYSTEM_PACKAGES: when $PYTHON is Debian's own interpreter (PEP 668
  # "externally managed"), allow the install anyway; ignored by other pythons.
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    "$PYTHON" -m pip install -q "${reqs[@]}" || die "pip install failed for: ${reqs[*]}"
  # pyenv needs its shims refreshed for new console scripts (harmless elsewhere).
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
fi

log "all dependencies present"
