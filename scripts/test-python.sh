#!/usr/bin/env bash
# scripts/test-python.sh — the Python client's tests (clients/python), against the real API.
#
# 1. A virtual environment in .data/venv-python with pinned httpx, pytest and pytest-asyncio and
#    the client installed from clients/python (recreated when this script's pins change).
# 2. The debug binaries of `swift build` (built once if missing): saas-mock-llm, saas-api
#    (migrated first) and one saas-worker, on free loopback ports, against a database and Redis
#    db of their own. The tests set up their organization, provider, model group and teams
#    through the client's AdminClient (tests/conftest.py).
# 3. pytest: the unit tests (httpx.MockTransport) and the integration tests.
# 4. Whatever it started is stopped on any exit; the exit status is pytest's (non-zero on any
#    failure, and on a process that did not start).
#
# Environment honoured:
#   PY_DATABASE_URL   PostgreSQL database of these tests (default: DATABASE_URL's server, saas_python;
#                     created when missing)
#   PY_REDIS_URL      Redis db of these tests (default: REDIS_URL's server, db 2)
#   PYTHON            the interpreter the virtual environment is made from (default: python3)
#   PYTEST_ARGS       extra pytest arguments (e.g. "-k stream -x")
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.data/venv-python"
LOGS="$REPO/.data/test-logs"
mkdir -p "$LOGS"
PINS="httpx==0.28.1 pytest==8.4.2 pytest-asyncio==1.2.0"

echo "==> python client: virtual environment ($VENV)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ]]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    # shellcheck disable=SC2086  # the pins are words
    "$VENV/bin/pip" install -q --disable-pip-version-check $PINS
    echo "$PINS" >"$VENV/.pins"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall ./clients/python

echo "==> python client: services and binaries"
if [[ -z "${DATABASE_URL:-}" || -z "${REDIS_URL:-}" ]]; then
    # shellcheck disable=SC2046
    export $(scripts/services.sh start)
fi
DB_URL="${PY_DATABASE_URL:-${DATABASE_URL%/*}/saas_python}"
R_URL="${PY_REDIS_URL:-${REDIS_URL%/*}/2}"
DB_NAME="${DB_URL##*/}"
[[ "$DB_NAME" =~ ^[A-Za-z0-9_]+$ ]] || { echo "PY_DATABASE_URL must end in a plain database name" >&2; exit 1; }
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
MASTER="sk-admin-python-tests-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')"

# Short lease, sweep and retry periods as the end-to-end suite uses; two long polls per team so
# that a test can meet the API's real 429 with Retry-After.
export ENVIRONMENT=test HOST=127.0.0.1 LOG_LEVEL=warning
export DATABASE_URL="$DB_URL" REDIS_URL="$R_URL" PORT="$API_PORT" MASTER_KEY="$MASTER"
PROVIDER_KEY_SECRET="$("$PYTHON" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
export PROVIDER_KEY_SECRET
export MOCK_LLM_URL="http://127.0.0.1:$MOCK_PORT" WORKER_METRICS_PORT="$METRICS_PORT" WORKER_CONCURRENCY=16
export LEASE_SECONDS=3 SWEEP_INTERVAL_SECONDS=1 HEARTBEAT_SECONDS=1 RETRY_BASE_SECONDS=0.05 RETRY_CAP_SECONDS=0.3
export WORKER_SHUTDOWN_GRACE_SECONDS=1 CIRCUIT_OPEN_SECONDS=2 LONG_POLLS_PER_TEAM=2

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

"$BIN/saas-api" migrate >"$LOGS/python-migrate.log" 2>&1 || { cat "$LOGS/python-migrate.log" >&2; exit 1; }
"$BIN/saas-mock-llm" --host 127.0.0.1 --port "$MOCK_PORT" >"$LOGS/python-mock-llm.log" 2>&1 &
PIDS+=($!)
"$BIN/saas-api" serve >"$LOGS/python-api.log" 2>&1 &
PIDS+=($!)
"$BIN/saas-worker" >"$LOGS/python-worker.log" 2>&1 &
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
    echo "the API or the mock upstream did not start; see $LOGS/python-*.log" >&2
    tail -n 20 "$LOGS/python-api.log" "$LOGS/python-mock-llm.log" >&2
    exit 1
fi

echo "==> python client: pytest"
export SAAS_API_URL="http://127.0.0.1:$API_PORT" SAAS_ADMIN_KEY="$MASTER" SAAS_MOCK_URL="$MOCK_LLM_URL"
status=0
# shellcheck disable=SC2086  # PYTEST_ARGS are words
(cd clients/python && "$VENV/bin/python" -m pytest -p no:cacheprovider -ra ${PYTEST_ARGS:-}) || status=$?
if ((status != 0)); then
    echo "python client tests failed (logs: $LOGS/python-*.log)" >&2
    tail -n 20 "$LOGS/python-api.log" "$LOGS/python-worker.log" >&2 || true
fi
exit "$status"
