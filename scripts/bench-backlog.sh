#!/usr/bin/env bash
# scripts/bench-backlog.sh — cost that stays flat as the backlog grows (issue 13, item 4; bar:
# claim rate and submit p99 within 20 % between a backlog of 1,000,000 and one of 10,000; Redis
# bytes per queued job reported). Each backlog in BACKLOGS is measured on a fresh database and an
# empty Redis db, over the same number of teams (BACKLOG_TEAMS, 10,000: 1 job a team at 10,000,
# 100 at 1,000,000 — the rotation the claim walks is the same length; what differs is the jobs).
#
# Per backlog, in this order:
#   seed      bench/sql/backlog-seed.sql (psql, generate_series): teams bl-000001…, each with an
#             account, its allocation row and the model group; the jobs `queued`, each with a
#             1-credit reservation, its ledger row and the account's credits_reserved — what
#             submits leave. Redis db flushed afterwards (no sweep marker).
#   sweep     `saas-bench backlog --mode sweep --passes 3`: the worker's Sweeper (same
#             construction, queue gauges on) run three times, each pass timed. Pass 1 finds no
#             marker and re-enqueues every queued job through RedisJobQueue.enqueue (5,000 jobs a
#             script): that is how the backlog gets into Redis, faithful by construction, and its
#             time is the full re-enqueue after Redis lost its data (which must grow with the
#             backlog). Passes 2–3 are steady sweeps: "one sweep's time" is the mean of them.
#             Then the gauges' read alone: the old PostgreSQL aggregate over live jobs
#             (JobStore.queueStats(), still behind GET /api/admin/queue) and the new one
#             (Redis census script + one index probe per team for the oldest job).
#   memory    `saas-bench backlog --mode memory`: MEMORY USAGE … SAMPLES 0 of every {q}:* key of
#             the db, summed, / jobs held (Redis bytes per queued job); beside it the server's
#             used_memory after - before the sweep, / jobs (other dbs' traffic may move that one).
#   claim     `saas-bench backlog --mode claim --seconds $CLAIM_SECONDS --batch $CLAIM_BATCH`: one
#             claimer calling RedisJobQueue.claim(max: batch) back to back, each batch handed back
#             at once with finish(requeue:, delay 0) so the backlog keeps its size; no PostgreSQL,
#             no worker. Claims/s and the claim script's p50/p99.
#   fairness  `saas-bench backlog --mode fairness --batch $CLAIM_BATCH`: one job of a team with
#             nothing queued enqueued behind the backlog, then claims as above until it comes out:
#             ms, claims and jobs handed out before it (round-robin: it waits for the teams, not
#             the jobs). The job exists only in Redis and is removed after.
#   mark      `saas-bench backlog --mode mark --seconds $CLAIM_SECONDS --batch $CLAIM_BATCH`: as claim,
#             with each batch marked `in_progress` in PostgreSQL by the worker's own
#             PostgresJobStore.markInProgress before it is handed back (a mark takes over a job
#             already in_progress): the claim rate as a worker sees it, and the mark's p50/p99.
#             The jobs it marked stay in_progress in PostgreSQL (the submit phase only inserts).
#   ABBA      after the last backlog: the first one enqueued beside it in a queue of its own
#             (`--mode enqueue --queue qsmall`, Redis only) and `--mode claim` alternating between
#             the two, q qsmall qsmall q qsmall q q qsmall: claims/s of the two backlogs measured
#             under the same machine load and the same Redis (its AOF rewrites included).
#   submit    the API (release, LOG_LEVEL=warning, sweeper interval 3600 s so that only the bench
#             sweeps) under `wrk -t2 -c64 -d${SUBMIT_SECONDS}s --latency -s bench/jobs-submit.lua`
#             (after a 3 s warm-up) for one team of its own (backlog-submit) while the backlog
#             sits in PostgreSQL and Redis: req/s and p99. Last, since it adds to the queue.
#
# Environment (defaults in brackets):
#   BENCH_SKIP_BUILD  1 = use the release binaries already in .build-release              [0]
#   BENCH_BUILD_DIR   take the binaries from this folder instead                          []
#   BENCH_DB          PostgreSQL database, dropped and made afresh per backlog    [saas_bench_backlog]
#   BENCH_REDIS_DB    Redis db, flushed (FLUSHDB only)                                     [12]
#   BACKLOGS          the backlogs, space-separated                          [10000 1000000]
#   BACKLOG_TEAMS     teams the backlog is spread over                                  [10000]
#   CLAIM_SECONDS     seconds of claiming                                                  [10]
#   CLAIM_BATCH       jobs per claim                                                      [100]
#   SUBMIT_SECONDS    seconds of wrk                                                       [15]
#   BACKLOG_HISTORY   finished jobs of another team put in first (bench/sql/history.sql), as
#                     bench-jobs.sh does: without them the small backlog's table is tiny, the
#                     wrk's inserts outgrow its statistics, and its submit p99 came out worse
#                     than the large one's (125 vs 76 ms); 0 = none                    [100000]
#   API_PORT                                                                             [8417]
#   BENCH_IDLE_MAX / BENCH_IDLE_WAIT  wait (bounded) for a calm CPU before each measure  [25/60]
# Prints a table (figure, one column per backlog, ratio last/first, bar); every raw output (the
# JSON lines, wrk, the API log, the seed's timing) in bench-results/backlog-<time>/ (git-ignored),
# and the exact commands. On 2 shared cores, seeding 1,000,000 took 111 s and the full re-enqueue
# 36 s; the whole run at 10,000 and 1,000,000 about 7 minutes. A measurement, not a test: it fails
# only when a tool or a process fails, never on the bar.
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

API_PORT="${API_PORT:-8417}"
DB_NAME="${BENCH_DB:-saas_bench_backlog}"
REDIS_DB="${BENCH_REDIS_DB:-12}"
read -r -a BACKLOG_LIST <<<"${BACKLOGS:-10000 1000000}"
TEAMS="${BACKLOG_TEAMS:-10000}"
CLAIM_SECONDS="${CLAIM_SECONDS:-10}"
CLAIM_BATCH="${CLAIM_BATCH:-100}"
SUBMIT_SECONDS="${SUBMIT_SECONDS:-15}"
HISTORY="${BACKLOG_HISTORY:-100000}"
CONNECTIONS=64
WRK_THREADS=2
IDLE_MAX="${BENCH_IDLE_MAX:-25}"
IDLE_WAIT="${BENCH_IDLE_WAIT:-60}"
MASTER_KEY="sk-admin-local-dev-change-in-production"
PRODUCTS=(saas-api saas-bench)
ORG=backlog
GROUP=backlog
SUBMIT_TEAM="backlog-submit"
TEAM_PREFIX=bl-

require_tools wrk psql redis-cli python3 curl swift awk ss

say "starting services"
bench_services
BENCH_DB_URL="$(database_url "$DB_NAME")"
BENCH_REDIS_URL="$(redis_url "$REDIS_DB")"
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" "$@"; }
bench_check_ports "$API_PORT"

bench_binaries "${PRODUCTS[@]}"
results_dir backlog
say "raw outputs in $OUT"
bench_copy_binaries "${PRODUCTS[@]}"
SAAS_BENCH="$BIN_DIR/saas-bench"
COMMANDS="$OUT/commands.txt"
: >"$COMMANDS"
cmd() { echo "$1" >>"$COMMANDS"; }
trap 'stop_everything api; rm -rf "$OUT/bin"' EXIT

API="http://127.0.0.1:$API_PORT"
start_api() {
  start_proc api env DATABASE_URL="$BENCH_DB_URL" REDIS_URL="$BENCH_REDIS_URL" PORT="$API_PORT" HOST=127.0.0.1 LOG_LEVEL=warning \
    MASTER_KEY="$MASTER_KEY" SWEEP_INTERVAL_SECONDS=3600 "$BIN_DIR/saas-api" serve
  wait_http "$API/ready" 120 api
}
used_memory() { rcli INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
field() { json_get "$1" "$2"; }  # file, key
backlog_bench() {  # output file, args...
  local file="$1"; shift
  "$SAAS_BENCH" backlog --redis-url "$BENCH_REDIS_URL" "$@" >"$file" 2>"${file%.json}.err" ||
    die "saas-bench backlog $* failed: $(tail -n 3 "${file%.json}.err")"
}

declare -A FIG=()  # "figure|backlog" → value
for backlog in "${BACKLOG_LIST[@]}"; do
  tag="b$backlog"
  say "backlog $backlog over $TEAMS teams: fresh database $DB_NAME, Redis db $REDIS_DB flushed"
  sql_file "$DATABASE_URL" fresh-database -v db="$DB_NAME" >/dev/null
  rcli FLUSHDB >/dev/null
  start_api  # migrates; its first sweep runs on the empty database
  python3 - "$API" "$MASTER_KEY" "$ORG" "$GROUP" "$SUBMIT_TEAM" >"$OUT/$tag-team.json" <<'PY'
import json, sys, urllib.request
api, master, org, group, team = sys.argv[1:6]
def call(path, body):
    request = urllib.request.Request(api + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"X-Admin-Key": master, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
call("/api/organizations/create", {"organization_id": org, "name": "backlog bench"})
call("/api/providers/create", {"name": group, "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-never-called"})
call("/api/model-groups/create", {"group_name": group, "models": [{"model_name": "m", "provider": group, "priority": 0}]})
created = call("/api/teams/create", {"organization_id": org, "team_id": team, "model_groups": [group],
                                     "credits_allocated": 1000000000000})
call("/api/teams/create", {"organization_id": org, "team_id": "backlog-history", "model_groups": [group], "credits_allocated": 0})
print(json.dumps({"key": created["virtual_key"]}))
PY
  KEY="$(json_get "$OUT/$tag-team.json" key)"

  if ((HISTORY > 0)); then
    say "history: $HISTORY finished jobs of backlog-history (bench/sql/history.sql)"
    sql_file "$BENCH_DB_URL" history -v team=backlog-history -v model="$GROUP" -v jobs="$HISTORY" >/dev/null
  fi
  say "seed: $backlog queued jobs over $TEAMS teams (bench/sql/backlog-seed.sql)"
  seed_start=$SECONDS
  sql_file "$BENCH_DB_URL" backlog-seed -v org="$ORG" -v prefix="$TEAM_PREFIX" -v teams="$TEAMS" -v jobs="$backlog" \
    -v model="$GROUP" -v credits=1000000000 >"$OUT/$tag-seed.txt"
  FIG["seed s (PostgreSQL, SQL)|$backlog"]=$((SECONDS - seed_start))
  cmd "history $backlog: $HISTORY cancelled jobs of backlog-history, psql -v team=backlog-history -v model=$GROUP -v jobs=$HISTORY -f bench/sql/history.sql"
  cmd "seed $backlog: psql -v org=$ORG -v prefix=$TEAM_PREFIX -v teams=$TEAMS -v jobs=$backlog -v model=$GROUP -v credits=1000000000 -f bench/sql/backlog-seed.sql $BENCH_DB_URL"
  rcli FLUSHDB >/dev/null
  before_memory="$(used_memory)"

  wait_idle "sweep $backlog"
  say "sweep: 3 passes (the first re-enqueues the backlog into Redis)"
  backlog_bench "$OUT/$tag-sweep.json" --mode sweep --database-url "$BENCH_DB_URL" --passes 3
  after_memory="$(used_memory)"
  cmd "sweep $backlog: saas-bench backlog --mode sweep --redis-url $BENCH_REDIS_URL --database-url $BENCH_DB_URL --passes 3"
  s="$OUT/$tag-sweep.json"
  FIG["full re-enqueue ms (sweep pass 1)|$backlog"]="$(field "$s" pass1_ms)"
  FIG["one sweep ms (mean of passes 2-3)|$backlog"]="$(awk -v a="$(field "$s" pass2_ms)" -v b="$(field "$s" pass3_ms)" 'BEGIN { printf "%.1f", (a + b) / 2 }')"
  FIG["  gauges, new: census + oldest probe ms|$backlog"]="$(field "$s" gauges_new_ms)"
  FIG["  gauges, old: PostgreSQL aggregate ms|$backlog"]="$(field "$s" gauges_postgres_aggregate_ms)"
  FIG["  queued per PostgreSQL / per Redis|$backlog"]="$(field "$s" queued_postgres) / $(field "$s" queued_redis)"

  backlog_bench "$OUT/$tag-memory.json" --mode memory
  cmd "memory $backlog: saas-bench backlog --mode memory --redis-url $BENCH_REDIS_URL"
  m="$OUT/$tag-memory.json"
  held="$(field "$m" jobs_held)"
  FIG["jobs held in Redis|$backlog"]="$held"
  FIG["Redis bytes/job (MEMORY USAGE of {q}:*)|$backlog"]="$(awk -v b="$(field "$m" key_bytes)" -v n="$held" 'BEGIN { printf "%.1f", (n > 0) ? b / n : 0 }')"
  FIG["Redis bytes/job (used_memory delta)|$backlog"]="$(awk -v a="$after_memory" -v b="$before_memory" -v n="$held" 'BEGIN { printf "%.1f", (n > 0) ? (a - b) / n : 0 }')"

  wait_idle "claim $backlog"
  say "claim: ${CLAIM_SECONDS}s, batch $CLAIM_BATCH"
  backlog_bench "$OUT/$tag-claim.json" --mode claim --seconds "$CLAIM_SECONDS" --batch "$CLAIM_BATCH"
  cmd "claim $backlog: saas-bench backlog --mode claim --redis-url $BENCH_REDIS_URL --seconds $CLAIM_SECONDS --batch $CLAIM_BATCH"
  c="$OUT/$tag-claim.json"
  FIG["claims/s (claim + requeue, batch $CLAIM_BATCH)|$backlog"]="$(field "$c" claims_per_sec)"
  FIG["claim script p50 / p99 ms|$backlog"]="$(field "$c" claim_p50_ms) / $(field "$c" claim_p99_ms)"

  backlog_bench "$OUT/$tag-fairness.json" --mode fairness --batch "$CLAIM_BATCH" --team backlog-fresh
  cmd "fairness $backlog: saas-bench backlog --mode fairness --redis-url $BENCH_REDIS_URL --batch $CLAIM_BATCH --team backlog-fresh"
  f="$OUT/$tag-fairness.json"
  [[ "$(field "$f" claimed)" == 1 ]] || say "warning: the fresh team's job was not claimed within 120 s ($f)"
  FIG["fresh team's job claimed after ms|$backlog"]="$(field "$f" ms)"
  FIG["  claims / jobs handed out before it|$backlog"]="$(field "$f" claim_calls) / $(field "$f" jobs_before)"

  wait_idle "mark $backlog"
  say "mark: ${CLAIM_SECONDS}s, batch $CLAIM_BATCH, each claim marked in PostgreSQL as a worker marks it"
  backlog_bench "$OUT/$tag-mark.json" --mode mark --database-url "$BENCH_DB_URL" --seconds "$CLAIM_SECONDS" --batch "$CLAIM_BATCH"
  cmd "mark $backlog: saas-bench backlog --mode mark --redis-url $BENCH_REDIS_URL --database-url $BENCH_DB_URL --seconds $CLAIM_SECONDS --batch $CLAIM_BATCH"
  k="$OUT/$tag-mark.json"
  FIG["claims/s with the mark (claim + mark + requeue)|$backlog"]="$(field "$k" marked_per_sec)"
  FIG["  mark p50 / p99 ms|$backlog"]="$(field "$k" mark_p50_ms) / $(field "$k" mark_p99_ms)"

  wait_idle "submit $backlog"
  say "submit: wrk ${SUBMIT_SECONDS}s for $SUBMIT_TEAM beside the backlog"
  BENCH_TEAM="$SUBMIT_TEAM" BENCH_KEY="$KEY" BENCH_MODEL="$GROUP" \
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s -s bench/jobs-submit.lua "$API" >/dev/null 2>&1 || true
  BENCH_TEAM="$SUBMIT_TEAM" BENCH_KEY="$KEY" BENCH_MODEL="$GROUP" \
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${SUBMIT_SECONDS}s" --latency -s bench/jobs-submit.lua "$API" \
    >"$OUT/$tag-wrk-submit.txt" || die "wrk failed ($tag)"
  cmd "submit $backlog: BENCH_TEAM=$SUBMIT_TEAM BENCH_KEY=<key:$SUBMIT_TEAM> BENCH_MODEL=$GROUP wrk -t$WRK_THREADS -c$CONNECTIONS -d${SUBMIT_SECONDS}s --latency -s bench/jobs-submit.lua $API"
  parse_wrk "$OUT/$tag-wrk-submit.txt"
  FIG["submit req/s (wrk c64, one team)|$backlog"]="$WRK_RPS"
  FIG["submit p99 ms|$backlog"]="$WRK_P99"
  FIG["  submit non-2xx|$backlog"]="$WRK_NON2XX"
  stop_proc api
  mv "$OUT/api.log" "$OUT/$tag-api.log" 2>/dev/null || true
done

# ---------------------------------------------------------------- claims alternating (ABBA)
# Each backlog's claim phase above ran at a different moment of a shared machine (and of Redis's
# AOF rewrites). Here the last backlog stays in queue q and the first is enqueued beside it in a
# queue of its own (qsmall, Redis only, the same teams), and claims alternate A B B A B A A B.
first="${BACKLOG_LIST[0]}"
last="${BACKLOG_LIST[${#BACKLOG_LIST[@]} - 1]}"
if ((${#BACKLOG_LIST[@]} > 1)); then
  backlog_bench "$OUT/abba-enqueue.json" --mode enqueue --queue qsmall --jobs "$first" --teams "$TEAMS"
  declare -A ABBA_SUM=([q]=0 [qsmall]=0) ABBA_P99=([q]="" [qsmall]="")
  index=0
  for name in q qsmall qsmall q qsmall q q qsmall; do
    index=$((index + 1))
    backlog_bench "$OUT/abba-$index-$name.json" --mode claim --queue "$name" --seconds "$CLAIM_SECONDS" --batch "$CLAIM_BATCH"
    ABBA_SUM[$name]="$(awk -v a="${ABBA_SUM[$name]}" -v b="$(field "$OUT/abba-$index-$name.json" claims_per_sec)" 'BEGIN { print a + b }')"
    ABBA_P99[$name]+="${ABBA_P99[$name]:+, }$(field "$OUT/abba-$index-$name.json" claim_p99_ms)"
  done
  cmd "claims ABBA: saas-bench backlog --mode enqueue --queue qsmall --jobs $first --teams $TEAMS, then --mode claim --queue q|qsmall --seconds $CLAIM_SECONDS --batch $CLAIM_BATCH in the order q qsmall qsmall q qsmall q q qsmall"
  FIG["claims/s ABBA, mean of 4 (same Redis)|$first"]="$(awk -v s="${ABBA_SUM[qsmall]}" 'BEGIN { printf "%.1f", s / 4 }')"
  FIG["claims/s ABBA, mean of 4 (same Redis)|$last"]="$(awk -v s="${ABBA_SUM[q]}" 'BEGIN { printf "%.1f", s / 4 }')"
  FIG["  claim p99 ms, ABBA runs|$first"]="${ABBA_P99[qsmall]}"
  FIG["  claim p99 ms, ABBA runs|$last"]="${ABBA_P99[q]}"
  rcli FLUSHDB >/dev/null  # the backlog's memory back to Redis
fi

# ---------------------------------------------------------------- table
FIGURES=("seed s (PostgreSQL, SQL)" "full re-enqueue ms (sweep pass 1)" "one sweep ms (mean of passes 2-3)"
  "  gauges, new: census + oldest probe ms" "  gauges, old: PostgreSQL aggregate ms" "  queued per PostgreSQL / per Redis"
  "jobs held in Redis" "Redis bytes/job (MEMORY USAGE of {q}:*)" "Redis bytes/job (used_memory delta)"
  "claims/s (claim + requeue, batch $CLAIM_BATCH)" "claim script p50 / p99 ms" "claims/s ABBA, mean of 4 (same Redis)"
  "  claim p99 ms, ABBA runs" "fresh team's job claimed after ms"
  "  claims / jobs handed out before it" "claims/s with the mark (claim + mark + requeue)" "  mark p50 / p99 ms" "submit req/s (wrk c64, one team)" "submit p99 ms" "  submit non-2xx")
declare -A BAR=(["claims/s (claim + requeue, batch $CLAIM_BATCH)"]="within 20 %" ["submit p99 ms"]="within 20 %"
  ["claims/s ABBA, mean of 4 (same Redis)"]="within 20 %" ["claims/s with the mark (claim + mark + requeue)"]="within 20 %")
header=("figure")
format="%-42s"
for backlog in "${BACKLOG_LIST[@]}"; do header+=("backlog $backlog"); format+=" %-16s"; done
header+=("$last / $first" "bar")
format+=" %-10s %s\n"
for figure in "${FIGURES[@]}"; do
  cells=("$figure")
  for backlog in "${BACKLOG_LIST[@]}"; do cells+=("${FIG["$figure|$backlog"]:-}"); done
  at_last="${FIG["$figure|$last"]:-}"; at_first="${FIG["$figure|$first"]:-}"
  r=""
  if [[ "$at_last" =~ ^[0-9.]+$ && "$at_first" =~ ^[0-9.]+$ ]]; then r="$(ratio "$at_last" "$at_first")"; fi
  bar="${BAR["$figure"]:-}"
  if [[ -n "$bar" && -n "$r" ]]; then
    bar+=": $(awk -v r="$r" 'BEGIN { print (r >= 0.8 && r <= 1.2) ? "met" : "NOT met" }')"
  fi
  cells+=("$r" "$bar")
  row "${cells[@]}"
done
echo "backlogs over $TEAMS teams each (bl-000001…); queue gauges from the Redis census; binaries: $SOURCE_STATE"
table_print "$format" "${header[@]}"
if [[ -s "$OUT/warnings.txt" ]]; then echo "warnings (the machine was busy):"; sed 's/^/  /' "$OUT/warnings.txt"; fi
echo "commands:"
sed 's/^/  /' "$COMMANDS"
