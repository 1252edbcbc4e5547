#!/usr/bin/env bash
# scripts/bench-ratelimit.sh — a 429 storm: the mock answers 429 (Retry-After 1 s) to half of
# all calls while jobs keep arriving above the provider's configured rate limit. Prints, per
# 10 s window, the jobs submitted, the upstream's request rate against the limit, and at the end
# how many jobs failed (bar: none fails for rate limiting; the request rate stays under the limit).
#
# Starts its own mock (MOCK_PORT), API (API_PORT) and one worker against database saas_bench_rl
# and Redis db 7. Environment (defaults): SECONDS_TOTAL [60], RPM [600] the provider's limit,
# SUBMIT_PER_SECOND [20], BUILD_CONFIG [release], API_PORT [8303], MOCK_PORT [8390].
# Raw outputs (process logs, the report) are kept in bench-results/ratelimit-<time>/ (git-ignored);
# the processes run there, so no .env is read.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
LOG_TAG=bench
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
# shellcheck source=lib/bench.sh
source "$REPO/scripts/lib/bench.sh"
# shellcheck source=lib/processes.sh
source "$REPO/scripts/lib/processes.sh"
SECONDS_TOTAL="${SECONDS_TOTAL:-60}"; RPM="${RPM:-600}"; SUBMIT_PER_SECOND="${SUBMIT_PER_SECOND:-20}"
BUILD_CONFIG="${BUILD_CONFIG:-release}"; API_PORT="${API_PORT:-8303}"; MOCK_PORT="${MOCK_PORT:-8390}"
results_dir ratelimit

bench_services
ensure_database saas_bench_rl
SCRATCH=".build"; [[ "$BUILD_CONFIG" == release ]] && SCRATCH=".build-release"
swift build -c "$BUILD_CONFIG" --scratch-path "$SCRATCH" >&2
BIN="$(swift build -c "$BUILD_CONFIG" --scratch-path "$SCRATCH" --show-bin-path)"

DATABASE_URL="$(database_url saas_bench_rl)"
REDIS_URL="$(redis_url 7)"
export DATABASE_URL REDIS_URL PORT="$API_PORT" LOG_LEVEL=warning
export WORKER_CONCURRENCY=64 RETRY_BASE_SECONDS=0.2 RETRY_CAP_SECONDS=2
trap 'stop_everything worker api mock' EXIT
start_proc mock "$BIN/saas-mock-llm" --port "$MOCK_PORT" --latency-ms 50
start_proc api "$BIN/saas-api" serve
wait_http "http://127.0.0.1:$API_PORT/ready" 60 api
start_proc worker "$BIN/saas-worker"

python3 - "$API_PORT" "$MOCK_PORT" "$SECONDS_TOTAL" "$RPM" "$SUBMIT_PER_SECOND" "${MODE:-rate_limit}" "$DATABASE_URL" <<'PY' | tee "$OUT/report.txt"
import json, subprocess, sys, threading, time, urllib.request, uuid
api, mock, total, rpm, rate = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
base = f"http://127.0.0.1:{api}"
admin = {"X-Admin-Key": "sk-admin-local-dev-change-in-production", "Content-Type": "application/json"}
def call(url, method="GET", body=None, headers=admin):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")
tag = uuid.uuid4().hex[:8]
call(base + "/api/organizations/create", "POST", {"organization_id": f"rl-{tag}", "name": "bench"})
call(base + "/api/providers/create", "POST", {"name": f"mock-{tag}", "kind": "openai", "base_url": f"http://127.0.0.1:{mock}", "api_key": "sk-mock", "rpm": rpm})
call(base + "/api/model-groups/create", "POST", {"group_name": f"rl-{tag}", "models": [{"model_name": "mock-rl", "provider": f"mock-{tag}", "priority": 0}]})
team = call(base + "/api/teams/create", "POST", {"organization_id": f"rl-{tag}", "team_id": f"rl-{tag}", "model_groups": [f"rl-{tag}"], "credits_allocated": 1000000})
key = {"Authorization": "Bearer " + team["virtual_key"], "Content-Type": "application/json"}
call(f"http://127.0.0.1:{mock}/_mock/behaviour", "PUT", {"mode": sys.argv[6], "failure_rate": 0.5, "retry_after_seconds": 1}, {"Content-Type": "application/json"})
jobs, lock = [], threading.Lock()
def submit():
    body = {"team_id": f"rl-{tag}", "job_type": "chat", "model": f"rl-{tag}", "messages": [{"role": "user", "content": "hello"}]}
    job = call(base + "/api/jobs/create", "POST", body, key)
    with lock: jobs.append(job["job_id"])
print(f"provider limit {rpm} requests/min = {rpm / 60:.1f}/s; submitting {rate} jobs/s for {total} s; the mock answers 429 to half of all calls")
print(f"{'window':>8} {'jobs submitted':>15} {'upstream req/s':>15} {'of which 429':>13} {'limit/s':>8}")
def upstream_calls():
    # Every call the workers made, as they recorded it (job_calls), with its status.
    sql = f"SELECT count(*), count(*) FILTER (WHERE status_code = 429) FROM job_calls WHERE provider = 'mock-{tag}'"
    out = subprocess.run(["psql", sys.argv[7], "-tAc", sql], capture_output=True, text=True, check=True).stdout.strip()
    total, limited = out.split("|")
    return int(total), int(limited)
start = time.time(); window_start = start
last = upstream_calls()
submitted_window = 0
while time.time() - start < total:
    tick = time.time()
    for _ in range(rate):
        threading.Thread(target=submit).start()
    submitted_window += rate
    time.sleep(max(0, 1 - (time.time() - tick)))
    if time.time() - window_start >= 10:
        stats = upstream_calls()
        elapsed = time.time() - window_start
        calls = stats[0] - last[0]
        limited = stats[1] - last[1]
        print(f"{int(time.time() - start):>7}s {submitted_window:>15} {calls / elapsed:>15.1f} {limited / elapsed:>13.1f} {rpm / 60:>8.1f}")
        last, window_start, submitted_window = stats, time.time(), 0
call(f"http://127.0.0.1:{mock}/_mock/behaviour", "PUT", {"mode": "ok"}, {"Content-Type": "application/json"})
deadline = time.time() + 300
statuses = {}
while time.time() < deadline:
    statuses = {}
    for job_id in jobs:
        status = call(f"{base}/api/jobs/{job_id}", headers=key)["status"]
        statuses[status] = statuses.get(status, 0) + 1
    if sum(v for s, v in statuses.items() if s in ("completed", "failed", "cancelled", "expired")) == len(jobs): break
    time.sleep(2)
print(f"jobs: {len(jobs)} submitted; final statuses {statuses}; failed: {statuses.get('failed', 0)}")
sql = f"SELECT max(n) FROM (SELECT count(*) AS n FROM job_calls WHERE provider = 'mock-{tag}' GROUP BY date_trunc('second', created_at)) s"
peak = subprocess.run(["psql", sys.argv[7], "-tAc", sql], capture_output=True, text=True, check=True).stdout.strip()
print(f"busiest second: {peak} upstream calls (limit {rpm / 60:.0f}/s; calls are stamped when they end, so a second may gather calls begun earlier)")
PY
