#!/usr/bin/env bash
# scripts/run.sh — set up and run the whole system on this machine, in the foreground.
#
# Installs what is missing, starts Redis and PostgreSQL (scripts/services.sh), builds, migrates,
# then runs the mock LLM upstream, the API and one worker until Ctrl-C (which stops all three;
# Redis and PostgreSQL keep running — `scripts/services.sh stop` stops them).
#
# Environment honoured (see the README's table for the application's own variables):
#   PORT              the API's port (default 8003)
#   MOCK_LLM_PORT     the mock upstream's port (default 8090)
#   BUILD_CONFIG      debug (default) or release
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
BUILD_CONFIG="${BUILD_CONFIG:-debug}"
export PORT="${PORT:-8003}"
MOCK_LLM_PORT="${MOCK_LLM_PORT:-8090}"
export MOCK_LLM_URL="${MOCK_LLM_URL:-http://127.0.0.1:${MOCK_LLM_PORT}}"
LOGS="$REPO/.data/logs"
mkdir -p "$LOGS"

echo "==> dependencies"
scripts/deps.sh
echo "==> services"
# shellcheck disable=SC2046
export $(scripts/services.sh start)
echo "==> build ($BUILD_CONFIG)"
swift build -c "$BUILD_CONFIG"
BIN="$(swift build -c "$BUILD_CONFIG" --show-bin-path)"

echo "==> migrate"
"$BIN/saas-api" migrate

PIDS=()
stop_all() {
    trap - INT TERM EXIT
    echo
    echo "==> stopping"
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

"$BIN/saas-mock-llm" --port "$MOCK_LLM_PORT" >"$LOGS/mock-llm.log" 2>&1 &
PIDS+=($!)
"$BIN/saas-api" serve >"$LOGS/api.log" 2>&1 &
PIDS+=($!)
"$BIN/saas-worker" >"$LOGS/worker.log" 2>&1 &
PIDS+=($!)

echo "==> waiting for the API"
for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:${PORT}/ready" >/dev/null 2>&1; then break; fi
    sleep 0.5
done
if ! curl -fsS "http://127.0.0.1:${PORT}/ready"; then
    echo "the API did not become ready; see $LOGS/api.log" >&2
    tail -n 20 "$LOGS/api.log" >&2
    exit 1
fi
echo
if [ -x scripts/demo-setup.sh ]; then scripts/demo-setup.sh; fi
cat <<MSG

The system is up:
  API         http://127.0.0.1:${PORT}   (logs: $LOGS/api.log)
  worker      1 process                  (logs: $LOGS/worker.log)
  mock LLM    ${MOCK_LLM_URL}     (logs: $LOGS/mock-llm.log)
Ctrl-C stops them.
MSG
wait
