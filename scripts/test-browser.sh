#!/usr/bin/env bash
# scripts/test-browser.sh — the admin dashboard (/admin) in a real browser.
#
# 1. Headless Chromium and its driver from Debian's packages (`chromium`, `chromium-driver`,
#    installed by scripts/deps.sh), driven by Selenium from a virtual environment of its own in
#    .data/venv-browser (pinned; recreated when this script's pins change). Selenium is given the
#    driver's path, so it never downloads a browser or a driver.
# 2. The debug binaries of `swift build` (built once if missing): saas-mock-llm, saas-api
#    (migrated first) and one saas-worker, on free loopback ports, against a database and Redis
#    db of their own. The test sets up its organization, provider (on the mock), model group and
#    team through the admin API.
# 3. pytest runs tests/browser: sign in (a wrong key refused first), a slow job submitted by the
#    test appears on the jobs page and is cancelled there, a form without its CSRF token is
#    refused, the worker is drained; a screenshot of every page goes to .data/screenshots/.
# 4. Whatever it started is stopped on any exit; the exit status is pytest's (non-zero on any
#    failure, and on a process that did not start).
#
# Environment honoured:
#   BROWSER_DATABASE_URL  PostgreSQL database of this test (default: DATABASE_URL's server,
#                         saas_browser; created when missing)
#   BROWSER_REDIS_URL     Redis db of this test (default: REDIS_URL's server, db 5)
#   SCREENSHOTS           where the screenshots go (default: .data/screenshots)
#   PYTHON                the interpreter the virtual environment is made from (default: python3)
#   PYTEST_ARGS           extra pytest arguments (e.g. "-x")
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
# shellcheck source=lib/live-system.sh
source scripts/lib/live-system.sh
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.data/venv-browser"
LOGS="$REPO/.data/test-logs"
SCREENSHOTS="${SCREENSHOTS:-$REPO/.data/screenshots}"
mkdir -p "$LOGS" "$SCREENSHOTS"
PINS="selenium==4.51.0 pytest==8.4.2"

CHROMIUM="$(command -v chromium || true)"
CHROMEDRIVER="$(command -v chromedriver || true)"
if [[ -z "$CHROMIUM" || -z "$CHROMEDRIVER" ]]; then
    echo "chromium and chromium-driver are needed (Debian packages; scripts/deps.sh installs them)" >&2
    exit 1
fi

echo "==> browser: virtual environment ($VENV)"
python_venv "$VENV" "$PINS"

echo "==> browser: services and binaries"
if [[ -z "${DATABASE_URL:-}" || -z "${REDIS_URL:-}" ]]; then
    # shellcheck disable=SC2046
    export $(scripts/services.sh start)
fi
DB_URL="${BROWSER_DATABASE_URL:-${DATABASE_URL%/*}/saas_browser}"
R_URL="${BROWSER_REDIS_URL:-${REDIS_URL%/*}/5}"
live_database "$DB_URL"
live_binaries
export WORKER_CONCURRENCY=4
live_start browser "$DB_URL" "$R_URL"

echo "==> browser: pytest (screenshots in $SCREENSHOTS)"
export SAAS_API_URL="http://127.0.0.1:$API_PORT" SAAS_ADMIN_KEY="$MASTER" SAAS_MOCK_URL="$MOCK_LLM_URL"
export CHROMIUM CHROMEDRIVER SCREENSHOTS SE_OFFLINE=true PYTHONDONTWRITEBYTECODE=1
status=0
# shellcheck disable=SC2086  # PYTEST_ARGS are words
(cd tests/browser && "$VENV/bin/python" -m pytest -p no:cacheprovider -ra ${PYTEST_ARGS:-}) || status=$?
if ((status != 0)); then
    echo "browser tests failed (logs: $LOGS/browser-*.log; screenshots: $SCREENSHOTS)" >&2
    tail -n 20 "$LOGS/browser-api.log" "$LOGS/browser-worker.log" >&2 || true
fi
exit "$status"
