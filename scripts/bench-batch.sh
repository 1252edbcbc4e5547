#!/usr/bin/env bash
# scripts/bench-batch.sh — jobs/s through POST /api/jobs/batch (1,000 jobs a request, a few
# requests at once) next to single submits (POST /api/jobs/create, `saas-bench jobs` over 64
# keep-alive connections) of the SAME team in the SAME run (issue 11: goal batch >= 5x single).
#
# Starts its own API (API_PORT) and no worker: the jobs only queue, as in bench-jobs.sh's submit
# phase, so what is measured is the submit path — checks, one transaction, one enqueue. Set-up
# goes through the admin API (one organization, a provider that is never called, one model
# group, one team with 100,000,000 credits, job_based). After both runs the jobs in PostgreSQL
# and in the Redis queue are counted against the 202s.
#
# Environment (defaults in brackets):
#   BENCH_BUILD_DIR      take the binaries from this folder (e.g. .build/debug) instead of a
#                        release build in .build-release                                    []
#   BENCH_SKIP_BUILD     1 = use the release binaries already in .build-release             [0]
#   BENCH_DB             PostgreSQL database, dropped and made afresh                [saas_bench_batch]
#   BENCH_REDIS_DB       Redis db, flushed                                                  [10]
#   API_PORT                                                                               [8403]
#   SINGLE_JOBS          single submits                                                  [20000]
#   SINGLE_CONNECTIONS   saas-bench jobs' keep-alive connections                            [64]
#   BATCH_REQUESTS       batch requests (each BATCH_SIZE jobs)                              [40]
#   BATCH_SIZE           jobs a batch                                                     [1000]
#   BATCH_CONCURRENCY    batch requests in flight at once (the API's BATCH_CONCURRENCY too) [4]
#   BENCH_IDLE_MAX       CPU busy % above which a measurement waits for the machine to calm  [25]
#   BENCH_IDLE_WAIT      seconds to wait for that at most, then measure anyway              [60]
#   BENCH_PROFILE        1 = `perf record -a` during the first 8 s of each run (per-process and
#                        per-symbol reports in the results folder)                           [0]
# Prints a table on stdout (figure, value) with the ratio and the goal, then the commands; raw
# outputs and process logs in bench-results/batch-<time>/ (git-ignored). A measurement, not a
# test: it fails only when a tool or a process fails, never on the goal.
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
# shellcheck source=lib/profile.sh
source "$REPO/scripts/lib/profile.sh"

API_PORT="${API_PORT:-8403}"
DB_NAME="${BENCH_DB:-saas_bench_batch}"
REDIS_DB="${BENCH_REDIS_DB:-10}"
SINGLE_JOBS="${SINGLE_JOBS:-20000}"
SINGLE_CONNECTIONS="${SINGLE_CONNECTIONS:-64}"
BATCH_REQUESTS="${BATCH_REQUESTS:-40}"
BATCH_SIZE="${BATCH_SIZE:-1000}"
BATCH_CONCURRENCY="${BATCH_CONCURRENCY:-4}"
IDLE_MAX="${BENCH_IDLE_MAX:-25}"
IDLE_WAIT="${BENCH_IDLE_WAIT:-60}"
PROFILE="${BENCH_PROFILE:-0}"
MASTER_KEY="sk-admin-local-dev-change-in-production"
PRODUCTS=(saas-api saas-bench)

require_tools psql redis-cli python3 curl swift awk

say "starting services"
bench_services
BENCH_DB_URL="$(database_url "$DB_NAME")"
BENCH_REDIS_URL="$(redis_url "$REDIS_DB")"
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" "$@"; }
bench_check_ports "$API_PORT"

bench_binaries "${PRODUCTS[@]}"
results_dir batch
say "raw outputs in $OUT"
bench_copy_binaries "${PRODUCTS[@]}"
COMMANDS="$OUT/commands.txt"
: >"$COMMANDS"

# A fresh database and queue: the API migrates the database at start.
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME" >/dev/null
rcli FLUSHDB >/dev/null

API="http://127.0.0.1:$API_PORT"
trap 'stop_everything api; rm -rf "$OUT/bin"' EXIT
start_proc api env DATABASE_URL="$BENCH_DB_URL" REDIS_URL="$BENCH_REDIS_URL" PORT="$API_PORT" LOG_LEVEL=warning \
  MASTER_KEY="$MASTER_KEY" BATCH_CONCURRENCY="$BATCH_CONCURRENCY" "$BIN_DIR/saas-api" serve
wait_http "$API/ready" 120 api

# ---------------------------------------------------------------- set-up (admin API)
TEAM=bench-batch
GROUP=bench-batch
python3 - "$API" "$MASTER_KEY" "$TEAM" "$GROUP" >"$OUT/team.json" <<'PY'
import json, sys, urllib.request
api, master, team, group = sys.argv[1:5]
def call(path, body):
    request = urllib.request.Request(api + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"X-Admin-Key": master, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
call("/api/organizations/create", {"organization_id": "bench-batch", "name": "bench"})
call("/api/providers/create", {"name": "bench-batch", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-never-called"})
call("/api/model-groups/create", {"group_name": group, "models": [{"model_name": "m", "provider": "bench-batch", "priority": 0}]})
created = call("/api/teams/create", {"organization_id": "bench-batch", "team_id": team, "model_groups": [group], "credits_allocated": 100000000})
print(json.dumps({"key": created["virtual_key"]}))
PY
KEY="$(json_get "$OUT/team.json" key)"

# ---------------------------------------------------------------- single submits
wait_idle "single submits"
say "single submits: $SINGLE_JOBS jobs over $SINGLE_CONNECTIONS connections"
perf_start single 8
echo "single: saas-bench jobs --url $API --jobs $SINGLE_JOBS --connections $SINGLE_CONNECTIONS --team $TEAM --key <key:$TEAM> --model $GROUP" >>"$COMMANDS"
"$BIN_DIR/saas-bench" jobs --url "$API" --jobs "$SINGLE_JOBS" --connections "$SINGLE_CONNECTIONS" --team "$TEAM" --key "$KEY" \
  --model "$GROUP" >"$OUT/single.json" 2>"$OUT/single.err" || die "saas-bench jobs failed: $(tail -n 3 "$OUT/single.err")"
perf_finish single

# ---------------------------------------------------------------- batches
wait_idle "batches"
say "batches: $BATCH_REQUESTS requests of $BATCH_SIZE jobs, $BATCH_CONCURRENCY at once"
perf_start batch 8
echo "batch: python3 (http.client, $BATCH_CONCURRENCY threads) POST $API/api/jobs/batch x $BATCH_REQUESTS, $BATCH_SIZE jobs each (the same body as saas-bench jobs sends)" >>"$COMMANDS"
python3 - "$API_PORT" "$KEY" "$TEAM" "$GROUP" "$BATCH_REQUESTS" "$BATCH_SIZE" "$BATCH_CONCURRENCY" >"$OUT/batch.json" <<'PY'
import http.client, json, sys, threading, time
port, key, team, group = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
requests, size, concurrency = map(int, sys.argv[5:8])
# saas-bench jobs' body, byte for byte.
job = json.dumps({"team_id": team, "job_type": "chat", "model": group, "messages": [{"role": "user", "content": "hello"}]})
body = ('{"jobs": [' + ",".join([job] * size) + "]}").encode()
headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
lock = threading.Lock()
state = {"next": 0, "queued": 0, "refused": 0, "statuses": {}, "latencies": []}
def worker():
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    while True:
        with lock:
            if state["next"] >= requests: break
            state["next"] += 1
        sent = time.monotonic()
        connection.request("POST", "/api/jobs/batch", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        elapsed = time.monotonic() - sent
        with lock:
            state["statuses"][response.status] = state["statuses"].get(response.status, 0) + 1
            state["latencies"].append(elapsed)
            if response.status == 202:
                for entry in json.loads(answer)["jobs"]:
                    if entry.get("status") == "queued": state["queued"] += 1
                    else: state["refused"] += 1
    connection.close()
threads = [threading.Thread(target=worker) for _ in range(concurrency)]
started = time.monotonic()
for thread in threads: thread.start()
for thread in threads: thread.join()
seconds = time.monotonic() - started
latencies = sorted(state["latencies"])
pick = lambda p: round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else None
print(json.dumps({"requests": requests, "size": size, "concurrency": concurrency, "seconds": round(seconds, 3),
                  "queued": state["queued"], "refused": state["refused"], "statuses": state["statuses"],
                  "jobs_per_sec": round(state["queued"] / seconds, 1), "p50_ms": pick(0.5), "p99_ms": pick(0.99)}))
PY

perf_finish batch

# ---------------------------------------------------------------- checks and table
SINGLE_RATE="$(json_get "$OUT/single.json" ops_per_sec)"
SINGLE_OK="$(json_get "$OUT/single.json" succeeded)"
SINGLE_P99="$(json_get "$OUT/single.json" p99_ms)"
BATCH_RATE="$(json_get "$OUT/batch.json" jobs_per_sec)"
BATCH_QUEUED="$(json_get "$OUT/batch.json" queued)"
BATCH_P50="$(json_get "$OUT/batch.json" p50_ms)"
BATCH_P99="$(json_get "$OUT/batch.json" p99_ms)"
STORED="$(psql "$BENCH_DB_URL" -tAc "SELECT count(*) FROM jobs WHERE team_id = '$TEAM' AND status = 'queued'")"
LEDGER_OFF="$(psql "$BENCH_DB_URL" -tAc "SELECT count(*) FROM credit_accounts a WHERE a.credits_allocated - a.credits_used - a.credits_reserved <> (SELECT COALESCE(sum(credits_amount), 0) FROM credit_ledger l WHERE l.team_id = a.team_id)")"
QUEUED_REDIS="$(rcli --raw EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', '{q}:*')) do if redis.call('TYPE', k).ok == 'zset' then n = n + redis.call('ZCARD', k) end end return n" 0 2>/dev/null || echo '?')"

row "single submits (POST /api/jobs/create, $SINGLE_CONNECTIONS conn.)" "$SINGLE_RATE jobs/s" "p99 $SINGLE_P99 ms, $SINGLE_OK x 202"
row "batches ($BATCH_SIZE a request, $BATCH_CONCURRENCY at once)" "$BATCH_RATE jobs/s" "p50 $BATCH_P50 ms, p99 $BATCH_P99 ms a request, $BATCH_QUEUED queued"
row "ratio batch / single" "$(ratio "$BATCH_RATE" "$SINGLE_RATE")x" "goal >= 5x: $(verdict "$(ratio "$BATCH_RATE" "$SINGLE_RATE")" '>=' 5)"
row "jobs queued in PostgreSQL (expected $((SINGLE_OK + BATCH_QUEUED)))" "$STORED" "ledger off for $LEDGER_OFF team(s)"
row "jobs in the Redis queue's sorted sets" "$QUEUED_REDIS" ""
table_print "%-62s %-16s %s\n" "figure" "value" "notes"
echo
echo "binaries: $SOURCE_STATE"
if [[ -s "$OUT/warnings.txt" ]]; then echo "warnings (the machine was busy):"; sed 's/^/  /' "$OUT/warnings.txt"; fi
echo "commands:"
sed 's/^/  /' "$COMMANDS"
