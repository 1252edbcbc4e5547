#!/usr/bin/env bash
# scripts/bench-jobs.sh — the job service against SYSTEM.md's bars (issues 3 and 4), with the
# references (wrk on /health, pgbench of the same SQL) measured in the SAME run on this machine.
#
# Runs its own release build of saas-api, saas-worker and saas-mock-llm (all on loopback: API
# :8103, mock :8190), on a PostgreSQL database of its own (saas_bench, dropped and made afresh at
# every run; the processes migrate it) and Redis db 5 (flushed) — never the tests' (saas_test,
# saas_e2e, db 1/3) nor development's (saas, db 0). Set-up goes through the admin API, the way
# scripts/demo-setup.sh does it: one organization, the mock as an `openai` provider, one model
# group, one team per phase (credits: 10,000,000 each).
#
#   1. read     wrk -t2 -c64 -d15s --latency GET /api/credits/teams/{id}/balance (Bearer key)
#               beside the same wrk on GET /health                       goal: ratio >= 0.5
#   2. submit   wrk -t2 -c64 -d20s --latency -s bench/jobs-submit.lua (POST /api/jobs/create, one
#               team, no worker running: jobs just queue); every 2xx checked against the rows in
#               PostgreSQL (and the ledger and the Redis queue); beside it pgbench of the same
#               submit SQL one job per transaction (bench/jobs-submit.sql, -c 64 -j 2 -T 20
#               -M prepared)                                   bar: >= 2,000 req/s, p99 <= 50 ms
#   3. e2e      one worker (WORKER_CONCURRENCY=256) running, mock at 0 ms; 20,000 jobs of one team
#               submitted by a concurrent client (python3 asyncio, standard library, 64 keep-alive
#               connections); jobs/s from the first submit to the last settlement (PostgreSQL's
#               completed_at), p50/p99 of completed_at - created_at, Redis round trips per job
#               from the worker's own counter (its last log line at SIGTERM); beside it pgbench of
#               submit + settlement SQL, one job per transaction each (bench/jobs-submit.sql then
#               bench/jobs-settle.sql in one script: tps = jobs/s)
#                                                    bar: >= 1,000 jobs/s, <= 3 round trips/job
#   4. slow     mock at latency_ms 1000; 5,000 jobs queued with no worker; then ONE worker with
#               WORKER_CONCURRENCY=1000: seconds from its start to the last settlement, peak RSS
#               of the API and the worker meanwhile (VmRSS sampled every 100 ms, and VmHWM), the
#               mock's max_in_flight                       bar: <= 7 s (floor 5 s), <= 150 MiB
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
#   BENCH_KEEP_BIN       1 = keep the run's copy of the binaries (results folder, bin/) [0]
#   BENCH_API_LOG_LEVEL  the API's LOG_LEVEL (it logs every request at info)          [info]
#   BENCH_E2E_JOBS       jobs of phase 3                                               [20000]
#   BENCH_SLOW_JOBS      jobs of phase 4                                               [5000]
#   BENCH_ONLY           comma-separated subset of read,submit,nul,e2e,slow            [all]
#                        (nul: right after submit's clean run, the same wrk with 1 request
#                        in 100 carrying U+0000, which must be 422s that slow nothing down)
#   BENCH_HISTORY_JOBS   finished jobs of another team put in the jobs table before measuring,
#                        then ANALYZE: a service that has run for a while has them, and its
#                        planner statistics say so (0 = measure on an empty table)   [100000]
#   BENCH_PROFILE        1 = `perf record -a -e cpu-clock -g` during the balance, submit and
#                        e2e runs (per-process and per-symbol reports), and PostgreSQL's
#                        sessions sampled every 20 ms during submit and e2e (state, wait
#                        event, statement: pg-activity-*.txt)                          [0]
#   BENCH_IDLE_MAX       CPU busy % above which a measurement waits for the machine to
#                        calm down (other builds, tests) before it starts             [25]
#   BENCH_IDLE_WAIT      seconds to wait for that at most, then measure anyway        [60]
# Whole run: about 5 minutes after the build (which is ~10 minutes the first time on 2 cores).
# Everything — the load generators, the API, the worker, the mock, PostgreSQL and Redis — shares
# the machine's cores, as the bars say; the script waits (bounded) for an idle CPU before each
# measurement, but cannot stop someone else's build from starting in the middle of one: read the
# warnings under the table before reading the figures.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"

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
SLOW_JOBS="${BENCH_SLOW_JOBS:-5000}"
SLOW_CONCURRENCY=1000
SLOW_LATENCY_MS=1000
HISTORY_JOBS="${BENCH_HISTORY_JOBS:-100000}"
CREDITS=10000000
MODEL_GROUP=bench
API_LOG_LEVEL="${BENCH_API_LOG_LEVEL:-info}"
ONLY="${BENCH_ONLY:-read,submit,nul,e2e,slow}"
PROFILE="${BENCH_PROFILE:-0}"
IDLE_MAX="${BENCH_IDLE_MAX:-25}"
IDLE_WAIT="${BENCH_IDLE_WAIT:-60}"

say() { echo "bench: $*" >&2; }
die() { echo "bench: ERROR: $*" >&2; exit 1; }
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

for tool in wrk pgbench psql redis-cli python3 curl swift awk ss; do
  command -v "$tool" >/dev/null || die "$tool not installed (run scripts/deps.sh)"
done
if [[ "$PROFILE" == 1 ]]; then command -v perf >/dev/null || die "BENCH_PROFILE=1 needs perf"; fi

# ---------------------------------------------------------------- services, ports
say "starting services"
services_env="$(scripts/services.sh start)"
DATABASE_URL="$(sed -n 's/^DATABASE_URL=//p' <<<"$services_env")"
REDIS_URL="$(sed -n 's/^REDIS_URL=//p' <<<"$services_env")"
[[ -n "$DATABASE_URL" && -n "$REDIS_URL" ]] || die "scripts/services.sh start printed no DATABASE_URL/REDIS_URL"
BENCH_DB_URL="${DATABASE_URL%/*}/$DB_NAME"
redis_hostport="${REDIS_URL#redis://}"
redis_hostport="${redis_hostport%%/*}"
redis_hostport="${redis_hostport##*@}"
REDIS_HOST="${redis_hostport%%:*}"
REDIS_PORT="${redis_hostport##*:}"
BENCH_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB"
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" "$@"; }
sql() { psql "$BENCH_DB_URL" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

for port in "$API_PORT" "$MOCK_PORT" "$WORKER_METRICS_PORT"; do
  if ss -Hltn "sport = :$port" | grep -q .; then die "port $port is taken (another run of this script?)"; fi
done

# ---------------------------------------------------------------- build
# What is built (other work may be going on in the checkout): the commit and uncommitted changes.
SOURCE_STATE="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
dirty="$(git status --porcelain -- Sources Package.swift 2>/dev/null | wc -l)"
((dirty == 0)) || SOURCE_STATE+=" + $dirty uncommitted file(s) under Sources/Package.swift"
BUILD_DIR="$REPO/.build-release/release"
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 || ! -x "$BUILD_DIR/saas-api" || ! -x "$BUILD_DIR/saas-worker" || ! -x "$BUILD_DIR/saas-mock-llm" ]]; then
  say "building (release, --scratch-path .build-release)"
  swift build -c release --scratch-path .build-release >&2
else
  SOURCE_STATE="binaries of $(stat -c %y "$BUILD_DIR/saas-api" | cut -c1-19) (BENCH_SKIP_BUILD=1; checkout at $SOURCE_STATE)"
fi
for product in saas-api saas-worker saas-mock-llm; do
  [[ -x "$BUILD_DIR/$product" ]] || die "no $BUILD_DIR/$product after the build"
done

OUT="$REPO/bench-results/jobs-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
say "raw outputs in $OUT"
# The run uses a copy of the binaries (and their resource bundles: the migrations), so that a
# build in the shared scratch path during the run can neither replace them under the processes
# nor leave the profiler without symbols. The copy is deleted at the end (BENCH_KEEP_BIN=1 keeps it).
BIN_DIR="$OUT/bin"
mkdir -p "$BIN_DIR"
cp -p "$BUILD_DIR/saas-api" "$BUILD_DIR/saas-worker" "$BUILD_DIR/saas-mock-llm" "$BIN_DIR/"
cp -pr "$BUILD_DIR"/*.resources "$BIN_DIR/" 2>/dev/null || true
COMMANDS="$OUT/commands.txt"
: >"$COMMANDS"

# ---------------------------------------------------------------- processes
declare -A PID_OF=()   # name → pid of what this script started
BACKGROUND=()          # samplers, perf

stop_proc() {  # name [grace seconds]: SIGTERM, wait, then SIGKILL; reaps it
  local name="$1" grace="${2:-15}" pid i
  pid="${PID_OF[$name]:-}"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "warning: $name (pid $pid) ignored SIGTERM for ${grace}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  unset "PID_OF[$name]"
}

cleanup() {
  local status=$? pid name
  trap - EXIT INT TERM
  for pid in "${BACKGROUND[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for name in worker api mock; do stop_proc "$name" 10; done
  for pid in "${BACKGROUND[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "${BENCH_KEEP_BIN:-0}" != 1 && -n "${BIN_DIR:-}" ]]; then rm -rf "$BIN_DIR"; fi
  # The API logs every request (hundreds of MB a run): keep the logs, compressed.
  if [[ -n "${OUT:-}" ]]; then gzip -f "$OUT/api.log" "$OUT/mock.log" 2>/dev/null || true; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the results folder (so no .env of the checkout is read), logging to NAME.log;
# the command is `env VAR=… binary args…`, so $! is the binary's own pid.
start_proc() {  # name, command...
  local name="$1"; shift
  (cd "$OUT" && exec "$@") >>"$OUT/$name.log" 2>&1 &
  PID_OF[$name]=$!
}

app_env=(env ENVIRONMENT=development DATABASE_URL="$BENCH_DB_URL" REDIS_URL="$BENCH_REDIS_URL"
  MASTER_KEY="$MASTER_KEY" HOST=127.0.0.1 PORT="$API_PORT" WORKER_METRICS_PORT="$WORKER_METRICS_PORT")

wait_http() {  # url, seconds, name
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "${PID_OF[$3]}" 2>/dev/null || die "$3 exited while starting: $(tail -n 5 "$OUT/$3.log")"
    sleep 0.1
  done
  die "$3 did not answer $1 within $2 s: $(tail -n 5 "$OUT/$3.log")"
}

start_api() {
  start_proc api "${app_env[@]}" LOG_LEVEL="$API_LOG_LEVEL" "$BIN_DIR/saas-api" serve
  wait_http "http://127.0.0.1:$API_PORT/ready" 60 api
}

start_worker() {  # concurrency
  start_proc worker "${app_env[@]}" LOG_LEVEL=info WORKER_CONCURRENCY="$1" "$BIN_DIR/saas-worker"
}

# Stops the worker with SIGTERM and reads its last line: "worker stopped … jobs_run=N
# redis_round_trips=M" → sets JOBS_RUN, ROUND_TRIPS (empty when the line is missing); its log
# becomes worker-PHASE.log.
stop_worker_and_count() {  # phase
  local line
  stop_proc worker 60
  mv "$OUT/worker.log" "$OUT/worker-$1.log"
  line="$(grep 'worker stopped' "$OUT/worker-$1.log" | tail -n 1 || true)"
  JOBS_RUN="$(sed -n 's/.*jobs_run=\([0-9]*\).*/\1/p' <<<"$line")"
  ROUND_TRIPS="$(sed -n 's/.*redis_round_trips=\([0-9]*\).*/\1/p' <<<"$line")"
  [[ -n "$line" ]] || say "warning: the worker printed no 'worker stopped' line (see $OUT/worker-$1.log)"
}

# ---------------------------------------------------------------- measuring helpers
cpu_busy() {
  local a b
  a=($(head -n 1 /proc/stat)); sleep 1; b=($(head -n 1 /proc/stat))
  awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); total = 0
    for (i = 2; i <= n; i++) total += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%d", (total > 0 ? 100 * (total - idle) / total : 0)  # parenthesised: a bare ">" is awk output redirection
  }'
}

wait_idle() {  # what is about to be measured
  local waited=0 busy
  while busy="$(cpu_busy)"; ((busy > IDLE_MAX)); do
    if ((waited >= IDLE_WAIT)); then
      say "warning: CPU still ${busy}% busy after ${IDLE_WAIT}s; measuring anyway (figures skewed)"
      echo "busy ${busy}% at $(date +%T) before: $1" >>"$OUT/warnings.txt"
      return
    fi
    ((waited == 0)) && say "CPU ${busy}% busy; waiting for it to calm down (up to ${IDLE_WAIT}s)"
    sleep 2
    waited=$((waited + 3))
  done
}

CLK_TCK="$(getconf CLK_TCK)"
TIMEFORMAT='%U %S'  # `time` prints the load generator's user and system CPU seconds
# All busy ticks of the machine, and those spent in interrupts (loopback networking's softirqs are
# charged to no process).
machine_ticks() { awk 'NR == 1 { busy = 0; for (i = 2; i <= NF; i++) if (i != 5 && i != 6) busy += $i; print busy }' /proc/stat; }
irq_ticks() { awk 'NR == 1 { print $7 + $8 }' /proc/stat; }
# Our PostgreSQL cluster (postmaster and its children) and our Redis — not other checkouts' servers.
our_postgres_pids() {
  local postmaster
  postmaster="$(head -n 1 "$REPO/.data/postgres/postmaster.pid" 2>/dev/null || true)"
  if [[ -n "$postmaster" ]]; then echo "$postmaster"; pgrep -P "$postmaster" || true; else pgrep -x postgres || true; fi
}
our_redis_pid() { cat "$REPO/.data/redis/redis.pid" 2>/dev/null || pgrep -x redis-server || true; }
# Every process's CPU ticks now (JSON {pid: [command, ticks]}).
proc_snapshot() {
  python3 -c '
import json, os
out = {}
for pid in os.listdir("/proc"):
    if not pid.isdigit(): continue
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    out[pid] = [comm, int(rest[11]) + int(rest[12])]
print(json.dumps(out))'
}

# CPU accounting of a measured stretch: cpu_mark before, cpu_report LABEL after. From snapshots of
# every process: CPU seconds of the API, the worker, our PostgreSQL (backends opened meanwhile
# included), our Redis, the mock, the load generator, interrupts, and the biggest other users of
# the machine — someone else's build or tests skew the figures, and the table says so.
cpu_mark() {
  CPU_T0="$(date +%s.%N)"
  CPU_ALL0="$(machine_ticks)"
  CPU_IRQ0="$(irq_ticks)"
  proc_snapshot >"$OUT/.cpu-snapshot.json"
}
cpu_report() {  # label, CPU seconds of the load generator
  local t1 all irq pg
  t1="$(date +%s.%N)"
  all=$(($(machine_ticks) - CPU_ALL0))
  irq=$(($(irq_ticks) - CPU_IRQ0))
  pg="$(our_postgres_pids | paste -sd, -)"
  proc_snapshot | python3 -c '
import json, sys
label, snap, hz, wall, cores, busy, irq, gen, warnings = sys.argv[1:10]
before, now, hz = json.load(open(snap)), json.load(sys.stdin), int(hz)
wall, cores, busy, irq, gen = float(wall), int(cores), int(busy) / hz, int(irq) / hz, float(gen or 0)
groups, seen = {}, set()
for spec in sys.argv[10:]:
    name, _, pids = spec.partition("=")
    pids = [p for p in pids.split(",") if p and p in now]
    groups[name] = sum(now[p][1] - before.get(p, [None, 0])[1] for p in pids) / hz
    seen.update(pids)
others = {}
for pid, (comm, ticks) in now.items():
    used = ticks - before.get(pid, [comm, 0])[1]
    if pid not in seen and used > 0 and comm not in ("wrk", "python3", "psql"):
        others[comm] = others.get(comm, 0) + used / hz
rest = max(0.0, busy - sum(groups.values()) - irq - gen)  # per-process times include some interrupt time
json.dump(dict(groups, wall=wall, busy=busy, irq=irq, generator=gen, rest=rest), open(snap.replace(".cpu-snapshot.json", f"cpu-{label}.json"), "w"))
print(f"wall {wall:.1f} s x {cores} cores = {wall * cores:.1f} CPU-s; busy {busy:.1f} ({100 * busy / (wall * cores):.0f}%): "
      + ", ".join(f"{k} {v:.1f}" for k, v in groups.items())
      + f", load generator {gen:.1f}, interrupts {irq:.1f}, everything else {rest:.1f}")
print("  everything else, biggest: " + (", ".join(f"{c} {t:.1f}" for c, t in sorted(others.items(), key=lambda kv: -kv[1])[:6]) or "none"))
if rest > 0.15 * wall * cores:
    with open(warnings, "a") as f:
        f.write(f"{label}: {100 * rest / (wall * cores):.0f}% of the CPU went to processes outside the benchmark\n")
' "$1" "$OUT/.cpu-snapshot.json" "$CLK_TCK" "$(awk -v a="$CPU_T0" -v b="$t1" 'BEGIN { print b - a }')" "$(nproc)" "$all" "$irq" "${2:-0}" \
    "$OUT/warnings.txt" "API=${PID_OF[api]:-}" "worker=${PID_OF[worker]:-}" "PostgreSQL=$pg" "Redis=$(our_redis_pid)" \
    "mock=${PID_OF[mock]:-}" | tee "$OUT/cpu-$1.txt" >&2
}
cpu_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT/cpu-$1.json" "$2"; }  # label, group
# Server CPU per request (µs): the API's, and PostgreSQL's and Redis's, over a count of requests.
us_per_request() { awk -v c="$(cpu_of "$1" "$2")" -v n="$3" 'BEGIN { printf "%.0f", (n > 0) ? 1e6 * c / n : 0 }'; }

# Optional system-wide profile of a measured stretch.
PERF_PID=""
perf_start() {  # label, seconds
  [[ "$PROFILE" == 1 ]] || return 0
  perf record -a -g -e cpu-clock -F 499 -o "$OUT/perf-$1.data" -- sleep "$2" >"$OUT/perf-$1.log" 2>&1 &
  PERF_PID=$!
  BACKGROUND+=("$PERF_PID")
}
perf_finish() {  # label
  [[ "$PROFILE" == 1 && -n "$PERF_PID" ]] || return 0
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  perf report -i "$OUT/perf-$1.data" --stdio --no-children --sort comm -g none 2>/dev/null | grep -v '^#' | grep -v '^$' \
    | head -n 20 >"$OUT/perf-$1-by-process.txt" || true
  perf report -i "$OUT/perf-$1.data" --stdio --no-children --sort comm,dso,sym -g none 2>/dev/null | grep -v '^#' \
    | grep -v '^$' | head -n 80 | swift demangle --simplified >"$OUT/perf-$1-by-symbol.txt" 2>/dev/null || true
  say "profile: $OUT/perf-$1-by-process.txt, $OUT/perf-$1-by-symbol.txt"
}

# Optional sampling of PostgreSQL's sessions of the benchmark database every 20 ms (state, wait
# event, statement) — where the hot account row's lock holders spend their time: executing, or
# idle in transaction waiting for the application's next statement.
PGACT_PID=""
pg_activity_start() {  # label
  [[ "$PROFILE" == 1 ]] || return 0
  printf '%s \\watch 0.02\n' "SELECT state, coalesce(wait_event_type || ':' || wait_event, '-'),
    left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity WHERE datname = '$DB_NAME'
    AND pid <> pg_backend_pid() AND state <> 'idle' AND application_name <> 'pgbench' AND query NOT LIKE '%pg_stat_activity%'" \
    >"$OUT/pg-activity.sql"
  psql "$DATABASE_URL" -X -A -t -f "$OUT/pg-activity.sql" >"$OUT/pg-activity-$1.raw" 2>/dev/null &
  PGACT_PID=$!
  BACKGROUND+=("$PGACT_PID")
}
pg_activity_finish() {  # label
  [[ "$PROFILE" == 1 && -n "$PGACT_PID" ]] || return 0
  kill "$PGACT_PID" 2>/dev/null || true
  wait "$PGACT_PID" 2>/dev/null || true
  PGACT_PID=""
  { echo "samples (every 20 ms) of non-idle sessions: state | wait event | statement"
    awk -F'|' 'NF >= 3' "$OUT/pg-activity-$1.raw" | sort | uniq -c | sort -rn | head -n 40; } >"$OUT/pg-activity-$1.txt"
  say "PostgreSQL activity: $OUT/pg-activity-$1.txt"
}

# wrk's summary → WRK_RPS, WRK_P50, WRK_P99 (ms), WRK_REQUESTS, WRK_NON2XX, WRK_ERRORS.
to_ms() { awk -v v="$1" 'BEGIN {
  n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
  printf "%.2f", n }'; }
parse_wrk() {  # file
  WRK_RPS="$(awk '/^Requests\/sec:/ { print $2 }' "$1")"
  WRK_P50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$1")")"
  WRK_P99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$1")")"
  WRK_REQUESTS="$(awk '/requests in/ { print $1 }' "$1")"
  WRK_NON2XX="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$1")"
  WRK_NON2XX="${WRK_NON2XX:-0}"
  WRK_ERRORS="$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }' "$1")"
  [[ -n "$WRK_RPS" ]] || die "wrk printed no rate (see $1)"
}

pgbench_tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -n 1; }

# A concurrent submitter (python3, standard library only): N jobs for one team over C keep-alive
# connections, each connection sending its next request as soon as the last one was answered.
# Prints one JSON line: statuses, first send and last answer (epoch s), its own latencies and CPU.
submit_jobs() {  # n, connections, team, key, output file
  python3 - "$1" "$2" "$3" "$4" "$API_PORT" "$MODEL_GROUP" >"$5" <<'PY'
import asyncio, json, resource, sys, time

n, connections, team, key, port, model = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
body = json.dumps({"team_id": team, "job_type": "chat", "model": model,
                   "messages": [{"role": "user", "content": "hello"}]}).encode()
request = (f"POST /api/jobs/create HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
state = {"next": 0, "first": None, "last": None}
statuses, latencies, errors = {}, [], []

async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length": length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower(): chunked = True
        elif name == b"connection" and b"close" in value.lower(): close = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0: break
    else:
        await reader.readexactly(length)
    return status, close

async def connection():
    reader = writer = None
    while state["next"] < n:
        state["next"] += 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            sent = time.time()
            if state["first"] is None: state["first"] = sent
            writer.write(request)
            status, close = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError) as error:  # counted, never retried (it may have created a job)
            errors.append(repr(error))
            if writer is not None: writer.close()
            writer = None
            continue
        done = time.time()
        state["last"] = done
        latencies.append(done - sent)
        statuses[status] = statuses.get(status, 0) + 1
        if close: writer.close(); writer = None
    if writer is not None: writer.close()

async def main():
    await asyncio.gather(*(connection() for _ in range(connections)))

started = time.time()
asyncio.run(main())
latencies.sort()
pct = lambda p: round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else None
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"requests": n, "connections": connections, "statuses": {str(k): v for k, v in sorted(statuses.items())},
                  "errors": len(errors), "first_error": errors[0] if errors else None,
                  "first_send": state["first"], "last_answer": state["last"], "seconds": round(time.time() - started, 3),
                  "p50_ms": pct(0.50), "p99_ms": pct(0.99), "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}))
PY
}
json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
json_2xx() { python3 -c 'import json, sys; print(sum(c for s, c in json.load(open(sys.argv[1]))["statuses"].items() if s.startswith("2")))' "$1"; }

# Samples VmRSS of the given pids every 100 ms into FILE (epoch, kB per pid) until killed.
rss_sampler() {  # file, pids...
  local file="$1"; shift
  local pid key v value line
  while true; do
    line="$EPOCHREALTIME"
    for pid in "$@"; do
      value=0
      { while read -r key v _; do [[ "$key" == VmRSS: ]] && value="$v"; done <"/proc/$pid/status"; } 2>/dev/null || true
      line+=" $value"
    done
    echo "$line" >>"$file"
    sleep 0.1
  done
}
vm_hwm_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

ROWS=()  # "figure|value|reference|ratio|bar|verdict"
NOTES=() # diagnostics printed under the table
note() { NOTES+=("$1"); }
# Where a job's time went, p50/p99 over a team's completed jobs: claimed (started_at, the claiming
# transaction's start) → upstream call started (the call row's created_at, taken when the call
# ended, minus its latency) → call ended → settled (completed_at, the settling transaction's start).
stages() {  # team
  sql "WITH x AS (SELECT extract(epoch FROM c.created_at - j.started_at) * 1000 - c.latency_ms AS dispatch, c.latency_ms AS call,
                         extract(epoch FROM j.completed_at - c.created_at) * 1000 AS settle
                  FROM jobs j JOIN job_calls c ON c.job_id = j.job_id AND c.billed WHERE j.team_id = '$1' AND j.status = 'completed')
       SELECT format('claimed → call started %s / %s ms · call %s / %s ms · call ended → settled %s / %s ms (p50 / p99)',
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY dispatch)::numeric), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY dispatch)::numeric),
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY call)::numeric), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY call)::numeric),
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY settle)::numeric), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY settle)::numeric))
       FROM x"
}

# Jobs of a team per half second since a moment (epoch s), by one of their timestamps.
timeline() {  # team, column, start
  sql "WITH b AS (SELECT floor((extract(epoch FROM $2) - $3) * 2)::int AS b FROM jobs WHERE team_id = '$1' AND $2 IS NOT NULL)
       SELECT string_agg(coalesce(n, 0)::text, ' ' ORDER BY g) FROM generate_series(least(0, (SELECT min(b) FROM b)), (SELECT max(b) FROM b)) g
       LEFT JOIN (SELECT b, count(*) n FROM b GROUP BY b) c ON c.b = g"
}
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); }
verdict() {  # value op bar → met / NOT met
  awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN {
    ok = (op == ">=") ? (v + 0 >= b + 0) : (v + 0 <= b + 0)
    printf "%s", (v == "" || v == "?") ? "n/a" : (ok ? "met" : "NOT met") }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
cmd() { echo "$1" >>"$COMMANDS"; }

# ---------------------------------------------------------------- fresh database, Redis db, processes
say "fresh database $DB_NAME and Redis db $REDIS_DB"
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME" >/dev/null
rcli FLUSHDB >/dev/null

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
  reply="$(admin POST /api/teams/create "{\"organization_id\":\"bench\",\"team_id\":\"$team\",\"model_groups\":[\"$MODEL_GROUP\"],\"credits_allocated\":$CREDITS}")"
  KEY_OF[$team]="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["virtual_key"])' "$reply")"
done
rm -f "$OUT/admin-reply.json"

# One job through the API: what it reserves (pgbench's reservations are the same) and a warm path.
probe="$(curl -sS -X POST "$API/api/jobs/create" -H "Authorization: Bearer ${KEY_OF[bench-read]}" -H 'Content-Type: application/json' \
  -d "{\"team_id\":\"bench-read\",\"job_type\":\"chat\",\"model\":\"$MODEL_GROUP\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}")"
RESERVE="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["credits_reserved"])' "$probe" 2>/dev/null)" \
  || die "the probe submit failed: $probe"
say "one job reserves $RESERVE credit(s)"

# Waiting for settlements polls PostgreSQL through ONE long-lived psql (a coprocess), not a psql
# per poll: forking psql and a backend five times a second would take CPU from what is measured.
coproc POLLER { exec psql "$BENCH_DB_URL" -X -q -A -t -v ON_ERROR_STOP=1; }
BACKGROUND+=("$POLLER_PID")
poll() {  # query → POLL (one line)
  echo "$1;" >&"${POLLER[1]}"
  IFS= read -r -t 60 POLL <&"${POLLER[0]}" || die "the polling psql did not answer (query: $1)"
}
wait_settled() {  # team, seconds; stops early if the worker exits
  local deadline=$((SECONDS + $2))
  while :; do
    poll "SELECT count(*) FROM jobs WHERE team_id = '$1' AND status NOT IN ('completed', 'failed', 'cancelled', 'expired')"
    ((POLL == 0)) && return 0
    kill -0 "${PID_OF[worker]}" 2>/dev/null || die "the worker exited: $(tail -n 5 "$OUT/worker.log")"
    ((SECONDS < deadline)) || { say "warning: $POLL jobs of $1 still not settled after $2 s"; return 0; }
    sleep 0.1
  done
}

# How many PostgreSQL transactions carried a team's submits, claims and settlements, and how many
# jobs each carried on average: rows written by one transaction share its now() (ledger rows'
# created_at, jobs' started_at).
batches() {  # team → "submit N tx (avg a) · claim N tx (avg b) · settle N tx (avg c)"
  sql "SELECT concat_ws(' · ',
      (SELECT format('submit %s tx (avg %s jobs)', count(*), round(avg(n), 1)) FROM (SELECT count(*) n FROM credit_ledger
         WHERE team_id = '$1' AND transaction_type = 'reservation' GROUP BY created_at) s),
      (SELECT format('claim %s tx (avg %s)', count(*), round(avg(n), 1)) FROM (SELECT count(*) n FROM jobs
         WHERE team_id = '$1' AND started_at IS NOT NULL GROUP BY started_at) s),
      (SELECT format('settle %s tx (avg %s)', count(*), round(avg(n), 1)) FROM (SELECT count(*) n FROM credit_ledger
         WHERE team_id = '$1' AND transaction_type = 'release' GROUP BY created_at) s))"
}

# History: finished (cancelled: no money moved, so no ledger rows) jobs of a team of their own,
# over the last day. On an empty, freshly analyzed table the planner takes `jobs` for tiny and
# plans lookups on it — the foreign-key checks of every ledger and call row among them — as
# sequential scans until autovacuum analyzes it again; a running service has history and stats.
if ((HISTORY_JOBS > 0)); then
  say "history: $HISTORY_JOBS finished jobs of team bench-history, then ANALYZE"
  admin POST /api/teams/create "{\"organization_id\":\"bench\",\"team_id\":\"bench-history\",\"model_groups\":[\"$MODEL_GROUP\"],\"credits_allocated\":0}" >/dev/null
  rm -f "$OUT/admin-reply.json"
  sql "INSERT INTO jobs (job_id, team_id, job_type, status, priority, model_group, request, metadata, budget_mode, tokens_per_credit,
         credits_per_dollar, credits_reserved, reservation_number, calls_planned, error_code, error_message, created_at,
         completed_at, expires_at, updated_at)
       SELECT gen_random_uuid(), 'bench-history', 'chat', 'cancelled', 0, '$MODEL_GROUP',
              '{\"messages\":[{\"content\":\"hello\",\"role\":\"user\"}]}', '{}', 'job_based', 10000, 10, 0, 1, 1, 'cancelled',
              'The job was cancelled', now() - g * interval '864 ms', now() - g * interval '864 ms' + interval '1 minute',
              now() - g * interval '864 ms' + interval '1 day', now()
       FROM generate_series(1, $HISTORY_JOBS) AS g" >/dev/null
  psql "$BENCH_DB_URL" -X -q -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE jobs" >/dev/null
fi
cmd "history: $HISTORY_JOBS cancelled jobs of team bench-history inserted with SQL, then VACUUM ANALYZE jobs (BENCH_HISTORY_JOBS)"

# Drops every job of the measured teams (and, by cascade, their ledger rows) and the queue: the
# next phase starts empty (the history stays).
reset_jobs() {
  sql "DELETE FROM jobs WHERE team_id <> 'bench-history'; UPDATE credit_accounts SET credits_reserved = 0, credits_used = 0" >/dev/null
  rcli FLUSHDB >/dev/null
  sleep 1  # a sweep that read the jobs just before the DELETE may re-enqueue them: flush again
  rcli FLUSHDB >/dev/null
  psql "$BENCH_DB_URL" -X -q -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE jobs" -c "VACUUM ANALYZE credit_ledger" \
    -c "VACUUM ANALYZE credit_accounts" >/dev/null
}

pgbench_tables() {
  PGOPTIONS="-c client_min_messages=warning" psql "$BENCH_DB_URL" -X -q -v ON_ERROR_STOP=1 -v team=pgbench-team \
    -v credits=1000000000000 -f bench/jobs-tables.sql >/dev/null
}
PGBENCH_ARGS=(-n -c "$CONNECTIONS" -j "$PG_THREADS" -T "$SUBMIT_SECONDS" -M prepared -D team=pgbench-team -D "model=$MODEL_GROUP" -D "reserve=$RESERVE")
PGBENCH_SHOWN="pgbench -n -c $CONNECTIONS -j $PG_THREADS -T $SUBMIT_SECONDS -M prepared -D team=pgbench-team -D model=$MODEL_GROUP -D reserve=$RESERVE"

# ================================================================ 1. read
if wants read; then
  wait_idle "wrk /health"
  say "1. wrk /health (${READ_SECONDS}s, after a 3 s warm-up)"
  c_health="wrk -t$WRK_THREADS -c$CONNECTIONS -d${READ_SECONDS}s --latency $API/health"
  # Warm-ups, not measured: connections, prepared statements and caches exist before the clock runs.
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s "$API/health" >/dev/null 2>&1 || true
  cpu_mark
  { time $c_health >"$OUT/wrk-health.txt"; } 2>"$OUT/wrk-health.time" || die "wrk /health failed"
  cpu_report health "$(awk '{ print $1 + $2 }' "$OUT/wrk-health.time")"
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
  cpu_report balance "$(awk '{ print $1 + $2 }' "$OUT/wrk-balance.time")"
  perf_finish balance
  cmd "read: wrk -t$WRK_THREADS -c$CONNECTIONS -d${READ_SECONDS}s --latency -H 'Authorization: Bearer <key:bench-read>' $url"
  parse_wrk "$OUT/wrk-balance.txt"
  ((WRK_NON2XX == 0)) || say "warning: $WRK_NON2XX non-2xx answers to the balance reads"
  r="$(ratio "$WRK_RPS" "$health_rps")"
  row "GET balance req/s (wrk c64)" "$WRK_RPS" "$health_rps (/health)" "$r" ">= 0.5 x /health" "$(verdict "$r" ">=" 0.5)"
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
  before="$(sql "SELECT count(*) FROM jobs WHERE team_id = 'bench-submit'")"
  cpu_mark
  perf_start submit "$((SUBMIT_SECONDS - 4))"
  pg_activity_start submit
  { time BENCH_TEAM=bench-submit BENCH_KEY="${KEY_OF[bench-submit]}" BENCH_MODEL="$MODEL_GROUP" \
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${SUBMIT_SECONDS}s" --latency -s bench/jobs-submit.lua "$API" \
    >"$OUT/wrk-submit.txt" ; } 2>"$OUT/wrk-submit.time" || die "wrk submit failed"
  cpu_report submit "$(awk '{ print $1 + $2 }' "$OUT/wrk-submit.time")"
  pg_activity_finish submit
  perf_finish submit
  cmd "submit: BENCH_TEAM=bench-submit BENCH_KEY=<key:bench-submit> BENCH_MODEL=$MODEL_GROUP wrk -t$WRK_THREADS -c$CONNECTIONS -d${SUBMIT_SECONDS}s --latency -s bench/jobs-submit.lua $API"
  parse_wrk "$OUT/wrk-submit.txt"
  submit_rps="$WRK_RPS"
  ok2xx="$(awk '$1 == "status" && $2 >= 200 && $2 < 300 { s += $3 } END { print s + 0 }' "$OUT/wrk-submit.txt")"
  not2xx="$(awk '$1 == "status" && ($2 < 200 || $2 >= 300) { s += $3 } END { print s + 0 }' "$OUT/wrk-submit.txt")"
  sleep 2  # requests still in flight when wrk stopped finish on the server
  rows="$(( $(sql "SELECT count(*) FROM jobs WHERE team_id = 'bench-submit'") - before ))"
  queued_redis="$(rcli ZCARD "{q}:ready:bench-submit")"
  ledger_ok="$(sql "SELECT (SELECT sum(credits_amount) FROM credit_ledger WHERE team_id = 'bench-submit')
                          = (SELECT credits_allocated - credits_used - credits_reserved FROM credit_accounts WHERE team_id = 'bench-submit')
                       AND (SELECT count(*) FROM credit_ledger WHERE team_id = 'bench-submit' AND transaction_type = 'reservation')
                          = (SELECT count(*) FROM jobs WHERE team_id = 'bench-submit')")"
  {
    echo "wrk 2xx answers: $ok2xx, non-2xx: $not2xx, socket errors: ${WRK_ERRORS:-none}"
    echo "job rows created: $rows (rows - 2xx = $((rows - ok2xx)): requests in flight when wrk stopped, at most $CONNECTIONS)"
    echo "jobs in the Redis queue: $queued_redis; ledger adds up and one reservation row per job: $ledger_ok"
  } | tee "$OUT/submit-checks.txt" >&2
  extra=$((rows - ok2xx))
  if ((extra >= 0 && extra <= CONNECTIONS)) && [[ "$ledger_ok" == t && "$queued_redis" == "$rows" ]]; then check=ok; else check=MISMATCH; fi
  row "submit req/s (wrk c64, 1 team)" "$submit_rps" "" "" ">= 2000" "$(verdict "$submit_rps" ">=" 2000)"
  row "submit p50 ms" "$WRK_P50" "" "" "" ""
  row "submit p99 ms" "$WRK_P99" "" "" "<= 50" "$(verdict "$WRK_P99" "<=" 50)"
  row "submit CPU us/req: API, PostgreSQL" "$(us_per_request submit API "$WRK_REQUESTS"), $(us_per_request submit PostgreSQL "$WRK_REQUESTS")" "" "" "" ""
  row "submit 2xx / job rows / queued" "$ok2xx / $rows / $queued_redis" "" "" "rows-2xx in 0..$CONNECTIONS" "$check"
  row "submit non-2xx" "$not2xx" "" "" "0" "$(verdict "$not2xx" "<=" 0)"
  note "submit: PostgreSQL transactions: $(batches bench-submit)"

  if wants nul; then
    # The same load with 1 request in 100 carrying U+0000: each must be a 422 at the door, and
    # the other 99 must go as fast as in the clean run just before (issue 8: ratio >= 0.9).
    wait_idle "wrk submit with U+0000"
    say "2b. wrk POST /api/jobs/create, 1 % of requests with U+0000 (${SUBMIT_SECONDS}s)"
    BENCH_NUL_EVERY=100 BENCH_TEAM=bench-submit BENCH_KEY="${KEY_OF[bench-submit]}" BENCH_MODEL="$MODEL_GROUP" \
      wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${SUBMIT_SECONDS}s" --latency -s bench/jobs-submit.lua "$API" \
      >"$OUT/wrk-submit-nul.txt" || die "wrk submit with U+0000 failed"
    cmd "submit-nul: BENCH_NUL_EVERY=100 BENCH_TEAM=bench-submit BENCH_KEY=<key:bench-submit> BENCH_MODEL=$MODEL_GROUP wrk -t$WRK_THREADS -c$CONNECTIONS -d${SUBMIT_SECONDS}s --latency -s bench/jobs-submit.lua $API"
    parse_wrk "$OUT/wrk-submit-nul.txt"
    nul_422="$(awk '$1 == "status" && $2 == 422 { s += $3 } END { print s + 0 }' "$OUT/wrk-submit-nul.txt")"
    nul_other="$(awk '$1 == "status" && $2 != 422 && ($2 < 200 || $2 >= 300) { s += $3 } END { print s + 0 }' "$OUT/wrk-submit-nul.txt")"
    r="$(ratio "$WRK_RPS" "$submit_rps")"
    row "submit req/s with 1 % U+0000" "$WRK_RPS" "$submit_rps (clean)" "$r" ">= 0.9 x clean" "$(verdict "$r" ">=" 0.9)"
    row "  p99 ms with 1 % U+0000" "$WRK_P99" "" "" "" ""
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
  say "3. end to end: one worker (concurrency $E2E_CONCURRENCY), mock at 0 ms, $E2E_JOBS jobs of team bench-e2e"
  curl -fsS -X PUT "$MOCK_URL/_mock/behaviour" -d '{"latency_ms":0}' >/dev/null
  : >"$OUT/worker.log"
  start_worker "$E2E_CONCURRENCY"
  for _ in $(seq 1 100); do grep -q 'worker started' "$OUT/worker.log" && break; sleep 0.1; done
  grep -q 'worker started' "$OUT/worker.log" || die "the worker did not start: $(tail -n 5 "$OUT/worker.log")"
  wait_idle "e2e"
  cpu_mark
  perf_start e2e 15
  pg_activity_start e2e
  submit_jobs "$E2E_JOBS" "$CONNECTIONS" bench-e2e "${KEY_OF[bench-e2e]}" "$OUT/e2e-client.json"
  pg_activity_finish e2e
  cmd "e2e: python3 asyncio client in scripts/bench-jobs.sh (submit_jobs $E2E_JOBS $CONNECTIONS bench-e2e <key:bench-e2e>) with WORKER_CONCURRENCY=$E2E_CONCURRENCY LOG_LEVEL=info .build-release/release/saas-worker running"
  say "3. submitted: $(cat "$OUT/e2e-client.json")"
  accepted="$(json_2xx "$OUT/e2e-client.json")"
  wait_settled bench-e2e 300
  cpu_report e2e "$(json_field "$OUT/e2e-client.json" client_cpu_s)"
  perf_finish e2e
  sql "SELECT status, count(*) FROM jobs WHERE team_id = 'bench-e2e' GROUP BY status ORDER BY status" >"$OUT/e2e-statuses.txt"
  first_send="$(json_field "$OUT/e2e-client.json" first_send)"
  IFS='|' read -r completed last_settle p50 p99 <<<"$(sql "
    SELECT count(*) FILTER (WHERE status = 'completed'), extract(epoch FROM max(completed_at)),
           round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)))::numeric, 1),
           round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)))::numeric, 1)
    FROM jobs WHERE team_id = 'bench-e2e'")"
  e2e_seconds="$(awk -v a="$first_send" -v b="$last_settle" 'BEGIN { printf "%.2f", b - a }')"
  e2e_rate="$(awk -v n="$completed" -v s="$e2e_seconds" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')"
  submit_rate="$(awk -v n="$E2E_JOBS" -v s="$(json_field "$OUT/e2e-client.json" seconds)" 'BEGIN { printf "%.0f", n / s }')"
  e2e_batches="$(batches bench-e2e)"
  e2e_stages="$(stages bench-e2e)"
  stop_worker_and_count e2e
  per_job="$(awk -v m="${ROUND_TRIPS:-}" -v n="${JOBS_RUN:-0}" 'BEGIN { if (m == "" || n == 0) print "?"; else printf "%.2f", m / n }')"
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
  row "e2e jobs/s (submit→settled, 1 team)" "$e2e_rate" "$pg_e2e (pgbench)" "$(ratio "$e2e_rate" "$pg_e2e")" ">= 1000" "$(verdict "$e2e_rate" ">=" 1000)"
  row "  completed / submitted (202)" "$completed / $accepted" "" "" "$E2E_JOBS" "$( [[ "$completed" == "$E2E_JOBS" && "$accepted" == "$E2E_JOBS" ]] && echo ok || echo MISMATCH)"
  row "  first submit → last settled, s" "$e2e_seconds" "" "" "" ""
  row "  client submit rate req/s" "$submit_rate" "" "" "" ""
  row "  client submit p50 / p99 ms" "$(json_field "$OUT/e2e-client.json" p50_ms) / $(json_field "$OUT/e2e-client.json" p99_ms)" "" "" "" ""
  row "  completed_at-created_at p50 ms" "$p50" "" "" "" ""
  row "  completed_at-created_at p99 ms" "$p99" "" "" "" ""
  row "  Redis round trips per job" "$per_job" "${ROUND_TRIPS:-?}/${JOBS_RUN:-?}" "" "<= 3" "$(verdict "$per_job" "<=" 3)"
  row "  CPU us/job: API, worker, PG, Redis" "$(for g in API worker PostgreSQL Redis; do printf '%s ' "$(us_per_request e2e "$g" "$completed")"; done)" "" "" "" ""
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
  submit_jobs "$SLOW_JOBS" "$CONNECTIONS" bench-slow "${KEY_OF[bench-slow]}" "$OUT/slow-client.json"
  cmd "slow: python3 asyncio client (submit_jobs $SLOW_JOBS $CONNECTIONS bench-slow <key:bench-slow>), then WORKER_CONCURRENCY=$SLOW_CONCURRENCY LOG_LEVEL=info .build-release/release/saas-worker; mock: PUT /_mock/behaviour {\"latency_ms\":$SLOW_LATENCY_MS}"
  say "4. queued: $(cat "$OUT/slow-client.json")"
  slow_accepted="$(json_2xx "$OUT/slow-client.json")"
  curl -fsS -X POST "$MOCK_URL/_mock/stats/reset" >/dev/null
  wait_idle "slow"
  : >"$OUT/worker.log"
  cpu_mark
  worker_start="$(date +%s.%N)"
  start_worker "$SLOW_CONCURRENCY"
  rss_sampler "$OUT/rss-worker.txt" "${PID_OF[worker]}" &
  BACKGROUND+=($!); worker_sampler=$!
  wait_settled bench-slow 120
  cpu_report slow 0
  worker_hwm="$(vm_hwm_mib "${PID_OF[worker]}")"
  api_hwm="$(vm_hwm_mib "${PID_OF[api]}")"
  kill "$api_sampler" "$worker_sampler" 2>/dev/null || true
  wait "$api_sampler" "$worker_sampler" 2>/dev/null || true
  mock_stats="$(curl -fsS "$MOCK_URL/_mock/stats")"
  echo "$mock_stats" >"$OUT/slow-mock-stats.json"
  max_in_flight="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["max_in_flight"])' "$mock_stats")"
  sql "SELECT status, count(*) FROM jobs WHERE team_id = 'bench-slow' GROUP BY status ORDER BY status" >"$OUT/slow-statuses.txt"
  IFS='|' read -r slow_completed last_settle first_claim <<<"$(sql "
    SELECT count(*) FILTER (WHERE status = 'completed'), extract(epoch FROM max(completed_at)), extract(epoch FROM min(started_at))
    FROM jobs WHERE team_id = 'bench-slow'")"
  slow_seconds="$(awk -v a="$worker_start" -v b="$last_settle" 'BEGIN { printf "%.2f", b - a }')"
  first_claim_s="$(awk -v a="$worker_start" -v b="$first_claim" 'BEGIN { printf "%.2f", b - a }')"
  peak() { awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m / 1024 }' "$1"; }
  api_peak="$(peak "$OUT/rss-api.txt")"
  worker_peak="$(peak "$OUT/rss-worker.txt")"
  stop_worker_and_count slow
  per_job="$(awk -v m="${ROUND_TRIPS:-}" -v n="${JOBS_RUN:-0}" 'BEGIN { if (m == "" || n == 0) print "?"; else printf "%.2f", m / n }')"
  echo "slow: accepted $slow_accepted, completed $slow_completed, worker start → first claim ${first_claim_s}s → last settlement ${slow_seconds}s; mock max_in_flight $max_in_flight" \
    | tee "$OUT/slow-checks.txt" >&2
  row "slow: worker start → all settled, s" "$slow_seconds" "5.00 (floor)" "" "<= 7" "$(verdict "$slow_seconds" "<=" 7)"
  row "  completed / queued (202)" "$slow_completed / $slow_accepted" "" "" "$SLOW_JOBS" "$( [[ "$slow_completed" == "$SLOW_JOBS" && "$slow_accepted" == "$SLOW_JOBS" ]] && echo ok || echo MISMATCH)"
  row "  worker start → first claim, s" "$first_claim_s" "" "" "" ""
  row "  mock max_in_flight" "$max_in_flight" "$SLOW_CONCURRENCY (concurrency)" "" "" ""
  row "  worker peak RSS MiB (100 ms)" "$worker_peak" "VmHWM $worker_hwm" "" "<= 150" "$(verdict "$worker_peak" "<=" 150)"
  row "  API peak RSS MiB (100 ms)" "$api_peak" "VmHWM $api_hwm (lifetime)" "" "<= 150" "$(verdict "$api_peak" "<=" 150)"
  row "  Redis round trips per job" "$per_job" "${ROUND_TRIPS:-?}/${JOBS_RUN:-?}" "" "" ""
  note "slow: PostgreSQL transactions: $(batches bench-slow)"
  note "slow: per job: $(stages bench-slow)"
  note "slow: jobs claimed per 0.5 s since the worker started: $(timeline bench-slow started_at "$worker_start")"
  note "slow: jobs settled per 0.5 s since the worker started: $(timeline bench-slow completed_at "$worker_start")"
fi

# ---------------------------------------------------------------- table
{
  printf '%-38s %18s %24s %6s  %-22s %s\n' "figure" "value" "reference" "ratio" "bar" "verdict"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r figure value reference ratio bar verdict <<<"$r"
    printf '%-38s %18s %24s %6s  %-22s %s\n' "$figure" "$value" "$reference" "$ratio" "$bar" "$verdict"
  done
  echo "($(nproc) cores; built from $SOURCE_STATE; API LOG_LEVEL=$API_LOG_LEVEL; wrk -t$WRK_THREADS -c$CONNECTIONS; raw outputs in ${OUT#"$REPO"/})"
  for f in health balance submit e2e slow; do [[ -s "$OUT/cpu-$f.txt" ]] && echo "CPU during $f: $(cat "$OUT/cpu-$f.txt")"; done
  for n in "${NOTES[@]}"; do echo "$n"; done
  [[ -s "$OUT/warnings.txt" ]] && sed 's/^/warning: /' "$OUT/warnings.txt"
  echo
  echo "commands:"
  sed 's/^/  /' "$COMMANDS"
  true
} | tee "$OUT/table.txt"
