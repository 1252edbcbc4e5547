#!/usr/bin/env bash
# scripts/bench-calls.sh — issue 10's "Measured": single calls and streaming against the mock, with
# the references measured in the SAME run on this machine.
#
# Runs its own release build of saas-api, saas-worker, saas-mock-llm and saas-bench (as
# scripts/bench-jobs.sh does, and on the same database saas_bench — dropped and made afresh — and
# Redis db 5, so the two scripts never run at once: the ports say so) (API :8103, mock :8190).
# Set-up through the admin API: one organization, the mock as an `openai` provider, one model
# group, one team per phase (credits: 10,000,000 each). One worker runs during every phase.
#
#   1. health   wrk -t2 -c64 -d15s --latency GET /health: the API's ceiling on this machine
#   2. create   wrk -t2 -c64 -d20s --latency -s bench/jobs-submit.lua (POST /api/jobs/create, one
#               team) with a worker (WORKER_CONCURRENCY=256) running and the mock at 0 ms, so the
#               backlog drains meanwhile; then every job settled, the ledger checked
#   3. call     the same wrk with -s bench/create-and-call.lua (POST /api/jobs/create-and-call, one
#               team, default wait): each answer waits for its job through the queue, the worker,
#               the mock and the settlement; req/s, p50, p99 beside create's (the cost of waiting
#               through the queue), every 200 "completed", the ledger checked
#   4. streams  mock: stream_delta_ms 20, stream_stamp on (a streamed answer's first delta is the
#               epoch µs at which the mock wrote it); a worker with WORKER_CONCURRENCY=600; the API
#               with STREAMS_PER_TEAM=1000. First `saas-bench streams --streams 20 --concurrency 1`
#               (the unloaded path, the reference), then `saas-bench streams --streams 500`: 500
#               concurrent create-and-call-stream requests of one team, each on its own connection;
#               first delta (mock's stamp → client's receipt) p50/p90/p99/max, split at the Redis
#               entry's id (ms: Redis's clock at the worker's append), every stream ending
#               with `event: done`, the API's peak RSS (VmRSS every 100 ms) during the 500;
#               then the 500 again, started 4 ms apart with deltas 100 ms apart (each stream
#               lasts ~3 s, so they still overlap): the first delta's way while 500 are open,
#               without the start-up burst
#                                              goals: first delta p99 <= 5 ms, API RSS <= 150 MiB
#
# Prints a table on stdout (figure, value, reference, ratio, bar, verdict), the CPU each process
# used during each measurement, and the exact command behind each figure (team keys shown as
# <key:team>). Progress goes to stderr; raw outputs (wrk, client JSON, process logs, RSS samples,
# SQL checks) are kept in bench-results/calls-<time>/ (git-ignored). These are measurements, not
# tests: the script fails only when a tool or a process fails, never on a bar.
#
# Environment (defaults in brackets):
#   BENCH_SKIP_BUILD       1 = use the binaries already in .build-release              [0]
#   BENCH_BUILD_DIR        take the binaries from this folder instead (implies no build) []
#   BENCH_KEEP_BIN         1 = keep the run's copy of the binaries (results folder, bin/) [0]
#   BENCH_API_LOG_LEVEL    the API's LOG_LEVEL (it logs every request at info)        [info]
#   BENCH_ONLY             comma-separated subset of health,create,call,streams          [all]
#   BENCH_STREAMS          concurrent streams of phase 4                                 [500]
#   BENCH_STREAM_DELTA_MS  the mock's pause between two deltas in phase 4                 [20]
#   BENCH_RAMP_MS          phase 4's second run: milliseconds between two streams' starts  [4]
#   BENCH_HISTORY_JOBS     finished jobs of another team in the table before measuring [100000]
#   BENCH_PROFILE          1 = `perf record -a` during create, call and the 500 streams, and
#                          PostgreSQL's sessions sampled every 20 ms during create and call  [0]
#   BENCH_IDLE_MAX         CPU busy % above which a measurement waits for calm             [25]
#   BENCH_IDLE_WAIT        seconds to wait for that at most, then measure anyway           [60]
# Whole run: about 3 minutes after the build.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
LOG_TAG=bench-calls
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
# shellcheck source=lib/bench.sh
source "$REPO/scripts/lib/bench.sh"
# shellcheck source=lib/processes.sh
source "$REPO/scripts/lib/processes.sh"
# shellcheck source=lib/cpu.sh
source "$REPO/scripts/lib/cpu.sh"
# shellcheck source=lib/rss.sh
source "$REPO/scripts/lib/rss.sh"
# shellcheck source=lib/tool-output.sh
source "$REPO/scripts/lib/tool-output.sh"
# shellcheck source=lib/table.sh
source "$REPO/scripts/lib/table.sh"
# shellcheck source=lib/profile.sh
source "$REPO/scripts/lib/profile.sh"

API_PORT=8103
MOCK_PORT=8190
WORKER_METRICS_PORT=8191
REDIS_DB=5
DB_NAME=saas_bench
MASTER_KEY="sk-admin-local-dev-change-in-production"
CONNECTIONS=64
WRK_THREADS=2
HEALTH_SECONDS=15
LOAD_SECONDS=20
WRK_TIMEOUT=30s
CALL_CONCURRENCY=256
STREAMS="${BENCH_STREAMS:-500}"
STREAM_DELTA_MS="${BENCH_STREAM_DELTA_MS:-20}"
STREAM_CONCURRENCY=600
STREAMS_PER_TEAM=1000
REFERENCE_STREAMS=20
RAMP_MS="${BENCH_RAMP_MS:-4}"
RAMP_DELTA_MS=100
HISTORY_JOBS="${BENCH_HISTORY_JOBS:-100000}"
HISTORY_TEAM=bench-history
CREDITS=10000000
MODEL_GROUP=bench
API_LOG_LEVEL="${BENCH_API_LOG_LEVEL:-info}"
ONLY="${BENCH_ONLY:-health,create,call,streams}"
PROFILE="${BENCH_PROFILE:-0}"
IDLE_MAX="${BENCH_IDLE_MAX:-25}"
IDLE_WAIT="${BENCH_IDLE_WAIT:-60}"
PRODUCTS=(saas-api saas-worker saas-mock-llm saas-bench)
TIMEFORMAT='%U %S'  # `time` prints the load generator's user and system CPU seconds

wants() { [[ ",$ONLY," == *",$1,"* ]]; }

require_tools wrk psql redis-cli python3 curl swift awk ss
if [[ "$PROFILE" == 1 ]]; then require_tools perf; fi

# ---------------------------------------------------------------- services, ports
say "starting services"
bench_services
BENCH_DB_URL="$(database_url "$DB_NAME")"
BENCH_REDIS_URL="$(redis_url "$REDIS_DB")"
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" "$@"; }
sql() { sql_file "$BENCH_DB_URL" "$@"; }  # name (bench/sql/NAME.sql), -v var=value...

bench_check_ports "$API_PORT" "$MOCK_PORT" "$WORKER_METRICS_PORT"

# ---------------------------------------------------------------- build
bench_binaries "${PRODUCTS[@]}"

results_dir calls
say "raw outputs in $OUT"
# A copy of the binaries (and the migrations): a build during the run cannot replace them.
bench_copy_binaries "${PRODUCTS[@]}"
SAAS_BENCH="$BIN_DIR/saas-bench"
COMMANDS="$OUT/commands.txt"
: >"$COMMANDS"
cmd() { echo "$1" >>"$COMMANDS"; }
NOTES=()
note() { NOTES+=("$1"); }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_everything worker api mock
  if [[ "${BENCH_KEEP_BIN:-0}" != 1 && -n "${BIN_DIR:-}" ]]; then rm -rf "$BIN_DIR"; fi
  if [[ -n "${OUT:-}" ]]; then gzip -f "$OUT/api.log" "$OUT/mock.log" 2>/dev/null || true; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the service's processes
app_env=(env ENVIRONMENT=development DATABASE_URL="$BENCH_DB_URL" REDIS_URL="$BENCH_REDIS_URL"
  MASTER_KEY="$MASTER_KEY" HOST=127.0.0.1 PORT="$API_PORT" WORKER_METRICS_PORT="$WORKER_METRICS_PORT")

start_worker() {  # concurrency; returns once it logged that it started
  : >"$OUT/worker.log"
  start_proc worker "${app_env[@]}" LOG_LEVEL=info WORKER_CONCURRENCY="$1" "$BIN_DIR/saas-worker"
  for _ in $(seq 1 100); do grep -q 'worker started' "$OUT/worker.log" && return 0; sleep 0.1; done
  die "the worker did not start: $(tail -n 5 "$OUT/worker.log")"
}

stop_worker() {  # phase: its log becomes worker-PHASE.log
  stop_proc worker 60
  mv "$OUT/worker.log" "$OUT/worker-$1.log"
}

service_cpu_report() {  # label, CPU seconds of the load generator
  cpu_report "$1" "${2:-0}" "API=${PID_OF[api]:-}" "worker=${PID_OF[worker]:-}" "PostgreSQL=$(our_postgres_pids)" \
    "Redis=$(our_redis_pid)" "mock=${PID_OF[mock]:-}"
}

mock_behaviour() { curl -fsS -X PUT "$MOCK_URL/_mock/behaviour" -d "$1" >/dev/null || die "the mock refused $1"; }  # json

# ---------------------------------------------------------------- fresh database, Redis db, processes
say "fresh database $DB_NAME and Redis db $REDIS_DB"
sql_file "$DATABASE_URL" fresh-database -v db="$DB_NAME" >/dev/null
rcli FLUSHDB >/dev/null

MOCK_URL="http://127.0.0.1:$MOCK_PORT"
API="http://127.0.0.1:$API_PORT"
say "starting the mock (:$MOCK_PORT) and the API (:$API_PORT, LOG_LEVEL=$API_LOG_LEVEL, STREAMS_PER_TEAM=$STREAMS_PER_TEAM)"
start_proc mock env LOG_LEVEL=info "$BIN_DIR/saas-mock-llm" --host 127.0.0.1 --port "$MOCK_PORT"
wait_http "$MOCK_URL/health" 30 mock
start_proc api "${app_env[@]}" LOG_LEVEL="$API_LOG_LEVEL" STREAMS_PER_TEAM="$STREAMS_PER_TEAM" "$BIN_DIR/saas-api" serve
wait_http "$API/ready" 60 api
cmd "processes: .build-release/release/saas-mock-llm --host 127.0.0.1 --port $MOCK_PORT; ENVIRONMENT=development DATABASE_URL=$BENCH_DB_URL REDIS_URL=$BENCH_REDIS_URL PORT=$API_PORT LOG_LEVEL=$API_LOG_LEVEL STREAMS_PER_TEAM=$STREAMS_PER_TEAM .build-release/release/saas-api serve (run from a copy of the binaries)"

admin() {  # method path [json] → prints the body; dies unless 200
  local status
  status="$(curl -sS -o "$OUT/admin-reply.json" -w '%{http_code}' -X "$1" "$API$2" -H "X-Admin-Key: $MASTER_KEY" \
    -H 'Content-Type: application/json' ${3:+-d "$3"})"
  [[ "$status" == 200 ]] || die "admin $1 $2 answered $status: $(cat "$OUT/admin-reply.json")"
  cat "$OUT/admin-reply.json"
}
declare -A KEY_OF=()
say "set-up through the admin API: organization, provider (the mock), model group, teams"
admin POST /api/organizations/create '{"organization_id":"bench","name":"Benchmark organization"}' >/dev/null
admin POST /api/providers/create "{\"name\":\"bench-mock\",\"kind\":\"openai\",\"base_url\":\"$MOCK_URL\",\"api_key\":\"sk-mock-not-a-real-key\"}" >/dev/null
admin POST /api/model-groups/create "{\"group_name\":\"$MODEL_GROUP\",\"models\":[{\"model_name\":\"mock-gpt\",\"provider\":\"bench-mock\",\"priority\":0,\"input_price_per_million\":0.5,\"output_price_per_million\":1.5}]}" >/dev/null
for team in bench-create bench-call bench-stream; do
  KEY_OF[$team]="$(admin POST /api/teams/create "{\"organization_id\":\"bench\",\"team_id\":\"$team\",\"model_groups\":[\"$MODEL_GROUP\"],\"credits_allocated\":$CREDITS}" \
    | json_get - virtual_key)"
done
rm -f "$OUT/admin-reply.json"

coproc POLLER { exec psql "$BENCH_DB_URL" -X -q -A -t -v ON_ERROR_STOP=1; }
BACKGROUND+=("$POLLER_PID")

if ((HISTORY_JOBS > 0)); then
  say "history: $HISTORY_JOBS finished jobs of team $HISTORY_TEAM, then ANALYZE"
  admin POST /api/teams/create "{\"organization_id\":\"bench\",\"team_id\":\"$HISTORY_TEAM\",\"model_groups\":[\"$MODEL_GROUP\"],\"credits_allocated\":0}" >/dev/null
  rm -f "$OUT/admin-reply.json"
  sql history -v team="$HISTORY_TEAM" -v model="$MODEL_GROUP" -v jobs="$HISTORY_JOBS" >/dev/null
fi
cmd "history: $HISTORY_JOBS cancelled jobs of team $HISTORY_TEAM inserted with SQL, then VACUUM ANALYZE jobs (BENCH_HISTORY_JOBS; bench/sql/history.sql)"

# The next phase starts with no jobs but the history, and an empty queue.
reset_jobs() {
  sql reset-jobs -v history="$HISTORY_TEAM" >/dev/null
  rcli FLUSHDB >/dev/null
  sleep 1  # a sweep that read the jobs just before the DELETE may re-enqueue them: flush again
  rcli FLUSHDB >/dev/null
}

# After a phase: waits until the team's jobs all ended, then checks its jobs and money
# (bench/sql/calls-checks.sql) → CHECK_LINE (for the raw outputs) and CHECK (ok or MISMATCH:
# every job completed, nothing still reserved, the ledger adding up, a release per reservation).
check_team() {  # team, phase
  local jobs completed unsettled reserved ledger reservations releases holding
  wait_settled "$1" 120
  IFS='|' read -r jobs completed unsettled reserved ledger reservations releases holding <<<"$(sql calls-checks -v team="$1")"
  CHECK_LINE="jobs $jobs, completed $completed, not ended $unsettled; account still reserves $reserved; ledger adds up: $ledger; reservation rows $reservations, release rows $releases; ended jobs without a release: $holding"
  COMPLETED="$completed"
  echo "$2: $CHECK_LINE" | tee "$OUT/$2-checks.txt" >&2
  sql team-statuses -v team="$1" >"$OUT/$2-statuses.txt"
  if [[ "$completed" == "$jobs" && "$unsettled" == 0 && "$reserved" == 0 && "$ledger" == t && "$reservations" == "$releases" && "$holding" == 0 ]]; then
    CHECK=ok
  else
    CHECK=MISMATCH
  fi
}

# The wrk runs of phases 2 and 3: the same connections, threads, duration and timeout.
wrk_post() {  # label, team, lua script
  local label="$1" team="$2" script="$3"
  cpu_mark
  perf_start "$label" "$((LOAD_SECONDS - 4))"
  pg_activity_start "$label"
  { time BENCH_TEAM="$team" BENCH_KEY="${KEY_OF[$team]}" BENCH_MODEL="$MODEL_GROUP" \
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${LOAD_SECONDS}s" --timeout "$WRK_TIMEOUT" --latency -s "$script" "$API" \
    >"$OUT/wrk-$label.txt"; } 2>"$OUT/wrk-$label.time" || die "wrk $label failed"
  service_cpu_report "$label" "$(awk '{ print $1 + $2 }' "$OUT/wrk-$label.time")"
  pg_activity_finish "$label"
  perf_finish "$label"
  cmd "$label: BENCH_TEAM=$team BENCH_KEY=<key:$team> BENCH_MODEL=$MODEL_GROUP wrk -t$WRK_THREADS -c$CONNECTIONS -d${LOAD_SECONDS}s --timeout $WRK_TIMEOUT --latency -s $script $API"
  parse_wrk "$OUT/wrk-$label.txt"
}

health_rps=""
create_rps=""

# ================================================================ 1. health
if wants health; then
  wait_idle "wrk /health"
  say "1. wrk /health (${HEALTH_SECONDS}s, after a 3 s warm-up)"
  c_health="wrk -t$WRK_THREADS -c$CONNECTIONS -d${HEALTH_SECONDS}s --latency $API/health"
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s "$API/health" >/dev/null 2>&1 || true
  cpu_mark
  { time $c_health >"$OUT/wrk-health.txt"; } 2>"$OUT/wrk-health.time" || die "wrk /health failed"
  service_cpu_report health "$(awk '{ print $1 + $2 }' "$OUT/wrk-health.time")"
  parse_wrk "$OUT/wrk-health.txt"
  health_rps="$WRK_RPS"
  cmd "health (reference): $c_health"
  row "GET /health req/s (wrk c64)" "$health_rps" "" "" "" ""
  row "  p50 / p99 ms" "$WRK_P50 / $WRK_P99" "" "" "" ""
fi

# ================================================================ 2. create
if wants create; then
  reset_jobs
  mock_behaviour '{"latency_ms":0,"stream_delta_ms":0,"stream_stamp":false}'
  start_worker "$CALL_CONCURRENCY"
  wait_idle "wrk create"
  say "2. wrk POST /api/jobs/create, team bench-create, worker running (concurrency $CALL_CONCURRENCY) (${LOAD_SECONDS}s)"
  wrk_post create bench-create bench/jobs-submit.lua
  create_rps="$WRK_RPS"; create_p50="$WRK_P50"; create_p99="$WRK_P99"
  ok2xx="$(wrk_statuses "$OUT/wrk-create.txt" 200 299)"
  not2xx="$(($(wrk_statuses "$OUT/wrk-create.txt" 0 999) - ok2xx))"
  say "2. waiting for the backlog to drain"
  drain_start="$SECONDS"
  check_team bench-create create
  drained=$((SECONDS - drain_start))
  stop_worker create
  extra=$((COMPLETED - ok2xx))
  ((extra >= 0 && extra <= CONNECTIONS)) || CHECK=MISMATCH
  r="$(ratio "$create_rps" "$health_rps")"
  row "create req/s (wrk c64, 1 team)" "$create_rps" "${health_rps:-?} (/health)" "$r" "" ""
  row "  p50 / p99 ms" "$create_p50 / $create_p99" "" "" "" ""
  row "  2xx / non-2xx" "$ok2xx / $not2xx" "" "" "0 non-2xx" "$(verdict "$not2xx" "<=" 0)"
  row "  jobs settled / ledger" "$COMPLETED completed" "" "" "all, released" "$CHECK"
  row "  backlog drained after wrk, s" "$drained" "" "" "" ""
  row "  CPU us/req: API, worker, PG" "$(for g in API worker PostgreSQL; do printf '%s ' "$(us_per_request create "$g" "$WRK_REQUESTS")"; done)" "" "" "" ""
  reset_jobs
fi

# ================================================================ 3. create-and-call
if wants call; then
  mock_behaviour '{"latency_ms":0,"stream_delta_ms":0,"stream_stamp":false}'
  start_worker "$CALL_CONCURRENCY"
  wait_idle "wrk create-and-call"
  say "3. wrk POST /api/jobs/create-and-call, team bench-call, worker running (concurrency $CALL_CONCURRENCY) (${LOAD_SECONDS}s)"
  wrk_post call bench-call bench/create-and-call.lua
  call_rps="$WRK_RPS"
  ok200="$(wrk_statuses "$OUT/wrk-call.txt" 200 200)"
  answered_completed="$(awk '$1 == "completed" { print $2 }' "$OUT/wrk-call.txt")"
  not200="$(($(wrk_statuses "$OUT/wrk-call.txt" 0 999) - ok200))"
  check_team bench-call call
  stop_worker call
  extra=$((COMPLETED - answered_completed))
  ((extra >= 0 && extra <= CONNECTIONS)) || CHECK=MISMATCH
  r="$(ratio "$call_rps" "${create_rps:-0}")"
  row "create-and-call req/s (wrk c64, 1 team)" "$call_rps" "${create_rps:-?} (create)" "$r" "" ""
  row "  vs /health" "$call_rps" "${health_rps:-?} (/health)" "$(ratio "$call_rps" "${health_rps:-0}")" "" ""
  row "  p50 ms" "$WRK_P50" "${create_p50:-?} (create)" "" "" ""
  row "  p99 ms" "$WRK_P99" "${create_p99:-?} (create)" "" "" ""
  row "  200 completed / other answers" "$answered_completed / $not200" "$ok200 200s" "" "0 other" "$(verdict "$not200" "<=" 0)"
  row "  jobs settled / ledger" "$COMPLETED completed" "" "" "all, released" "$CHECK"
  row "  CPU us/req: API, worker, PG" "$(for g in API worker PostgreSQL; do printf '%s ' "$(us_per_request call "$g" "$WRK_REQUESTS")"; done)" "" "" "" ""
  reset_jobs
fi

# ================================================================ 4. streams
if wants streams; then
  mock_behaviour "{\"latency_ms\":0,\"stream_delta_ms\":$STREAM_DELTA_MS,\"stream_stamp\":true}"
  start_worker "$STREAM_CONCURRENCY"
  stream_args=(--url "$API" --team bench-stream --key "${KEY_OF[bench-stream]}" --model "$MODEL_GROUP")
  shown_args="--url $API --team bench-stream --key <key:bench-stream> --model $MODEL_GROUP"

  wait_idle "streams, one at a time"
  say "4. the reference: $REFERENCE_STREAMS streams one at a time"
  "$SAAS_BENCH" streams "${stream_args[@]}" --streams "$REFERENCE_STREAMS" --concurrency 1 \
    >"$OUT/streams-reference.json" 2>"$OUT/streams-reference.err" || die "saas-bench streams failed: $(tail -n 3 "$OUT/streams-reference.err")"
  cmd "streams (reference): saas-bench streams $shown_args --streams $REFERENCE_STREAMS --concurrency 1; mock: PUT /_mock/behaviour {\"stream_delta_ms\":$STREAM_DELTA_MS,\"stream_stamp\":true}; WORKER_CONCURRENCY=$STREAM_CONCURRENCY"
  say "4. reference: $(cat "$OUT/streams-reference.json")"

  wait_idle "$STREAMS streams"
  say "4. $STREAMS concurrent streams of team bench-stream"
  rss_sampler "$OUT/rss-streams.txt" "${PID_OF[api]}" "${PID_OF[worker]}" &
  BACKGROUND+=($!); sampler=$!
  cpu_mark
  perf_start streams 8
  "$SAAS_BENCH" streams "${stream_args[@]}" --streams "$STREAMS" >"$OUT/streams.json" 2>"$OUT/streams.err" \
    || die "saas-bench streams failed: $(tail -n 3 "$OUT/streams.err")"
  service_cpu_report streams "$(json_get "$OUT/streams.json" client_cpu_s)"
  perf_finish streams
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  api_hwm="$(vm_hwm_mib "${PID_OF[api]}")"
  cmd "streams: saas-bench streams $shown_args --streams $STREAMS (API RSS: VmRSS every 100 ms, scripts/lib/rss.sh)"
  say "4. $(cat "$OUT/streams.json")"
  api_peak="$(rss_peak "$OUT/rss-streams.txt")"
  worker_peak="$(awk '{ if ($3 > m) m = $3 } END { printf "%.1f", m / 1024 }' "$OUT/rss-streams.txt")"

  # The same streams opened over a while rather than in one burst: the first delta's way while
  # $STREAMS streams are open, without the burst of their submits, claims and upstream calls.
  # Longer streams (slower deltas), so that they still overlap (most_open says how many did).
  wait_settled bench-stream 60
  mock_behaviour "{\"latency_ms\":0,\"stream_delta_ms\":$RAMP_DELTA_MS,\"stream_stamp\":true}"
  wait_idle "$STREAMS streams, ramped"
  say "4. $STREAMS streams opened ${RAMP_MS} ms apart, deltas $RAMP_DELTA_MS ms apart"
  "$SAAS_BENCH" streams "${stream_args[@]}" --streams "$STREAMS" --ramp-ms "$RAMP_MS" >"$OUT/streams-ramped.json" 2>"$OUT/streams-ramped.err" \
    || die "saas-bench streams failed: $(tail -n 3 "$OUT/streams-ramped.err")"
  cmd "streams (ramped): saas-bench streams $shown_args --streams $STREAMS --ramp-ms $RAMP_MS; mock: PUT /_mock/behaviour {\"stream_delta_ms\":$RAMP_DELTA_MS,\"stream_stamp\":true}"
  say "4. $(cat "$OUT/streams-ramped.json")"
  check_team bench-stream streams
  stop_worker streams

  s() { json_get "$OUT/streams.json" "$1"; }
  ref() { json_get "$OUT/streams-reference.json" "$1"; }
  ms() { awk -v v="$1" 'BEGIN { if (v == "") print "?"; else printf "%.2f", v / 1000 }'; }  # µs → ms
  p50="$(ms "$(s first_delta_us_p50)")"; p99="$(ms "$(s first_delta_us_p99)")"
  ref50="$(ms "$(ref first_delta_us_p50)")"; ref99="$(ms "$(ref first_delta_us_p99)")"
  completed="$(s completed)"
  errors="$(python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["errors"]; print(", ".join(f"{k} {v}" for k, v in e.items()) or "none")' "$OUT/streams.json")"
  row "first delta → client p50 ms ($STREAMS at once)" "$p50" "$ref50 (1 at a time)" "$(ratio "$p50" "$ref50")" "" ""
  row "first delta → client p99 ms" "$p99" "$ref99 (1 at a time)" "$(ratio "$p99" "$ref99")" "<= 5" "$(verdict "$p99" "<=" 5)"
  row "  p90 / max ms" "$(ms "$(s first_delta_us_p90)") / $(ms "$(s first_delta_us_max)")" "" "" "" ""
  row "  mock→Redis / Redis→client p50 ms" "$(s to_redis_ms_p50) / $(s from_redis_ms_p50)" "$(ref to_redis_ms_p50) / $(ref from_redis_ms_p50) (1 at a time)" "" "" ""
  row "  mock→Redis / Redis→client p99 ms" "$(s to_redis_ms_p99) / $(s from_redis_ms_p99)" "$(ref to_redis_ms_p99) / $(ref from_redis_ms_p99) (1 at a time)" "" "" ""
  row "  streams done / errors" "$completed / $STREAMS" "$errors" "" "$STREAMS, none" "$([[ "$completed" == "$STREAMS" ]] && echo ok || echo MISMATCH)"
  row "  streams open at once (most)" "$(s most_open)" "" "" "" ""
  row "  deltas per stream" "$(awk -v d="$(s deltas)" -v n="$STREAMS" 'BEGIN { printf "%.1f", d / n }')" "$STREAM_DELTA_MS ms apart" "" "" ""
  row "  request → first delta p50 / p99 ms" "$(s first_event_ms_p50) / $(s first_event_ms_p99)" "$(ref first_event_ms_p50) / $(ref first_event_ms_p99) (1 at a time)" "" "" ""
  row "  request → done p50 / p99 ms" "$(s done_ms_p50) / $(s done_ms_p99)" "$(ref done_ms_p50) / $(ref done_ms_p99) (1 at a time)" "" "" ""
  row "  API peak RSS MiB (100 ms)" "$api_peak" "VmHWM $api_hwm (lifetime)" "" "<= 150" "$(verdict "$api_peak" "<=" 150)"
  row "  worker peak RSS MiB (100 ms)" "$worker_peak" "" "" "" ""
  ramped() { json_get "$OUT/streams-ramped.json" "$1"; }
  r99="$(ms "$(ramped first_delta_us_p99)")"
  row "ramped: first delta p50 / p99 ms" "$(ms "$(ramped first_delta_us_p50)") / $r99" "$ref50 / $ref99 (1 at a time)" "$(ratio "$r99" "$ref99")" "p99 <= 5" "$(verdict "$r99" "<=" 5)"
  row "  ($STREAMS opened ${RAMP_MS} ms apart, deltas ${RAMP_DELTA_MS} ms)" "" "" "" "" ""
  row "  streams done / open at once (most)" "$(ramped completed) / $(ramped most_open)" "$(python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["errors"]; print(", ".join(f"{k} {v}" for k, v in e.items()) or "no errors")' "$OUT/streams-ramped.json")" "" "$STREAMS" "$([[ "$(ramped completed)" == "$STREAMS" ]] && echo ok || echo MISMATCH)"
  row "  mock→Redis / Redis→client p50 ms" "$(ramped to_redis_ms_p50) / $(ramped from_redis_ms_p50)" "" "" "" ""
  row "  mock→Redis / Redis→client p99 ms" "$(ramped to_redis_ms_p99) / $(ramped from_redis_ms_p99)" "" "" "" ""
  row "  request → first delta p50 / p99 ms" "$(ramped first_event_ms_p50) / $(ramped first_event_ms_p99)" "" "" "" ""
  row "  jobs settled / ledger (both runs)" "$COMPLETED completed" "" "" "all, released" "$CHECK"
fi

# ---------------------------------------------------------------- table
{
  table_print '%-44s %18s %30s %6s  %-14s %s\n' "figure" "value" "reference" "ratio" "bar" "verdict"
  echo "($(nproc) cores; built from $SOURCE_STATE; API LOG_LEVEL=$API_LOG_LEVEL; wrk -t$WRK_THREADS -c$CONNECTIONS; raw outputs in ${OUT#"$REPO"/})"
  for f in health create call streams; do [[ -s "$OUT/cpu-$f.txt" ]] && echo "CPU during $f: $(cat "$OUT/cpu-$f.txt")"; done
  for n in "${NOTES[@]}"; do echo "$n"; done
  [[ -s "$OUT/warnings.txt" ]] && sed 's/^/warning: /' "$OUT/warnings.txt"
  echo
  echo "commands:"
  sed 's/^/  /' "$COMMANDS"
  true
} | tee "$OUT/table.txt"
