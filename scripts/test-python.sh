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
# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
# shellcheck source=lib/live-system.sh
source scripts/lib/live-system.sh
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.data/venv-python"
LOGS="$REPO/.data/test-logs"
mkdir -p "$LOGS"
PINS="httpx==0.28.1 pytest==8.4.2 pytest-asyncio==1.2.0"

echo "==> python client: virtual environment ($VENV)"
python_venv "$VENV" "$PINS"
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall ./clients/python

echo "==> python client: services and binaries"
if [[ -z "${DATABASE_URL:-}" || -z "${REDIS_URL:-}" ]]; then
    # shellcheck disable=SC2046
    export $(scripts/services.sh start)
fi
DB_URL="${PY_DATABASE_URL:-${DATABASE_URL%/*}/saas_python}"
R_URL="${PY_REDIS_URL:-${REDIS_URL%/*}/2}"
live_database "$DB_URL"
live_binaries
# Two long polls per team, so that a test can meet the API's real 429 with Retry-After.
export LONG_POLLS_PER_TEAM=2
live_start python "$DB_URL" "$R_URL"

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
