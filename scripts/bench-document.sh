#!/usr/bin/env bash
# scripts/bench-document.sh — one long document_analysis job against the mock upstream:
# wall time, number of calls, and the ratio of wall time to the critical path
#   (⌈map calls ÷ chunk concurrency⌉ + reduce levels) × per-call latency   (goal ≤ 1.3).
#
# Starts its own mock (on MOCK_PORT), API (API_PORT) and one worker against a database and Redis
# db of its own (saas_bench_doc, db 6), so it disturbs neither development nor tests.
#
# Environment (defaults in brackets): DOC_KIB [1024] document size, LATENCY_MS [200] per call,
# CONTEXT_TOKENS [8000] the model's context budget, CONCURRENCY [16] chunk calls at once,
# MAX_TOKENS [500] per call, BUILD_CONFIG [release] (debug is fine for this I/O-bound figure),
# API_PORT [8203], MOCK_PORT [8290]. Raw outputs (process logs, the report) are kept in
# bench-results/document-<time>/ (git-ignored); the processes run there, so no .env is read.
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
DOC_KIB="${DOC_KIB:-1024}"; LATENCY_MS="${LATENCY_MS:-200}"; CONTEXT_TOKENS="${CONTEXT_TOKENS:-8000}"
CONCURRENCY="${CONCURRENCY:-16}"; MAX_TOKENS="${MAX_TOKENS:-500}"; BUILD_CONFIG="${BUILD_CONFIG:-release}"
API_PORT="${API_PORT:-8203}"; MOCK_PORT="${MOCK_PORT:-8290}"
results_dir document

bench_services
ensure_database saas_bench_doc
SCRATCH=".build"; [[ "$BUILD_CONFIG" == release ]] && SCRATCH=".build-release"
say "build ($BUILD_CONFIG)"
swift build -c "$BUILD_CONFIG" --scratch-path "$SCRATCH" >&2
BIN="$(swift build -c "$BUILD_CONFIG" --scratch-path "$SCRATCH" --show-bin-path)"

DATABASE_URL="$(database_url saas_bench_doc)"
REDIS_URL="$(redis_url 6)"
export DATABASE_URL REDIS_URL PORT="$API_PORT" LOG_LEVEL=warning
export DOCUMENT_CONCURRENCY="$CONCURRENCY" WORKER_CONCURRENCY=8
trap 'stop_everything worker api mock' EXIT
start_proc mock "$BIN/saas-mock-llm" --port "$MOCK_PORT" --latency-ms "$LATENCY_MS"
start_proc api "$BIN/saas-api" serve
wait_http "http://127.0.0.1:$API_PORT/ready" 60 api
start_proc worker "$BIN/saas-worker"

python3 - "$API_PORT" "$MOCK_PORT" "$DOC_KIB" "$CONTEXT_TOKENS" "$MAX_TOKENS" "$CONCURRENCY" "$LATENCY_MS" <<'PY' | tee "$OUT/report.txt"
import json, math, sys, time, urllib.request, uuid
api, mock, kib, context, max_tokens, concurrency, latency = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
base = f"http://127.0.0.1:{api}"
admin = {"X-Admin-Key": "sk-admin-local-dev-change-in-production", "Content-Type": "application/json"}
def call(method, path, body=None, headers=admin):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())
tag = uuid.uuid4().hex[:8]
call("POST", "/api/organizations/create", {"organization_id": f"doc-{tag}", "name": "bench"})
call("POST", "/api/providers/create", {"name": f"mock-{tag}", "kind": "openai", "base_url": f"http://127.0.0.1:{mock}", "api_key": "sk-mock"})
call("POST", "/api/model-groups/create", {"group_name": f"doc-{tag}", "models": [
    {"model_name": "mock-long", "provider": f"mock-{tag}", "priority": 0, "context_tokens": context}]})
team = call("POST", "/api/teams/create", {"organization_id": f"doc-{tag}", "team_id": f"doc-{tag}", "model_groups": [f"doc-{tag}"], "credits_allocated": 1000})
key = {"Authorization": "Bearer " + team["virtual_key"], "Content-Type": "application/json"}
sentences = ["Revenue grew by twelve percent in the third quarter, driven by demand in Europe.",
             "Operating costs fell as the new logistics centre came online ahead of schedule.",
             "Risks include currency movements and the renegotiation of two supplier contracts."]
paragraphs, size, n = [], 0, 0
while size < kib * 1024:
    n += 1
    p = f"Section {n}. " + " ".join(sentences[(n + i) % 3] for i in range(6)) + "\n\n"
    paragraphs.append(p); size += len(p.encode())
document = "".join(paragraphs)
created = call("POST", "/api/jobs/create", {"team_id": f"doc-{tag}", "job_type": "document_analysis", "model": f"doc-{tag}",
                                             "document": document, "instructions": "List the key figures and risks.", "max_tokens": max_tokens}, key)
job_id = created["job_id"]
while True:
    job = call("GET", f"/api/jobs/{job_id}?wait=30", headers=key)
    if job["status"] in ("completed", "failed", "cancelled", "expired"): break
calls = call("GET", f"/api/jobs/{job_id}/calls", headers=key)["calls"]
def ts(s): return time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + s[20:23])
wall = ts(job["completed_at"]) - ts(job["started_at"])
chunk = [c for c in calls if c["step"] == "chunk"]
reduce_ = [c for c in calls if c["step"] == "reduce"]
levels = max([0] + [1]) if reduce_ else 0
# Reduce levels: the plan's fan-in, as the worker computes it, gives the depth.
room = context - max_tokens - (len("List the key figures and risks.".encode()) + 3) // 4 - 200
fan_in = max(2, room // max_tokens)
partials, levels = len(chunk), 0
while partials > 1:
    partials = math.ceil(partials / fan_in); levels += 1
critical = (math.ceil(len(chunk) / concurrency) + levels) * latency / 1000
print(f"document: {kib} KiB, context {context} tokens, max_tokens {max_tokens}, chunk concurrency {concurrency}, {latency} ms per call")
print(f"status: {job['status']}   calls: {len(calls)} ({len(chunk)} chunks + {len(reduce_)} reduce in {levels} level(s))   planned: {job['progress']['calls_planned']}")
print(f"usage: {job['usage']}   credits charged: {job['credits_charged']}")
print(f"wall time (started → completed): {wall:.2f} s   critical path: {critical:.2f} s   ratio: {wall / critical:.2f}  (goal ≤ 1.3)")
PY
