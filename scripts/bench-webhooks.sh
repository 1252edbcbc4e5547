#!/usr/bin/env bash
# scripts/bench-webhooks.sh — webhook deliveries (issue 11): how fast one worker sends the outbox
# to a receiver that answers at once, and how long after its job's settlement each event arrives,
# with the receiver's own ceiling (wrk against it) measured in the same run.
#
# Starts its own mock upstream (latency 0), API, receiver (`saas-bench webhook-receiver`, 204 at
# once) and worker (WORKER_CONCURRENCY=256, WEBHOOK_CONCURRENCY as given) against database
# saas_bench_wh (dropped and made afresh) and Redis db 6 (flushed). One team, its webhook on the
# receiver for job.completed.
#
#   1. live     JOBS jobs submitted by `saas-bench jobs` (64 connections) while the worker runs:
#               deliveries/s from the first settlement to the last delivery, and the delay from
#               each job's settlement to its delivery, p50/p99/max (PostgreSQL's
#               jobs.completed_at → webhook_deliveries.delivered_at)
#   2. backlog  the worker stopped, JOBS deliveries written to the outbox (copies of phase 1's),
#               then a worker started: deliveries/s from its first delivery to its last — the
#               sender alone, not paced by the jobs
#   3. ceiling  wrk -t2 -c<WEBHOOK_CONCURRENCY> -d10s POSTing one of the payloads, same headers,
#               to the receiver: requests/s it can take from that many connections; the backlog
#               rate is given as a ratio of it
#
# Prints a table (figure, value, reference, ratio) on stdout; progress on stderr; raw outputs
# (process logs, wrk, SQL lines, the receiver's counts) in bench-results/webhooks-<time>/
# (git-ignored); the processes run there, so no .env is read. Measurements, not tests: it fails
# only when a tool or a process does.
#
# Environment (defaults in brackets):
#   BENCH_WEBHOOK_JOBS   jobs (and backlog deliveries)                                    [5000]
#   WEBHOOK_CONCURRENCY  the worker's concurrent sends, and wrk's connections             [32]
#   BUILD_CONFIG         release (.build-release) or debug (.build, the checkout's own)   [release]
#   API_PORT, MOCK_PORT, RECEIVER_PORT, WORKER_METRICS_PORT                 [8413, 8494, 8496, 8495]
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
LOG_TAG=bench
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
# shellcheck source=lib/bench.sh
source "$REPO/scripts/lib/bench.sh"
# shellcheck source=lib/processes.sh
source "$REPO/scripts/lib/processes.sh"
# shellcheck source=lib/table.sh
source "$REPO/scripts/lib/table.sh"

JOBS="${BENCH_WEBHOOK_JOBS:-5000}"
SENDS="${WEBHOOK_CONCURRENCY:-32}"
BUILD_CONFIG="${BUILD_CONFIG:-release}"
API_PORT="${API_PORT:-8413}"; MOCK_PORT="${MOCK_PORT:-8494}"
RECEIVER_PORT="${RECEIVER_PORT:-8496}"; WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-8495}"
DB_NAME=saas_bench_wh
REDIS_DB=6
PRODUCTS=(saas-api saas-worker saas-mock-llm saas-bench)

require_tools wrk psql redis-cli python3 curl swift ss

say "starting services"
bench_services
BENCH_DB_URL="$(database_url "$DB_NAME")"
BENCH_REDIS_URL="$(redis_url "$REDIS_DB")"
sql() { sql_file "$BENCH_DB_URL" "$@"; }  # name (bench/sql/NAME.sql), -v var=value...
bench_check_ports "$API_PORT" "$MOCK_PORT" "$RECEIVER_PORT" "$WORKER_METRICS_PORT"

SCRATCH=".build"; [[ "$BUILD_CONFIG" == release ]] && SCRATCH=".build-release"
say "building ($BUILD_CONFIG, --scratch-path $SCRATCH)"
for product in "${PRODUCTS[@]}"; do swift build -c "$BUILD_CONFIG" --scratch-path "$SCRATCH" --product "$product" >&2; done
BUILD_DIR="$(swift build -c "$BUILD_CONFIG" --scratch-path "$SCRATCH" --show-bin-path)"
results_dir webhooks
say "raw outputs in $OUT"
# A copy of the binaries, so a build in the shared scratch path cannot replace them mid-run.
bench_copy_binaries "${PRODUCTS[@]}"
trap 'stop_everything worker api mock receiver; rm -rf "$BIN_DIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sql_file "$DATABASE_URL" fresh-database -v db="$DB_NAME" >/dev/null
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" FLUSHDB >/dev/null

app_env=(env ENVIRONMENT=development DATABASE_URL="$BENCH_DB_URL" REDIS_URL="$BENCH_REDIS_URL" LOG_LEVEL=warning
  HOST=127.0.0.1 PORT="$API_PORT" WORKER_METRICS_PORT="$WORKER_METRICS_PORT")
start_worker() { start_proc worker "${app_env[@]}" WORKER_CONCURRENCY=256 WEBHOOK_CONCURRENCY="$SENDS" "$BIN_DIR/saas-worker"; }
receiver_stats() { curl -fsS "http://127.0.0.1:$RECEIVER_PORT/stats"; }
# Waits until the team has no pending delivery and COUNT in all; dies after SECONDS.
wait_delivered() {  # count, seconds
  local i left
  for ((i = 0; i < $2 * 5; i++)); do
    left="$(psql "$BENCH_DB_URL" -X -q -A -t -c \
      "SELECT $1 - count(*) FILTER (WHERE status <> 'pending') FROM webhook_deliveries WHERE team_id = '$TEAM'")"
    ((left <= 0)) && return 0
    sleep 0.2
  done
  die "$left deliveries still pending after $2 s (see $OUT/worker.log)"
}

start_proc receiver "$BIN_DIR/saas-bench" webhook-receiver --port "$RECEIVER_PORT"
start_proc mock "$BIN_DIR/saas-mock-llm" --host 127.0.0.1 --port "$MOCK_PORT" --latency-ms 0
start_proc api "${app_env[@]}" "$BIN_DIR/saas-api" serve
wait_http "http://127.0.0.1:$API_PORT/ready" 60 api
wait_http "http://127.0.0.1:$RECEIVER_PORT/stats" 30 receiver

say "set-up: organization, provider, model group, team, webhook"
read -r TEAM KEY GROUP < <(python3 - "$API_PORT" "$MOCK_PORT" "$RECEIVER_PORT" <<'PY'
import json, sys, urllib.request, uuid
api, mock, receiver = sys.argv[1:4]
base = f"http://127.0.0.1:{api}"
admin = {"X-Admin-Key": "sk-admin-local-dev-change-in-production", "Content-Type": "application/json"}
def call(path, method, body, headers=admin):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")
tag = uuid.uuid4().hex[:8]
call("/api/organizations/create", "POST", {"organization_id": f"wh-{tag}", "name": "bench"})
call("/api/providers/create", "POST", {"name": f"mock-{tag}", "kind": "openai", "base_url": f"http://127.0.0.1:{mock}", "api_key": "sk-mock"})
call("/api/model-groups/create", "POST", {"group_name": f"wh-{tag}", "models": [{"model_name": "mock-wh", "provider": f"mock-{tag}", "priority": 0}]})
team = call("/api/teams/create", "POST", {"organization_id": f"wh-{tag}", "team_id": f"wh-{tag}", "model_groups": [f"wh-{tag}"], "credits_allocated": 10000000})
key = {"Authorization": "Bearer " + team["virtual_key"], "Content-Type": "application/json"}
call(f"/api/teams/wh-{tag}/webhook", "PUT", {"url": f"http://127.0.0.1:{receiver}/hook", "events": ["job.completed"]}, key)
print(f"wh-{tag}", team["virtual_key"], f"wh-{tag}")
PY
)

# ---------------------------------------------------------------- 1. live
say "1. live: $JOBS jobs with the worker running"
start_worker
"$BIN_DIR/saas-bench" jobs --url "http://127.0.0.1:$API_PORT" --jobs "$JOBS" --connections 64 --team "$TEAM" --key "$KEY" \
  --model "$GROUP" >"$OUT/submit.json" 2>"$OUT/submit.err" || die "saas-bench jobs failed: $(tail -n 3 "$OUT/submit.err")"
wait_delivered "$JOBS" 300
sql webhook-live -v team="$TEAM" | tee "$OUT/live.txt" >&2
IFS='|' read -r L_N L_DONE L_JOBS_S L_RATE L_P50 L_P99 L_MAX L_ATTEMPTS <"$OUT/live.txt"
receiver_stats >"$OUT/receiver-live.json"
stop_proc worker 60
mv "$OUT/worker.log" "$OUT/worker-live.log"

# ---------------------------------------------------------------- 2. backlog
say "2. backlog: $JOBS deliveries written with no worker, then one worker"
SINCE="$(psql "$BENCH_DB_URL" -X -q -A -t -c "SELECT now()")"
psql "$BENCH_DB_URL" -X -q -c "INSERT INTO webhook_deliveries (team_id, event, job_id, payload)
  SELECT team_id, event, job_id, payload FROM webhook_deliveries WHERE team_id = '$TEAM'" >/dev/null
start_worker
wait_delivered $((JOBS * 2)) 300
sql webhook-backlog -v team="$TEAM" -v since="$SINCE" | tee "$OUT/backlog.txt" >&2
IFS='|' read -r B_N B_DONE B_RATE B_SECONDS B_ATTEMPTS <"$OUT/backlog.txt"
receiver_stats >"$OUT/receiver-backlog.json"
stop_proc worker 60
mv "$OUT/worker.log" "$OUT/worker-backlog.log"

# ---------------------------------------------------------------- 3. the receiver's ceiling
say "3. ceiling: wrk with $SENDS connections against the receiver"
python3 - "$BENCH_DB_URL" "$TEAM" >"$OUT/post.lua" <<'PY'
import subprocess, sys
payload = subprocess.run(["psql", sys.argv[1], "-X", "-q", "-A", "-t", "-c",
    f"SELECT payload::text FROM webhook_deliveries WHERE team_id = '{sys.argv[2]}' LIMIT 1"],
    capture_output=True, text=True, check=True).stdout.strip()
print('wrk.method = "POST"')
print("wrk.body = " + '"' + payload.replace("\\", "\\\\").replace('"', '\\"') + '"')
for name, value in [("content-type", "application/json"), ("user-agent", "saas-webhooks/1.0"),
                    ("webhook-id", "00000000-0000-0000-0000-000000000000"), ("webhook-timestamp", "1700000000"),
                    ("webhook-signature", "v1," + "A" * 43 + "=")]:
    print(f'wrk.headers["{name}"] = "{value}"')
PY
wrk -t2 -c"$SENDS" -d10s -s "$OUT/post.lua" "http://127.0.0.1:$RECEIVER_PORT/hook" >"$OUT/wrk.txt"
WRK_RATE="$(awk '/Requests\/sec/ { print $2 }' "$OUT/wrk.txt")"
stop_proc receiver 10
RECEIVED="$(json_get "$OUT/receiver-backlog.json" requests)"
DISTINCT="$(json_get "$OUT/receiver-backlog.json" distinct_ids)"

TABLE_ROWS=()
row "live: jobs/s (submit → settlement)" "$L_JOBS_S" "" ""
row "live: deliveries/s (settlement → delivery)" "$L_RATE" "" ""
row "live: settlement → delivery p50 ms" "$L_P50" "" ""
row "live: settlement → delivery p99 ms" "$L_P99" "" ""
row "live: settlement → delivery max ms" "$L_MAX" "" ""
row "backlog: deliveries/s ($SENDS sends at once)" "$B_RATE" "wrk $WRK_RATE req/s" "$(ratio "$B_RATE" "$WRK_RATE")"
table_print "%-46s %12s %22s %8s\n" figure value reference ratio
echo
echo "build: $BUILD_CONFIG at $(git rev-parse --short HEAD); $JOBS jobs; delivered live $L_DONE/$L_N (most attempts $L_ATTEMPTS)," \
  "backlog $B_DONE/$B_N in $B_SECONDS s (most attempts $B_ATTEMPTS)"
echo "receiver: $RECEIVED requests, $DISTINCT distinct webhook-ids (before wrk; the backlog repeats the live ids)"
echo "commands: saas-bench jobs --jobs $JOBS --connections 64; wrk -t2 -c$SENDS -d10s -s post.lua (in $OUT)"
