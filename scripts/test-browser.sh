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
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ]]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    # shellcheck disable=SC2086  # the pins are words
    "$VENV/bin/pip" install -q --disable-pip-version-check $PINS
    echo "$PINS" >"$VENV/.pins"
fi

echo "==> browser: services and binaries"
if [[ -z "${DATABASE_URL:-}" || -z "${REDIS_URL:-}" ]]; then
    # shellcheck disable=SC2046
    export $(scripts/services.sh start)
fi
DB_URL="${BROWSER_DATABASE_URL:-${DATABASE_URL%/*}/saas_browser}"
R_URL="${BROWSER_REDIS_URL:-${REDIS_URL%/*}/5}"
DB_NAME="${DB_URL##*/}"
[[ "$DB_NAME" =~ ^[A-Za-z0-9_]+$ ]] || { echo "BROWSER_DATABASE_URL must end in a plain database name" >&2; exit 1; }
if [[ -z "$(psql "${DB_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]]; then
    psql "${DB_URL%/*}/postgres" -qc "CREATE DATABASE $DB_NAME"
fi

BIN="$(swift build --show-bin-path)"
if [[ ! -x "$BIN/saas-api" || ! -x "$BIN/saas-worker" || ! -x "$BIN/saas-mock-llm" ]]; then
    swift build
fi

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
API_PORT="$(free_port)"
MOCK_PORT="$(free_port)"
METRICS_PORT="$(free_port)"
MASTER="sk-admin-browser-tests-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')"

export ENVIRONMENT=test HOST=127.0.0.1 LOG_LEVEL=warning
export DATABASE_URL="$DB_URL" REDIS_URL="$R_URL" PORT="$API_PORT" MASTER_KEY="$MASTER"
PROVIDER_KEY_SECRET="$("$PYTHON" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
export PROVIDER_KEY_SECRET
export MOCK_LLM_URL="http://127.0.0.1:$MOCK_PORT" WORKER_METRICS_PORT="$METRICS_PORT" WORKER_CONCURRENCY=4
export LEASE_SECONDS=3 SWEEP_INTERVAL_SECONDS=1 HEARTBEAT_SECONDS=1 RETRY_BASE_SECONDS=0.05 RETRY_CAP_SECONDS=0.3
export WORKER_SHUTDOWN_GRACE_SECONDS=1

PIDS=()
# shellcheck disable=SC2317  # called by the trap
stop_all() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    exit "$status"
}
trap stop_all EXIT INT TERM

"$BIN/saas-api" migrate >"$LOGS/browser-migrate.log" 2>&1 || { cat "$LOGS/browser-migrate.log" >&2; exit 1; }
"$BIN/saas-mock-llm" --host 127.0.0.1 --port "$MOCK_PORT" >"$LOGS/browser-mock-llm.log" 2>&1 &
PIDS+=($!)
"$BIN/saas-api" serve >"$LOGS/browser-api.log" 2>&1 &
PIDS+=($!)
"$BIN/saas-worker" >"$LOGS/browser-worker.log" 2>&1 &
PIDS+=($!)

ready=0
for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$API_PORT/ready" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$MOCK_PORT/health" >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.25
done
if ((!ready)); then
    echo "the API or the mock upstream did not start; see $LOGS/browser-*.log" >&2
    tail -n 20 "$LOGS/browser-api.log" "$LOGS/browser-mock-llm.log" >&2
    exit 1
fi

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
