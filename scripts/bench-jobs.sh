#!/usr/bin/env bash
# scripts/bench-jobs.sh — the job service against SYSTEM.md's bars (issues 3, 4 and 13), with the
# references (wrk on /health, pgbench of the same SQL) measured in the SAME run on this machine.
#
# Runs its own release build of saas-api, saas-worker, saas-mock-llm and saas-bench (the load
# client and the CPU accounting) (all on loopback: API
# :8103, mock :8190), on a PostgreSQL database of its own (saas_bench, dropped and made afresh at
# every run; the processes migrate it) and Redis db 5 (flushed) — never the tests' (saas_test,
# saas_e2e, db 1/3) nor development's (saas, db 0). Set-up goes through the admin API, the way
# scripts/demo-setup.sh does it: one organization, the mock as an `openai` provider, one model
# group, one team per phase (credits: 10,000,000 each).
#
#   1. read     wrk -t2 -c64 -d15s --latency GET /api/credits/teams/{id}/balance (Bearer key)
#               beside the same wrk on GET /health                        bar: ratio >= 0.8
#   2. submit   wrk -t2 -c64 -d20s --latency -s bench/jobs-submit.lua (POST /api/jobs/create, one
#               team, no worker running: jobs just queue); every 2xx checked against the rows in
#               PostgreSQL (and the ledger and the Redis queue); beside it pgbench of the same
#               submit SQL one job per transaction (bench/jobs-submit.sql, -c 64 -j 2 -T 20
#               -M prepared)                                   bar: >= 6,000 req/s, p99 <= 30 ms
#   3. e2e      one worker (WORKER_CONCURRENCY=256) running, mock at 0 ms; 20,000 jobs of one team
#               submitted by `saas-bench jobs` (Sources/Bench: async-http-client, 64 keep-alive
#               connections); jobs/s from the first submit to the last settlement (PostgreSQL's
#               completed_at), p50/p99 of completed_at - created_at, Redis round trips per job
#               from the worker's own counter (its last log line at SIGTERM); beside it pgbench of
#               submit + settlement SQL, one job per transaction each (bench/jobs-submit.sql then
#               bench/jobs-settle.sql in one script: tps = jobs/s). Per job, over the phase: WAL
#               bytes (pg_current_wal_lsn before and after), PostgreSQL transactions of the
#               bench database (pg_stat_database, read 2 s after the last settlement so the
#               backends' counters are flushed; the settle poller's own ~10/s are in it), Redis
#               commands (INFO stats total_commands_processed; the whole Redis server), and the
#               mean PostgreSQL transaction time by kind — BEGIN to COMMIT, which is how long a
#               submit or settlement batch holds the team's account row — from the API's and the
#               worker's /metrics (saas_postgres_transaction_duration_seconds, sum/count deltas)
#                                                    bar: >= 2,500 jobs/s, <= 3 round trips/job
#   4. slow     mock at latency_ms 1000; 20,000 jobs queued with no worker; then ONE worker with
#               WORKER_CONCURRENCY=5000: seconds from its start to the last settlement, peak RSS
#               of the API and the worker meanwhile (VmRSS sampled every 100 ms, and VmHWM), the
#               mock's max_in_flight
#                               bar: <= 6 s (floor 4 s), worker <= 300 MiB, API <= 150 MiB
#
# The SQL it runs is in bench/ (pgbench scripts, tables) and bench/sql/ (set-up, checks,
# diagnostics); its helpers in scripts/lib/. This file is the order of things.
#
# Prints a table on stdout (figure, value, reference, ratio, bar, verdict); under it the CPU each
# process used during each measurement (from /proc: the API, the worker, our PostgreSQL and Redis,
# the mock, the load generator, and whatever else ran on the machine — a warning when that was
# more than 15%), diagnostics (PostgreSQL transactions per phase and jobs per transaction, where a
# job's time went, the slow phase's claims and settlements per half second), and the exact command
# behind each figure (team keys shown as <key:team>). Progress goes to stderr; every raw output
# (wrk, pgbench, client JSON, process logs, RSS samples, SQL checks) is kept in
# bench-results/jobs-<time>/ (git-ignored).
# These are measurements, not tests: the script fails only when a tool or a process fails, never
# on a bar.
#
# Environment (defaults in brackets):
#   BENCH_SKIP_BUILD     1 = use the binaries already in .build-release                [0]
#   BENCH_BUILD_DIR      take the binaries from this folder instead (implies no build):
#                        an earlier commit's, to compare two builds in one session    []
#   BENCH_KEEP_BIN       1 = keep the run's copy of the binaries (results folder, bin/) [0]
#   BENCH_API_LOG_LEVEL  the API's LOG_LEVEL (its access log: every refusal at info, one success in ACCESS_LOG_SAMPLE=100) [info]
#   BENCH_E2E_JOBS       jobs of phase 3                                               [20000]
#   BENCH_SLOW_JOBS      jobs of phase 4                                              [20000]
#   BENCH_SLOW_CONCURRENCY  the slow phase's WORKER_CONCURRENCY                        [5000]
#   BENCH_WORKERS        worker processes in the e2e phase (each WORKER_CONCURRENCY=256, its
#                        metrics on 8191, 8192, …)                                     [1]
#   BENCH_APIS           API processes in the e2e phase, a port each (8103, 8104, …); the
#                        jobs are split evenly between one `saas-bench jobs` per API, each
#                        with 64/N connections, run at once; their figures merged      [1]
#                        (scripts/bench-scaling.sh runs the e2e phase over both)
#   BENCH_ONLY           comma-separated subset of read,submit,nul,e2e,slow            [all]
#                        (nul: right after submit's clean run, then a clean run again; the same wrk with 1 request
#                        in 100 carrying U+0000, which must be 422s that slow nothing down)
#   BENCH_HISTORY_JOBS   finished jobs of another team put in the jobs table before measuring,
#                        then ANALYZE: a service that has run for a while has them, and its
#                        planner statistics say so (0 = measure on an empty table)   [100000]
#   BENCH_PROFILE        1 = `perf record -a -e cpu-clock -g` during the balance, submit and
#                        e2e runs (per-process and per-symbol reports), and PostgreSQL's
#                        sessions sampled every 20 ms during submit and e2e (state, wait
#                        event, statement: pg-activity-*.txt)                          [0]
#   BENCH_WORKER_ENV     extra VAR=value words for every worker process, e.g. an allocator
#                        setting or a heap profiler's LD_PRELOAD (see docs/SCALING.md)   []
#   BENCH_IDLE_MAX       CPU busy % above which a measurement waits for the machine to
#                        calm down (other builds, tests) before it starts             [25]
#   BENCH_IDLE_WAIT      seconds to wait for that at most, then measure anyway        [60]
# Whole run: about 5 minutes after the build (which is ~10 minutes the first time on 2 cores).
# BENCH_SKIP_BUILD=1 still builds what is missing (e.g. only saas-bench: `swift build -c release
# --scratch-path .build-release --product saas-bench`).
# Everything — the load generators, the API, the worker, the mock, PostgreSQL and Redis — shares
# the machine's cores, as the bars say; the script waits (bounded) for an idle CPU before each
# measurement, but cannot stop someone else's build from starting in the middle of one: read the
# warnings under the table before reading the figures.
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
PG_THREADS=2
READ_SECONDS=15
SUBMIT_SECONDS=20
E2E_JOBS="${BENCH_E2E_JOBS:-20000}"
E2E_CONCURRENCY=256
E2E_WORKERS="${BENCH_WORKERS:-1}"
E2E_APIS="${BENCH_APIS:-1}"
SLOW_JOBS="${BENCH_SLOW_JOBS:-20000}"
SLOW_CONCURRENCY="${BENCH_SLOW_CONCURRENCY:-5000}"
SLOW_LATENCY_MS=1000
HISTORY_JOBS="${BENCH_HISTORY_JOBS:-100000}"
HISTORY_TEAM=bench-history
CREDITS=10000000
MODEL_GROUP=bench
API_LOG_LEVEL="${BENCH_API_LOG_LEVEL:-info}"
ONLY="${BENCH_ONLY:-read,submit,nul,e2e,slow}"
PROFILE="${BENCH_PROFILE:-0}"
IDLE_MAX="${BENCH_IDLE_MAX:-25}"
IDLE_WAIT="${BENCH_IDLE_WAIT:-60}"
PRODUCTS=(saas-api saas-worker saas-mock-llm saas-bench)
TIMEFORMAT='%U %S'  # `time` prints the load generator's user and system CPU seconds

wants() { [[ ",$ONLY," == *",$1,"* ]]; }

require_tools wrk pgbench psql redis-cli python3 curl swift awk ss
if [[ "$PROFILE" == 1 ]]; then require_tools perf; fi

# ---------------------------------------------------------------- services, ports
say "starting services"
bench_services
BENCH_DB_URL="$(database_url "$DB_NAME")"
BENCH_REDIS_URL="$(redis_url "$REDIS_DB")"
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" "$@"; }
sql() { sql_file "$BENCH_DB_URL" "$@"; }  # name (bench/sql/NAME.sql), -v var=value...

# shellcheck disable=SC2046
bench_check_ports "$MOCK_PORT" $(seq "$API_PORT" $((API_PORT + E2E_APIS - 1))) \
  $(seq "$WORKER_METRICS_PORT" $((WORKER_METRICS_PORT + E2E_WORKERS - 1)))

# ---------------------------------------------------------------- build
bench_binaries "${PRODUCTS[@]}"

results_dir jobs
say "raw outputs in $OUT"
# The run uses a copy of the binaries (see bench_copy_binaries), deleted at the end
# (BENCH_KEEP_BIN=1 keeps it).
bench_copy_binaries "${PRODUCTS[@]}"
SAAS_BENCH="$BIN_DIR/saas-bench"
COMMANDS="$OUT/commands.txt"
: >"$COMMANDS"
cmd() { echo "$1" >>"$COMMANDS"; }
NOTES=() # diagnostics printed under the table
note() { NOTES+=("$1"); }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_everything "${WORKER_NAMES[@]}" "${API_NAMES[@]}" mock
  if [[ "${BENCH_KEEP_BIN:-0}" != 1 && -n "${BIN_DIR:-}" ]]; then rm -rf "$BIN_DIR"; fi
  # The API logs every request (hundreds of MB a run): keep the logs, compressed.
  if [[ -n "${OUT:-}" ]]; then gzip -f "$OUT/api.log" "$OUT/mock.log" 2>/dev/null || true; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the service's processes
app_env=(env ENVIRONMENT=development DATABASE_URL="$BENCH_DB_URL" REDIS_URL="$BENCH_REDIS_URL"
  MASTER_KEY="$MASTER_KEY" HOST=127.0.0.1 PORT="$API_PORT" WORKER_METRICS_PORT="$WORKER_METRICS_PORT")

start_api() {
  start_proc api "${app_env[@]}" LOG_LEVEL="$API_LOG_LEVEL" "$BIN_DIR/saas-api" serve
  wait_http "http://127.0.0.1:$API_PORT/ready" 60 api
}

start_worker() {  # concurrency, [name], [metrics port]
  local extra=()
  read -r -a extra <<<"${BENCH_WORKER_ENV:-}"
  start_proc "${2:-worker}" "${app_env[@]}" LOG_LEVEL=info WORKER_CONCURRENCY="$1" \
    WORKER_METRICS_PORT="${3:-$WORKER_METRICS_PORT}" "${extra[@]}" "$BIN_DIR/saas-worker"
}

# The e2e phase's extra processes (BENCH_WORKERS, BENCH_APIS): worker2…, api2… beside the first.
WORKER_NAMES=(worker)
API_NAMES=(api)
for ((i = 2; i <= E2E_WORKERS; i++)); do WORKER_NAMES+=("worker$i"); done
for ((i = 2; i <= E2E_APIS; i++)); do API_NAMES+=("api$i"); done
pids_of() { local name; for name in "$@"; do [[ -n "${PID_OF[$name]:-}" ]] && echo "${PID_OF[$name]}"; done | paste -sd, -; }

start_more_apis() {
  local i
  for ((i = 2; i <= E2E_APIS; i++)); do
    start_proc "api$i" "${app_env[@]}" PORT=$((API_PORT + i - 1)) LOG_LEVEL="$API_LOG_LEVEL" "$BIN_DIR/saas-api" serve
    wait_http "http://127.0.0.1:$((API_PORT + i - 1))/ready" 60 "api$i"
  done
}

# Stops every e2e worker and sums their counts into JOBS_RUN, ROUND_TRIPS and PER_JOB.
stop_workers_and_count() {  # phase
  local jobs=0 trips=0 i
  for ((i = 2; i <= E2E_WORKERS; i++)); do
    stop_worker_and_count "$1-worker$i" "worker$i"
    jobs=$((jobs + ${JOBS_RUN:-0})); trips=$((trips + ${ROUND_TRIPS:-0}))
  done
  stop_worker_and_count "$1"
  JOBS_RUN=$((jobs + ${JOBS_RUN:-0})); ROUND_TRIPS=$((trips + ${ROUND_TRIPS:-0}))
  PER_JOB="$(awk -v m="$ROUND_TRIPS" -v n="$JOBS_RUN" 'BEGIN { if (n == 0) print "?"; else printf "%.2f", m / n }')"
}

# Stops the worker with SIGTERM and reads its last line: "worker stopped … jobs_run=N
# redis_round_trips=M" → sets JOBS_RUN, ROUND_TRIPS (empty when the line is missing) and PER_JOB
# (round trips per job, "?" when unknown); its log becomes worker-PHASE.log.
stop_worker_and_count() {  # phase, [name]
  local line name="${2:-worker}"
  stop_proc "$name" 60
  mv "$OUT/$name.log" "$OUT/worker-$1.log"
  line="$(grep 'worker stopped' "$OUT/worker-$1.log" | tail -n 1 || true)"
  JOBS_RUN="$(sed -n 's/.*jobs_run=\([0-9]*\).*/\1/p' <<<"$line")"
  ROUND_TRIPS="$(sed -n 's/.*redis_round_trips=\([0-9]*\).*/\1/p' <<<"$line")"
  [[ -n "$line" ]] || say "warning: the worker printed no 'worker stopped' line (see $OUT/worker-$1.log)"
  PER_JOB="$(awk -v m="${ROUND_TRIPS:-}" -v n="${JOBS_RUN:-0}" 'BEGIN { if (m == "" || n == 0) print "?"; else printf "%.2f", m / n }')"
}

# The CPU groups of a measurement: the service's processes, our PostgreSQL and Redis, the mock.
service_cpu_report() {  # label, CPU seconds of the load generator
  cpu_report "$1" "${2:-0}" "API=$(pids_of "${API_NAMES[@]}")" "worker=$(pids_of "${WORKER_NAMES[@]}")" "PostgreSQL=$(our_postgres_pids)" \
    "Redis=$(our_redis_pid)" "mock=${PID_OF[mock]:-}"
}

# `saas-bench jobs`: N jobs of one team over the keep-alive connections, one JSON line → FILE.
submit_jobs() {  # n, team, output file, [url], [connections]
  "$SAAS_BENCH" jobs --url "${4:-$API}" --jobs "$1" --connections "${5:-$CONNECTIONS}" --team "$2" --key "${KEY_OF[$2]}" \
    --model "$MODEL_GROUP" >"$3" 2>"${3%.json}.err" || die "saas-bench jobs failed: $(tail -n 3 "${3%.json}.err")"
}

# The e2e phase's submits: one `saas-bench jobs` per API process, at once, the jobs and the
# connections split evenly; their JSON lines merged into one (sums, the earliest send, the
# latest answer, the worst percentiles).
submit_jobs_split() {  # n, team, output file
  local i pids=() files=() share
  if ((E2E_APIS == 1)); then submit_jobs "$@"; return; fi
  for ((i = 1; i <= E2E_APIS; i++)); do
    share=$(($1 / E2E_APIS + (i == 1 ? $1 % E2E_APIS : 0)))
    submit_jobs "$share" "$2" "${3%.json}-$i.json" "http://127.0.0.1:$((API_PORT + i - 1))" $((CONNECTIONS / E2E_APIS)) &
    pids+=($!); files+=("${3%.json}-$i.json")
  done
  for i in "${pids[@]}"; do wait "$i" || die "a saas-bench jobs run failed"; done
  python3 - "${files[@]}" >"$3" <<'PY'
import json, sys
runs = [json.load(open(f)) for f in sys.argv[1:]]
first = min(r["first_send"] for r in runs); last = max(r["last_answer"] for r in runs)
ops = sum(r["ops"] for r in runs)
print(json.dumps({"bench": "jobs", "op": "submit", "runs": len(runs), "clients": sum(r["clients"] for r in runs),
    "ops": ops, "seconds": round(last - first, 3), "ops_per_sec": round(ops / (last - first), 1),
    "succeeded": sum(r["succeeded"] for r in runs), "errors": sum(r["errors"] for r in runs),
    "first_send": first, "last_answer": last, "p50_ms": max(r["p50_ms"] for r in runs),
    "p99_ms": max(r["p99_ms"] for r in runs), "client_cpu_s": round(sum(r["client_cpu_s"] for r in runs), 2)}))
PY
}

# Per-job costs of a phase: WAL bytes, PostgreSQL transactions of the bench database, Redis
# commands, and the mean transaction time (BEGIN → COMMIT) of the submit and settle kinds from
# the API's and the worker's /metrics. counters_mark takes the "before" figures;
# counters_since N prints two lines: "WAL PGtx Redis" per job, then "submit_ms, settle_ms".
pg_value() { psql "$BENCH_DB_URL" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
redis_commands() { rcli INFO stats | tr -d '\r' | sed -n 's/^total_commands_processed://p'; }
tx_seconds() {  # kind → "sum count" over the API's and the worker's /metrics (0 0 when absent)
  local port
  for port in $(seq "$API_PORT" $((API_PORT + E2E_APIS - 1))) $(seq "$WORKER_METRICS_PORT" $((WORKER_METRICS_PORT + E2E_WORKERS - 1))); do
    curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null || true
  done \
    | awk -v k="kind=\"$1\"" '
        /^saas_postgres_transaction_duration_seconds_sum/ && index($0, k) { s += $NF }
        /^saas_postgres_transaction_duration_seconds_count/ && index($0, k) { c += $NF }
        END { printf "%.6f %d\n", s, c }'
}
statements() {  # statements run in the bench database so far (BEGIN and COMMIT count), or "?"
  if ((STATEMENTS_READY)); then
    pg_value "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
  else
    echo "?"
  fi
}
counters_mark() {
  MARK_STMT="$(statements)"
  MARK_WAL="$(pg_value "SELECT pg_current_wal_lsn()")"
  MARK_TX="$(pg_value "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")"
  MARK_REDIS="$(redis_commands)"
  MARK_SUBMIT="$(tx_seconds submit)"
  MARK_SETTLE="$(tx_seconds settle)"
}
counters_since() {  # jobs
  local wal tx redis stmt
  wal="$(pg_value "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$MARK_WAL')")"
  tx="$(pg_value "SELECT xact_commit + xact_rollback - $MARK_TX FROM pg_stat_database WHERE datname = current_database()")"
  redis="$(($(redis_commands) - MARK_REDIS))"
  stmt="$(statements)"
  [[ "$stmt" == "?" || "$MARK_STMT" == "?" ]] && stmt=-1 || stmt=$((stmt - MARK_STMT))
  awk -v n="$1" -v w="$wal" -v t="$tx" -v r="$redis" -v s="$stmt" 'BEGIN {
    if (n > 0) printf "%.0f %.2f %.2f %s\n", w / n, t / n, r / n, (s >= 0) ? sprintf("%.2f", s / n) : "?"; else print "? ? ? ?" }'
  awk -v a="$MARK_SUBMIT" -v b="$(tx_seconds submit)" -v c="$MARK_SETTLE" -v d="$(tx_seconds settle)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); split(c, u, " "); split(d, v, " ")
    ns = y[2] - x[2]; nt = v[2] - u[2]
    printf "%s, %s\n", (ns > 0) ? sprintf("%.2f", 1000 * (y[1] - x[1]) / ns) : "?", (nt > 0) ? sprintf("%.2f", 1000 * (v[1] - u[1]) / nt) : "?" }'
}

# Diagnostics of a team's jobs (bench/sql/): PostgreSQL transactions per step, where a job's time
# went, and jobs per half second by a timestamp since a moment.
batches() { sql batches -v team="$1"; }  # team
stages() { sql stages -v team="$1"; }  # team
timeline() { sql timeline -v team="$1" -v column="$2" -v start="$3"; }  # team, column, epoch s

# ---------------------------------------------------------------- fresh database, Redis db, processes
say "fresh database $DB_NAME and Redis db $REDIS_DB"
# DROP … WITH (FORCE) refuses while an autovacuum worker (no role of ours) is in the database,
# as after the previous run's writes: it is done in a moment, so try again.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  sql_file "$DATABASE_URL" fresh-database -v db="$DB_NAME" >/dev/null 2>"$OUT/fresh-database.err" && break
  ((attempt < 10)) || die "could not make $DB_NAME afresh: $(cat "$OUT/fresh-database.err")"
  sleep 2
done
rcli FLUSHDB >/dev/null
STATEMENTS_READY=0
if pg_stat_statements_ready "$DB_NAME"; then
  STATEMENTS_READY=1
else
  say "warning: pg_stat_statements is not preloaded (a server started before issue 13's scripts/services.sh): statements per job are '?'"
fi

MOCK_URL="http://127.0.0.1:$MOCK_PORT"
API="http://127.0.0.1:$API_PORT"
say "starting the mock (:$MOCK_PORT) and the API (:$API_PORT, LOG_LEVEL=$API_LOG_LEVEL)"
start_proc mock env LOG_LEVEL=info "$BIN_DIR/saas-mock-llm" --host 127.0.0.1 --port "$MOCK_PORT"
wait_http "$MOCK_URL/health" 30 mock
start_api
cmd "processes: .build-release/release/saas-mock-llm --host 127.0.0.1 --port $MOCK_PORT; ENVIRONMENT=development DATABASE_URL=$BENCH_DB_URL REDIS_URL=$BENCH_REDIS_URL PORT=$API_PORT LOG_LEVEL=$API_LOG_LEVEL .build-release/release/saas-api serve (run from a copy of the binaries)"

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
for team in bench-read bench-submit bench-e2e bench-slow; do
  KEY_OF[$team]="$(admin POST /api/teams/create "{\"organization_id\":\"bench\",\"team_id\":\"$team\",\"model_groups\":[\"$MODEL_GROUP\"],\"credits_allocated\":$CREDITS}" \
    | json_get - virtual_key)"
done
rm -f "$OUT/admin-reply.json"

# One job through the API: what it reserves (pgbench's reservations are the same) and a warm path.
probe="$(curl -sS -X POST "$API/api/jobs/create" -H "Authorization: Bearer ${KEY_OF[bench-read]}" -H 'Content-Type: application/json' \
  -d "{\"team_id\":\"bench-read\",\"job_type\":\"chat\",\"model\":\"$MODEL_GROUP\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}")"
RESERVE="$(json_get - credits_reserved <<<"$probe" 2>/dev/null)" || die "the probe submit failed: $probe"
say "one job reserves $RESERVE credit(s)"

# Waiting for settlements polls PostgreSQL through ONE long-lived psql (a coprocess), not a psql
# per poll: forking psql and a backend five times a second would take CPU from what is measured.
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

pgbench_tables() {
  PGOPTIONS="-c client_min_messages=warning" psql "$BENCH_DB_URL" -X -q -v ON_ERROR_STOP=1 -v team=pgbench-team \
    -v credits=1000000000000 -f bench/jobs-tables.sql >/dev/null
}
PGBENCH_ARGS=(-n -c "$CONNECTIONS" -j "$PG_THREADS" -T "$SUBMIT_SECONDS" -M prepared -D team=pgbench-team -D "model=$MODEL_GROUP" -D "reserve=$RESERVE")
PGBENCH_SHOWN="pgbench ${PGBENCH_ARGS[*]}"

# ================================================================ 1. read
if wants read; then
  wait_idle "wrk /health"
  say "1. wrk /health (${READ_SECONDS}s, after a 3 s warm-up)"
  c_health="wrk -t$WRK_THREADS -c$CONNECTIONS -d${READ_SECONDS}s --latency $API/health"
  # Warm-ups, not measured: connections, prepared statements and caches exist before the clock runs.
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s "$API/health" >/dev/null 2>&1 || true
  cpu_mark
  { time $c_health >"$OUT/wrk-health.txt"; } 2>"$OUT/wrk-health.time" || die "wrk /health failed"
  service_cpu_report health "$(awk '{ print $1 + $2 }' "$OUT/wrk-health.time")"
  parse_wrk "$OUT/wrk-health.txt"
  health_rps="$WRK_RPS"; health_p99="$WRK_P99"; health_n="$WRK_REQUESTS"
  cmd "read (reference): $c_health"

  wait_idle "wrk balance"
  say "1. wrk GET /api/credits/teams/bench-read/balance (${READ_SECONDS}s)"
  url="$API/api/credits/teams/bench-read/balance"
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s -H "Authorization: Bearer ${KEY_OF[bench-read]}" "$url" >/dev/null 2>&1 || true
  cpu_mark
  perf_start balance "$((READ_SECONDS - 4))"
  { time wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${READ_SECONDS}s" --latency -H "Authorization: Bearer ${KEY_OF[bench-read]}" "$url" \
    >"$OUT/wrk-balance.txt"; } 2>"$OUT/wrk-balance.time" || die "wrk balance failed"
  service_cpu_report balance "$(awk '{ print $1 + $2 }' "$OUT/wrk-balance.time")"
  perf_finish balance
  cmd "read: wrk -t$WRK_THREADS -c$CONNECTIONS -d${READ_SECONDS}s --latency -H 'Authorization: Bearer <key:bench-read>' $url"
  parse_wrk "$OUT/wrk-balance.txt"
  ((WRK_NON2XX == 0)) || say "warning: $WRK_NON2XX non-2xx answers to the balance reads"
  r="$(ratio "$WRK_RPS" "$health_rps")"
  row "GET balance req/s (wrk c64)" "$WRK_RPS" "$health_rps (/health)" "$r" ">= 0.8 x /health" "$(verdict "$r" ">=" 0.8)"
  row "GET balance p99 ms" "$WRK_P99" "$health_p99 (/health)" "" "" ""
  # CPU per request does not depend on what else ran meanwhile as much as req/s does.
  api_us="$(us_per_request balance API "$WRK_REQUESTS")"; health_us="$(us_per_request health API "$health_n")"
  pg_us="$(us_per_request balance PostgreSQL "$WRK_REQUESTS")"
  row "GET balance CPU us/req: API (+PG)" "$api_us (+$pg_us)" "$health_us (/health)" "$(ratio "$health_us" "$((api_us + pg_us))")" "" ""
  [[ "$WRK_NON2XX" == 0 ]] || row "GET balance non-2xx" "$WRK_NON2XX" "" "" "0" "$(verdict "$WRK_NON2XX" "<=" 0)"
fi

# ================================================================ 2. submit
if wants submit; then
  wait_idle "wrk submit"
  say "2. wrk POST /api/jobs/create, team bench-submit, no worker (${SUBMIT_SECONDS}s)"
  before="$(sql team-jobs -v team=bench-submit)"
  cpu_mark
  perf_start submit "$((SUBMIT_SECONDS - 4))"
  pg_activity_start submit
  { time BENCH_TEAM=bench-submit BENCH_KEY="${KEY_OF[bench-submit]}" BENCH_MODEL="$MODEL_GROUP" \
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${SUBMIT_SECONDS}s" --latency -s bench/jobs-submit.lua "$API" \
    >"$OUT/wrk-submit.txt" ; } 2>"$OUT/wrk-submit.time" || die "wrk submit failed"
  service_cpu_report submit "$(awk '{ print $1 + $2 }' "$OUT/wrk-submit.time")"
  pg_activity_finish submit
  perf_finish submit
  cmd "submit: BENCH_TEAM=bench-submit BENCH_KEY=<key:bench-submit> BENCH_MODEL=$MODEL_GROUP wrk -t$WRK_THREADS -c$CONNECTIONS -d${SUBMIT_SECONDS}s --latency -s bench/jobs-submit.lua $API"
  parse_wrk "$OUT/wrk-submit.txt"
  submit_rps="$WRK_RPS"
  ok2xx="$(wrk_statuses "$OUT/wrk-submit.txt" 200 299)"
  not2xx="$(($(wrk_statuses "$OUT/wrk-submit.txt" 0 999) - ok2xx))"
  sleep 2  # requests still in flight when wrk stopped finish on the server
  rows="$(( $(sql team-jobs -v team=bench-submit) - before ))"
  queued_redis="$(rcli ZCARD "{q}:ready:bench-submit")"
  ledger_ok="$(sql submit-checks -v team=bench-submit)"
  {
    echo "wrk 2xx answers: $ok2xx, non-2xx: $not2xx, socket errors: ${WRK_ERRORS:-none}"
    echo "job rows created: $rows (rows - 2xx = $((rows - ok2xx)): requests in flight when wrk stopped, at most $CONNECTIONS)"
    echo "jobs in the Redis queue: $queued_redis; ledger adds up and one reservation row per job: $ledger_ok"
  } | tee "$OUT/submit-checks.txt" >&2
  extra=$((rows - ok2xx))
  if ((extra >= 0 && extra <= CONNECTIONS)) && [[ "$ledger_ok" == t && "$queued_redis" == "$rows" ]]; then check=ok; else check=MISMATCH; fi
  row "submit req/s (wrk c64, 1 team)" "$submit_rps" "" "" ">= 6000" "$(verdict "$submit_rps" ">=" 6000)"
  row "submit p50 ms" "$WRK_P50" "" "" "" ""
  row "submit p99 ms" "$WRK_P99" "" "" "<= 30" "$(verdict "$WRK_P99" "<=" 30)"
  row "submit CPU us/req: API, PostgreSQL" "$(us_per_request submit API "$WRK_REQUESTS"), $(us_per_request submit PostgreSQL "$WRK_REQUESTS")" "" "" "" ""
  row "submit 2xx / job rows / queued" "$ok2xx / $rows / $queued_redis" "" "" "rows-2xx in 0..$CONNECTIONS" "$check"
  row "submit non-2xx" "$not2xx" "" "" "0" "$(verdict "$not2xx" "<=" 0)"
  note "submit: PostgreSQL transactions: $(batches bench-submit)"

  if wants nul; then
    # The same load with 1 request in 100 carrying U+0000: each must be a 422 at the door, and
    # the other 99 must go as fast as clean submits (issue 8: ratio >= 0.9). Every run adds
    # ~40k jobs to the table, and a later run meets a bigger table and more WAL: so the mixed run
    # is bracketed by the clean run before it and another clean run after it, and compared with
    # their mean — the drift cancels out instead of counting against the mixed run.
    wait_idle "wrk submit with U+0000"
    say "2b. wrk POST /api/jobs/create, 1 % of requests with U+0000 (${SUBMIT_SECONDS}s)"
    BENCH_NUL_EVERY=100 BENCH_TEAM=bench-submit BENCH_KEY="${KEY_OF[bench-submit]}" BENCH_MODEL="$MODEL_GROUP" \
      wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${SUBMIT_SECONDS}s" --latency -s bench/jobs-submit.lua "$API" \
      >"$OUT/wrk-submit-nul.txt" || die "wrk submit with U+0000 failed"
    cmd "submit-nul: BENCH_NUL_EVERY=100 BENCH_TEAM=bench-submit BENCH_KEY=<key:bench-submit> BENCH_MODEL=$MODEL_GROUP wrk -t$WRK_THREADS -c$CONNECTIONS -d${SUBMIT_SECONDS}s --latency -s bench/jobs-submit.lua $API"
    parse_wrk "$OUT/wrk-submit-nul.txt"
    nul_rps="$WRK_RPS"
    nul_p99="$WRK_P99"
    nul_422="$(wrk_statuses "$OUT/wrk-submit-nul.txt" 422 422)"
    nul_other="$(($(wrk_statuses "$OUT/wrk-submit-nul.txt" 0 999) - $(wrk_statuses "$OUT/wrk-submit-nul.txt" 200 299) - nul_422))"
    wait_idle "wrk submit, clean again"
    say "2c. wrk POST /api/jobs/create, clean again (${SUBMIT_SECONDS}s)"
    BENCH_TEAM=bench-submit BENCH_KEY="${KEY_OF[bench-submit]}" BENCH_MODEL="$MODEL_GROUP" \
      wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${SUBMIT_SECONDS}s" --latency -s bench/jobs-submit.lua "$API" \
      >"$OUT/wrk-submit-after.txt" || die "wrk submit (clean, after) failed"
    parse_wrk "$OUT/wrk-submit-after.txt"
    clean_mean="$(awk -v a="$submit_rps" -v b="$WRK_RPS" 'BEGIN { printf "%.2f", (a + b) / 2 }')"
    r="$(ratio "$nul_rps" "$clean_mean")"
    row "submit req/s with 1 % U+0000" "$nul_rps" "$clean_mean (clean: $submit_rps before, $WRK_RPS after)" "$r" ">= 0.9 x clean" "$(verdict "$r" ">=" 0.9)"
    row "  p99 ms with 1 % U+0000" "$nul_p99" "" "" "" ""
    row "  422 answers / other non-2xx" "$nul_422 / $nul_other" "" "" "~1 % / 0" "$(verdict "$nul_other" "<=" 0)"
  fi

  pgbench_tables
  wait_idle "pgbench submit"
  say "2. pgbench, the submit SQL one job per transaction (${SUBMIT_SECONDS}s)"
  pgbench "${PGBENCH_ARGS[@]}" -f bench/jobs-submit.sql "$BENCH_DB_URL" >"$OUT/pgbench-submit.txt" 2>"$OUT/pgbench-submit.err" \
    || die "pgbench submit failed: $(tail -n 3 "$OUT/pgbench-submit.err")"
  cmd "submit (reference): $PGBENCH_SHOWN -f bench/jobs-submit.sql $BENCH_DB_URL   (tables: psql -v team=pgbench-team -v credits=1000000000000 -f bench/jobs-tables.sql)"
  pg_submit="$(pgbench_tps "$OUT/pgbench-submit.txt")"
  row "  vs pgbench submit SQL, 1 job/tx" "$submit_rps" "$pg_submit tps" "$(ratio "$submit_rps" "$pg_submit")" "" ""
fi

# ================================================================ 3. e2e
if wants e2e; then
  reset_jobs
  say "3. end to end: $E2E_WORKERS worker(s) (concurrency $E2E_CONCURRENCY each), $E2E_APIS API(s), mock at 0 ms, $E2E_JOBS jobs of team bench-e2e"
  curl -fsS -X PUT "$MOCK_URL/_mock/behaviour" -d '{"latency_ms":0}' >/dev/null
  start_more_apis
  for ((i = 1; i <= E2E_WORKERS; i++)); do
    name="${WORKER_NAMES[$((i - 1))]}"
    : >"$OUT/$name.log"
    start_worker "$E2E_CONCURRENCY" "$name" $((WORKER_METRICS_PORT + i - 1))
  done
  for name in "${WORKER_NAMES[@]}"; do
    for _ in $(seq 1 100); do grep -q 'worker started' "$OUT/$name.log" && break; sleep 0.1; done
    grep -q 'worker started' "$OUT/$name.log" || die "$name did not start: $(tail -n 5 "$OUT/$name.log")"
  done
  wait_idle "e2e"
  cpu_mark
  perf_start e2e 15
  pg_activity_start e2e
  counters_mark
  submit_jobs_split "$E2E_JOBS" bench-e2e "$OUT/e2e-client.json"
  pg_activity_finish e2e
  cmd "e2e: saas-bench jobs --url $API --jobs $E2E_JOBS --connections $CONNECTIONS --team bench-e2e --key <key:bench-e2e> --model $MODEL_GROUP (split evenly over $E2E_APIS API process(es), a port each), with $E2E_WORKERS x WORKER_CONCURRENCY=$E2E_CONCURRENCY LOG_LEVEL=info .build-release/release/saas-worker running"
  say "3. submitted: $(cat "$OUT/e2e-client.json")"
  accepted="$(json_get "$OUT/e2e-client.json" succeeded)"
  wait_settled bench-e2e 300
  service_cpu_report e2e "$(json_get "$OUT/e2e-client.json" client_cpu_s)"
  perf_finish e2e
  sql team-statuses -v team=bench-e2e >"$OUT/e2e-statuses.txt"
  first_send="$(json_get "$OUT/e2e-client.json" first_send)"
  IFS='|' read -r completed last_settle p50 p99 <<<"$(sql e2e-summary -v team=bench-e2e)"
  e2e_seconds="$(awk -v a="$first_send" -v b="$last_settle" 'BEGIN { printf "%.2f", b - a }')"
  e2e_rate="$(awk -v n="$completed" -v s="$e2e_seconds" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')"
  submit_rate="$(awk -v n="$E2E_JOBS" -v s="$(json_get "$OUT/e2e-client.json" seconds)" 'BEGIN { printf "%.0f", n / s }')"
  e2e_batches="$(batches bench-e2e)"
  e2e_stages="$(stages bench-e2e)"
  sleep 2  # backends flush their statistics at most once a second
  counters_since "$completed" >"$OUT/e2e-per-job.txt"
  stop_workers_and_count e2e
  for name in "${API_NAMES[@]:1}"; do stop_proc "$name"; done  # the slow phase has one API
  echo "accepted $accepted of $E2E_JOBS, completed $completed in $e2e_seconds s; worker: jobs_run=${JOBS_RUN:-?} redis_round_trips=${ROUND_TRIPS:-?}" \
    | tee "$OUT/e2e-checks.txt" >&2

  pgbench_tables
  cat bench/jobs-submit.sql bench/jobs-settle.sql >"$OUT/jobs-e2e.sql"
  wait_idle "pgbench e2e"
  say "3. pgbench, submit + settlement SQL, one job per transaction each (${SUBMIT_SECONDS}s)"
  pgbench "${PGBENCH_ARGS[@]}" -f "$OUT/jobs-e2e.sql" "$BENCH_DB_URL" >"$OUT/pgbench-e2e.txt" 2>"$OUT/pgbench-e2e.err" \
    || die "pgbench e2e failed: $(tail -n 3 "$OUT/pgbench-e2e.err")"
  cmd "e2e (reference): cat bench/jobs-submit.sql bench/jobs-settle.sql > jobs-e2e.sql; $PGBENCH_SHOWN -f jobs-e2e.sql $BENCH_DB_URL"
  pg_e2e="$(pgbench_tps "$OUT/pgbench-e2e.txt")"
  row "e2e jobs/s (submit→settled, 1 team)" "$e2e_rate" "$pg_e2e (pgbench)" "$(ratio "$e2e_rate" "$pg_e2e")" ">= 2500" "$(verdict "$e2e_rate" ">=" 2500)"
  row "  processes: workers, APIs" "$E2E_WORKERS, $E2E_APIS" "" "" "" ""
  row "  completed / submitted (202)" "$completed / $accepted" "" "" "$E2E_JOBS" "$( [[ "$completed" == "$E2E_JOBS" && "$accepted" == "$E2E_JOBS" ]] && echo ok || echo MISMATCH)"
  row "  first submit → last settled, s" "$e2e_seconds" "" "" "" ""
  row "  client submit rate req/s" "$submit_rate" "" "" "" ""
  row "  client submit p50 / p99 ms" "$(json_get "$OUT/e2e-client.json" p50_ms) / $(json_get "$OUT/e2e-client.json" p99_ms)" "" "" "" ""
  row "  completed_at-created_at p50 ms" "$p50" "" "" "" ""
  row "  completed_at-created_at p99 ms" "$p99" "" "" "" ""
  row "  Redis round trips per job" "$PER_JOB" "${ROUND_TRIPS:-?}/${JOBS_RUN:-?}" "" "<= 3" "$(verdict "$PER_JOB" "<=" 3)"
  row "  CPU us/job: API, worker, PG, Redis" "$(for g in API worker PostgreSQL Redis; do printf '%s ' "$(us_per_request e2e "$g" "$completed")"; done)" "" "" "" ""
  row "  per job: WAL bytes, PG tx, Redis cmds, PG stmts" "$(sed -n 1p "$OUT/e2e-per-job.txt")" "" "" "" ""
  row "  mean tx ms (lock held): submit, settle" "$(sed -n 2p "$OUT/e2e-per-job.txt")" "" "" "" ""
  note "e2e: PostgreSQL transactions: $e2e_batches"
  note "e2e: per job: $e2e_stages"
fi

# ================================================================ 4. slow
if wants slow; then
  reset_jobs
  say "4. slow upstream: mock at ${SLOW_LATENCY_MS} ms, $SLOW_JOBS jobs queued with no worker"
  curl -fsS -X PUT "$MOCK_URL/_mock/behaviour" -d "{\"latency_ms\":$SLOW_LATENCY_MS}" >/dev/null
  rss_sampler "$OUT/rss-api.txt" "${PID_OF[api]}" &
  BACKGROUND+=($!); api_sampler=$!
  submit_jobs "$SLOW_JOBS" bench-slow "$OUT/slow-client.json"
  cmd "slow: saas-bench jobs --url $API --jobs $SLOW_JOBS --connections $CONNECTIONS --team bench-slow --key <key:bench-slow> --model $MODEL_GROUP, then WORKER_CONCURRENCY=$SLOW_CONCURRENCY LOG_LEVEL=info .build-release/release/saas-worker; mock: PUT /_mock/behaviour {\"latency_ms\":$SLOW_LATENCY_MS}"
  say "4. queued: $(cat "$OUT/slow-client.json")"
  slow_accepted="$(json_get "$OUT/slow-client.json" succeeded)"
  curl -fsS -X POST "$MOCK_URL/_mock/stats/reset" >/dev/null
  wait_idle "slow"
  : >"$OUT/worker.log"
  cpu_mark
  worker_start="$(date +%s.%N)"
  start_worker "$SLOW_CONCURRENCY"
  rss_sampler "$OUT/rss-worker.txt" "${PID_OF[worker]}" &
  BACKGROUND+=($!); worker_sampler=$!
  wait_settled bench-slow 120
  service_cpu_report slow 0
  worker_hwm="$(vm_hwm_mib "${PID_OF[worker]}")"
  api_hwm="$(vm_hwm_mib "${PID_OF[api]}")"
  kill "$api_sampler" "$worker_sampler" 2>/dev/null || true
  wait "$api_sampler" "$worker_sampler" 2>/dev/null || true
  curl -fsS "$MOCK_URL/_mock/stats" >"$OUT/slow-mock-stats.json"
  max_in_flight="$(json_get "$OUT/slow-mock-stats.json" max_in_flight)"
  sql team-statuses -v team=bench-slow >"$OUT/slow-statuses.txt"
  IFS='|' read -r slow_completed last_settle first_claim <<<"$(sql slow-summary -v team=bench-slow)"
  slow_seconds="$(awk -v a="$worker_start" -v b="$last_settle" 'BEGIN { printf "%.2f", b - a }')"
  first_claim_s="$(awk -v a="$worker_start" -v b="$first_claim" 'BEGIN { printf "%.2f", b - a }')"
  api_peak="$(rss_peak "$OUT/rss-api.txt")"
  worker_peak="$(rss_peak "$OUT/rss-worker.txt")"
  stop_worker_and_count slow
  echo "slow: accepted $slow_accepted, completed $slow_completed, worker start → first claim ${first_claim_s}s → last settlement ${slow_seconds}s; mock max_in_flight $max_in_flight" \
    | tee "$OUT/slow-checks.txt" >&2
  row "slow: worker start → all settled, s" "$slow_seconds" "4.00 (floor)" "" "<= 6" "$(verdict "$slow_seconds" "<=" 6)"
  row "  completed / queued (202)" "$slow_completed / $slow_accepted" "" "" "$SLOW_JOBS" "$( [[ "$slow_completed" == "$SLOW_JOBS" && "$slow_accepted" == "$SLOW_JOBS" ]] && echo ok || echo MISMATCH)"
  row "  worker start → first claim, s" "$first_claim_s" "" "" "" ""
  row "  mock max_in_flight" "$max_in_flight" "$SLOW_CONCURRENCY (concurrency)" "" "" ""
  row "  worker peak RSS MiB (100 ms)" "$worker_peak" "VmHWM $worker_hwm" "" "<= 300" "$(verdict "$worker_peak" "<=" 300)"
  row "  API peak RSS MiB (100 ms)" "$api_peak" "VmHWM $api_hwm (lifetime)" "" "<= 150" "$(verdict "$api_peak" "<=" 150)"
  row "  Redis round trips per job" "$PER_JOB" "${ROUND_TRIPS:-?}/${JOBS_RUN:-?}" "" "" ""
  note "slow: PostgreSQL transactions: $(batches bench-slow)"
  note "slow: per job: $(stages bench-slow)"
  note "slow: jobs claimed per 0.5 s since the worker started: $(timeline bench-slow started_at "$worker_start")"
  note "slow: jobs settled per 0.5 s since the worker started: $(timeline bench-slow completed_at "$worker_start")"
fi

# ---------------------------------------------------------------- table
{
  table_print '%-38s %18s %24s %6s  %-22s %s\n' "figure" "value" "reference" "ratio" "bar" "verdict"
  echo "($(nproc) cores; built from $SOURCE_STATE; API LOG_LEVEL=$API_LOG_LEVEL; wrk -t$WRK_THREADS -c$CONNECTIONS; raw outputs in ${OUT#"$REPO"/})"
  for f in health balance submit e2e slow; do [[ -s "$OUT/cpu-$f.txt" ]] && echo "CPU during $f: $(cat "$OUT/cpu-$f.txt")"; done
  for n in "${NOTES[@]}"; do echo "$n"; done
  [[ -s "$OUT/warnings.txt" ]] && sed 's/^/warning: /' "$OUT/warnings.txt"
  echo
  echo "commands:"
  sed 's/^/  /' "$COMMANDS"
  true
} | tee "$OUT/table.txt"
