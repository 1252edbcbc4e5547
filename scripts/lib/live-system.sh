# shellcheck shell=bash
# scripts/lib/live-system.sh — a real mock upstream, API and worker for the test scripts that drive
# the running system from outside (test-python.sh, test-browser.sh, test-fuzz.sh): one way to
# make their database, find the binaries, start the three on free loopback ports and stop them.
#
# The caller sets PYTHON and LOGS (a folder), and may export more of the processes' variables
# before `live_start` (WORKER_CONCURRENCY and CIRCUIT_OPEN_SECONDS default to 16 and 2).

# live_database URL: creates the database URL names when missing (a plain name only).
live_database() {
    local url="$1" name="${1##*/}"
    [[ "$name" =~ ^[A-Za-z0-9_]+$ ]] || { echo "$url must end in a plain database name" >&2; return 1; }
    if [[ -z "$(psql "${url%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]]; then
        psql "${url%/*}/postgres" -qc "CREATE DATABASE $name"
    fi
}

# live_binaries: BIN, the debug binaries' folder (built once if missing).
live_binaries() {
    BIN="$(swift build --show-bin-path)"
    if [[ ! -x "$BIN/saas-api" || ! -x "$BIN/saas-worker" || ! -x "$BIN/saas-mock-llm" ]]; then
        swift build
    fi
}

live_free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# shellcheck disable=SC2317  # called by the trap
live_stop_all() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${LIVE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "${LIVE_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${LIVE_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    exit "$status"
}

# live_start TAG DATABASE_URL REDIS_URL: migrates, starts mock, API and one worker (logs in
# $LOGS/TAG-*.log), stopped on any exit of the script, and waits until they answer. Sets and
# exports API_PORT, MOCK_PORT, MASTER (a fresh admin key), MOCK_LLM_URL, and the processes'
# variables: short lease, sweep, heartbeat and retry periods, as the end-to-end suite uses.
live_start() {
    local tag="$1"
    API_PORT="$(live_free_port)"
    MOCK_PORT="$(live_free_port)"
    MASTER="sk-admin-$tag-tests-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')"
    export ENVIRONMENT=test HOST=127.0.0.1 LOG_LEVEL=warning
    export DATABASE_URL="$2" REDIS_URL="$3" PORT="$API_PORT" MASTER_KEY="$MASTER"
    PROVIDER_KEY_SECRET="$("$PYTHON" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
    export PROVIDER_KEY_SECRET
    export MOCK_LLM_URL="http://127.0.0.1:$MOCK_PORT" WORKER_METRICS_PORT="$(live_free_port)"
    export WORKER_CONCURRENCY="${WORKER_CONCURRENCY:-16}" CIRCUIT_OPEN_SECONDS="${CIRCUIT_OPEN_SECONDS:-2}"
    export LEASE_SECONDS=3 SWEEP_INTERVAL_SECONDS=1 HEARTBEAT_SECONDS=1 RETRY_BASE_SECONDS=0.05 RETRY_CAP_SECONDS=0.3
    export WORKER_SHUTDOWN_GRACE_SECONDS=1

    LIVE_PIDS=()
    trap live_stop_all EXIT INT TERM
    "$BIN/saas-api" migrate >"$LOGS/$tag-migrate.log" 2>&1 || { cat "$LOGS/$tag-migrate.log" >&2; return 1; }
    "$BIN/saas-mock-llm" --host 127.0.0.1 --port "$MOCK_PORT" >"$LOGS/$tag-mock-llm.log" 2>&1 &
    LIVE_PIDS+=($!)
    "$BIN/saas-api" serve >"$LOGS/$tag-api.log" 2>&1 &
    LIVE_PIDS+=($!)
    "$BIN/saas-worker" >"$LOGS/$tag-worker.log" 2>&1 &
    LIVE_PIDS+=($!)

    for _ in $(seq 1 120); do
        if curl -fsS "http://127.0.0.1:$API_PORT/ready" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$MOCK_PORT/health" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.25
    done
    echo "the API or the mock upstream did not start; see $LOGS/$tag-*.log" >&2
    tail -n 20 "$LOGS/$tag-api.log" "$LOGS/$tag-mock-llm.log" >&2
    return 1
}
