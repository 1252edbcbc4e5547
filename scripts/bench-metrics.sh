#!/usr/bin/env bash
# scripts/bench-metrics.sh — the cost of metrics (issue 12: submit req/s with metrics on >= 0.95 x
# off, in one run): the API started with METRICS_ENABLED=true and with METRICS_ENABLED=false, one
# after the other, each measured by the same wrk as bench-jobs.sh's submit phase
# (`wrk -t2 -c64 --latency -s bench/jobs-submit.lua`: POST /api/jobs/create, one small chat job a
# request, all for one team) against the same database, queue and team.
#
# The runs go on, off, off, on (ROUNDS=2; ABBA, so that the table growing through the run does
# not favour one side) and each side's figure is the mean of its runs. Beside req/s, the API
# process's CPU time per request (from /proc, over the measured seconds): on a machine others are
# using, req/s swings with their load while CPU per request mostly does not. No worker: the jobs
# only queue. After an `on` run /metrics must show the submits counted (saas_jobs_submitted_total of
# the team, the route template of POST /api/jobs/create); after an `off` run /metrics answers 404.
#
# Environment (defaults in brackets):
#   BENCH_BUILD_DIR   take the binaries from this folder instead of a release build in .build-release []
#   BENCH_SKIP_BUILD  1 = use the release binaries already in .build-release                    [0]
#   BENCH_DB          PostgreSQL database, dropped and made afresh                   [saas_bench_metrics]
#   BENCH_REDIS_DB    Redis db, flushed                                                         [11]
#   API_PORT                                                                                  [8413]
#   SUBMIT_SECONDS    seconds each run is measured (after a 3 s warm-up)                        [15]
#   CONNECTIONS       wrk connections                                                           [64]
#   WRK_THREADS       wrk threads                                                                [2]
#   ROUNDS            on/off pairs, in ABBA order                                                [2]
#   BENCH_IDLE_MAX    CPU busy % above which a measurement waits for the machine to calm        [25]
#   BENCH_IDLE_WAIT   seconds to wait for that at most, then measure anyway                     [60]
# Prints a table (figure, value, notes) with the ratio and the bar; raw outputs and process logs
# in bench-results/metrics-<time>/ (git-ignored). A measurement, not a test: it fails only when a
# tool or a process fails (or /metrics does not show what it must), never on the bar.
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
# shellcheck source=lib/table.sh
source "$REPO/scripts/lib/table.sh"
# shellcheck source=lib/tool-output.sh
source "$REPO/scripts/lib/tool-output.sh"

API_PORT="${API_PORT:-8413}"
DB_NAME="${BENCH_DB:-saas_bench_metrics}"
REDIS_DB="${BENCH_REDIS_DB:-11}"
SUBMIT_SECONDS="${SUBMIT_SECONDS:-15}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
ROUNDS="${ROUNDS:-2}"
IDLE_MAX="${BENCH_IDLE_MAX:-25}"
IDLE_WAIT="${BENCH_IDLE_WAIT:-60}"
MASTER_KEY="sk-admin-local-dev-change-in-production"
PRODUCTS=(saas-api)
TEAM=bench-metrics
GROUP=bench-metrics

require_tools wrk psql redis-cli python3 curl swift awk ss

say "starting services"
bench_services
BENCH_DB_URL="$(database_url "$DB_NAME")"
BENCH_REDIS_URL="$(redis_url "$REDIS_DB")"
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" "$@"; }
bench_check_ports "$API_PORT"

bench_binaries "${PRODUCTS[@]}"
results_dir metrics
say "raw outputs in $OUT"
bench_copy_binaries "${PRODUCTS[@]}"
COMMANDS="$OUT/commands.txt"
: >"$COMMANDS"

psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME" >/dev/null
rcli FLUSHDB >/dev/null

API="http://127.0.0.1:$API_PORT"
trap 'stop_everything api; rm -rf "$OUT/bin"' EXIT

start_api() {  # METRICS_ENABLED value, log name
  start_proc api env DATABASE_URL="$BENCH_DB_URL" REDIS_URL="$BENCH_REDIS_URL" PORT="$API_PORT" LOG_LEVEL=warning \
    MASTER_KEY="$MASTER_KEY" METRICS_ENABLED="$1" "$BIN_DIR/saas-api" serve
  wait_http "$API/ready" 120 api
}

# ---------------------------------------------------------------- set-up (admin API)
start_api true
python3 - "$API" "$MASTER_KEY" "$TEAM" "$GROUP" >"$OUT/team.json" <<'PY'
import json, sys, urllib.request
api, master, team, group = sys.argv[1:5]
def call(path, body):
    request = urllib.request.Request(api + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"X-Admin-Key": master, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
call("/api/organizations/create", {"organization_id": team, "name": "bench"})
call("/api/providers/create", {"name": team, "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-never-called"})
call("/api/model-groups/create", {"group_name": group, "models": [{"model_name": "m", "provider": team, "priority": 0}]})
created = call("/api/teams/create", {"organization_id": team, "team_id": team, "model_groups": [group],
                                     "credits_allocated": 1000000000000})
print(json.dumps({"key": created["virtual_key"]}))
PY
KEY="$(json_get "$OUT/team.json" key)"
stop_proc api

# ---------------------------------------------------------------- the runs
# ABBA: on off off on (on off off on ... for more rounds).
ORDER=()
for ((round = 0; round < ROUNDS; round++)); do
  if ((round % 2 == 0)); then ORDER+=(true false); else ORDER+=(false true); fi
done

declare -A SUM=([true]=0 [false]=0) RUNS=([true]=0 [false]=0) P99S=([true]="" [false]="")
declare -A CPU_TICKS=([true]=0 [false]=0) REQUESTS=([true]=0 [false]=0)
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # pid
TICK_US=$((1000000 / $(getconf CLK_TCK)))
NON2XX=0
index=0
for enabled in "${ORDER[@]}"; do
  index=$((index + 1))
  name="run$index-metrics-$([[ "$enabled" == true ]] && echo on || echo off)"
  start_api "$enabled"
  wait_idle "$name"
  say "$name: wrk POST /api/jobs/create (${SUBMIT_SECONDS}s after a 3 s warm-up)"
  BENCH_TEAM="$TEAM" BENCH_KEY="$KEY" BENCH_MODEL="$GROUP" \
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s -s bench/jobs-submit.lua "$API" >/dev/null 2>&1 || true
  ticks_before="$(cpu_ticks "${PID_OF[api]}")"
  BENCH_TEAM="$TEAM" BENCH_KEY="$KEY" BENCH_MODEL="$GROUP" \
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${SUBMIT_SECONDS}s" --latency -s bench/jobs-submit.lua "$API" \
    >"$OUT/$name.txt" || die "wrk failed ($name)"
  ticks=$(($(cpu_ticks "${PID_OF[api]}") - ticks_before))
  parse_wrk "$OUT/$name.txt"
  CPU_TICKS[$enabled]=$((CPU_TICKS[$enabled] + ticks))
  REQUESTS[$enabled]=$((REQUESTS[$enabled] + WRK_REQUESTS))
  NON2XX=$((NON2XX + WRK_NON2XX))
  SUM[$enabled]="$(awk -v a="${SUM[$enabled]}" -v b="$WRK_RPS" 'BEGIN { printf "%.2f", a + b }')"
  RUNS[$enabled]=$((RUNS[$enabled] + 1))
  P99S[$enabled]+="${P99S[$enabled]:+, }$WRK_P99"
  echo "$name: $WRK_RPS req/s, p99 $WRK_P99 ms, non-2xx $WRK_NON2XX, API CPU $((ticks * TICK_US / WRK_REQUESTS)) us/request" >>"$OUT/runs.txt"

  # What /metrics shows after the run: the submits counted, or a 404 with metrics off.
  status="$(curl -sS -o "$OUT/$name.metrics" -w '%{http_code}' "$API/metrics")"
  if [[ "$enabled" == true ]]; then
    [[ "$status" == 200 ]] || die "/metrics answered $status with metrics on"
    grep -q "^saas_jobs_submitted_total{team=\"$TEAM\"} " "$OUT/$name.metrics" || die "/metrics has no submits of $TEAM ($OUT/$name.metrics)"
    grep -q '^saas_http_requests_total{method="POST",route="/api/jobs/create",status="202"} ' "$OUT/$name.metrics" ||
      die "/metrics has no POST /api/jobs/create series ($OUT/$name.metrics)"
  else
    [[ "$status" == 404 ]] || die "/metrics answered $status with metrics off"
  fi
  stop_proc api
done
echo "on: BENCH_TEAM=$TEAM BENCH_KEY=<key:$TEAM> BENCH_MODEL=$GROUP wrk -t$WRK_THREADS -c$CONNECTIONS -d${SUBMIT_SECONDS}s --latency -s bench/jobs-submit.lua $API (API with METRICS_ENABLED=true)" >>"$COMMANDS"
echo "off: the same, API with METRICS_ENABLED=false; order ${ORDER[*]} (true = on)" >>"$COMMANDS"

# ---------------------------------------------------------------- table
ON="$(awk -v s="${SUM[true]}" -v n="${RUNS[true]}" 'BEGIN { printf "%.1f", s / n }')"
OFF="$(awk -v s="${SUM[false]}" -v n="${RUNS[false]}" 'BEGIN { printf "%.1f", s / n }')"
RATIO="$(awk -v a="$ON" -v b="$OFF" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')"
CPU_ON="$(awk -v t="${CPU_TICKS[true]}" -v u="$TICK_US" -v n="${REQUESTS[true]}" 'BEGIN { printf "%.0f", t * u / n }')"
CPU_OFF="$(awk -v t="${CPU_TICKS[false]}" -v u="$TICK_US" -v n="${REQUESTS[false]}" 'BEGIN { printf "%.0f", t * u / n }')"
STORED="$(psql "$BENCH_DB_URL" -tAc "SELECT count(*) FROM jobs WHERE team_id = '$TEAM'")"

row "submit req/s, metrics on (mean of ${RUNS[true]})" "$ON" "p99 ms: ${P99S[true]}"
row "submit req/s, metrics off (mean of ${RUNS[false]})" "$OFF" "p99 ms: ${P99S[false]}"
row "ratio on / off" "$RATIO" "bar >= 0.95: $(verdict "$RATIO" '>=' 0.95)"
row "API CPU us/request, on / off" "$CPU_ON / $CPU_OFF" "metrics cost $(awk -v a="$CPU_ON" -v b="$CPU_OFF" 'BEGIN { printf "%+.1f", (b > 0) ? 100 * (a - b) / b : 0 }') % CPU per request"
row "non-2xx answers (all runs)" "$NON2XX" "jobs stored: $STORED"
table_print "%-44s %-10s %s\n" "figure" "value" "notes"
echo
echo "runs:"
sed 's/^/  /' "$OUT/runs.txt"
echo "binaries: $SOURCE_STATE"
if [[ -s "$OUT/warnings.txt" ]]; then echo "warnings (the machine was busy):"; sed 's/^/  /' "$OUT/warnings.txt"; fi
echo "commands:"
sed 's/^/  /' "$COMMANDS"
