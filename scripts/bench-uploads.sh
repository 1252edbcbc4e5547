#!/usr/bin/env bash
# scripts/bench-uploads.sh — documents as uploaded files (issue 14, "Measured"), in one run:
#
#   a. document  a generated PDF of PAGES pages (`saas-bench fixture pdf`, ~3 KB of prose a page)
#                submitted by multipart (curl -F job=…, file=@…) to a running API and one worker;
#                extraction time (GET /api/jobs/{id}/document: extraction_ms, page_count; the
#                worker's `document extracted` log line beside it), calls (map, reduce levels, all
#                from GET /api/jobs/{id}/calls), wall time from the submit to completed_at, and
#                wall ÷ (extraction + critical path), the critical path as in bench-document.sh:
#                  (⌈map calls ÷ chunk concurrency⌉ + reduce levels) × per-call latency
#   b. memory    the API started afresh (no worker: the jobs just queue), then UPLOADS curl
#                uploads of one ~UPLOAD_MIB MiB PDF all at once; the API's VmRSS sampled every
#                50 ms and its VmHWM at the end              bar: peak ≤ 150 MiB (streamed, not buffered)
#                beside the upload wall time and MiB/s the same-run limit: the same bytes, in the
#                same 1 MiB parts, written into the same table by UPLOADS concurrent psql
#                `\copy document_parts FROM … (FORMAT binary)` (no HTTP, no multipart, one
#                statement per file) — the upload path is reported as a ratio of it.
#                The uploaded jobs are cancelled and DELETEd afterwards (their bytes erased).
#
# Its own processes on loopback (mock :MOCK_PORT, API :API_PORT), database saas_bench_upload
# (dropped and made afresh at every run; the API migrates it) and Redis db 8 (flushed): never the
# tests' or development's. Prints its figures and, last, one JSON line; everything raw (process
# logs, fixtures' sizes, curl outputs, RSS samples, CPU accounting) is kept in
# bench-results/uploads-<time>/ (git-ignored; the fixtures and the COPY files are deleted at the
# end). These are measurements, not tests: the script fails when a tool, a process or a request
# fails, never on a bar.
#
# Environment (defaults in brackets):
#   BUILD_CONFIG     release (.build-release, as the other benchmarks) or debug (.build: a first
#                    check; the figures of a debug API are not the service's)             [release]
#   BENCH_SKIP_BUILD 1 = release binaries already in .build-release (see scripts/lib/bench.sh) [0]
#   BENCH_BUILD_DIR  take the binaries from this folder instead (implies no build)           []
#   PAGES [200]  LATENCY_MS [200] per mock call  CONTEXT_TOKENS [8000]  CONCURRENCY [16] chunk
#   calls at once (DOCUMENT_CONCURRENCY)  MAX_TOKENS [500] per call  UPLOADS [10]  UPLOAD_MIB [50]
#   (the file is at most that: MAX_DOCUMENT_BYTES is the API's default, 50 MiB)  RSS_BAR_MIB [150]
#   API_PORT [8213]  MOCK_PORT [8293]  REDIS_DB [8]
#   BENCH_IDLE_MAX [25] / BENCH_IDLE_WAIT [30]: before phase b and its reference the script waits
#   (bounded) for a quiet CPU; the CPU each process used meanwhile is reported under the figures.
# Whole run: about a minute after the build (a debug build generates the 50 MiB PDF in ~10 s).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
LOG_TAG=bench-uploads
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

BUILD_CONFIG="${BUILD_CONFIG:-release}"
PAGES="${PAGES:-200}"; LATENCY_MS="${LATENCY_MS:-200}"; CONTEXT_TOKENS="${CONTEXT_TOKENS:-8000}"
CONCURRENCY="${CONCURRENCY:-16}"; MAX_TOKENS="${MAX_TOKENS:-500}"
UPLOADS="${UPLOADS:-10}"; UPLOAD_MIB="${UPLOAD_MIB:-50}"; RSS_BAR_MIB="${RSS_BAR_MIB:-150}"
API_PORT="${API_PORT:-8213}"; MOCK_PORT="${MOCK_PORT:-8293}"; REDIS_DB="${REDIS_DB:-8}"
IDLE_MAX="${BENCH_IDLE_MAX:-25}"; IDLE_WAIT="${BENCH_IDLE_WAIT:-30}"
DB_NAME=saas_bench_upload
MASTER_KEY="sk-admin-local-dev-change-in-production"
API="http://127.0.0.1:$API_PORT"
MOCK_URL="http://127.0.0.1:$MOCK_PORT"
PRODUCTS=(saas-api saas-worker saas-mock-llm saas-bench)
[[ "$BUILD_CONFIG" == release || "$BUILD_CONFIG" == debug ]] || die "BUILD_CONFIG must be release or debug"

require_tools curl psql redis-cli python3 swift ss awk
bench_services
bench_check_ports "$API_PORT" "$MOCK_PORT"
BENCH_DB_URL="$(database_url "$DB_NAME")"
BENCH_REDIS_URL="$(redis_url "$REDIS_DB")"

# ---------------------------------------------------------------- build, results folder
if [[ -z "${BENCH_BUILD_DIR:-}" && "$BUILD_CONFIG" == debug ]]; then
  say "build (debug, .build)"
  swift build >&2
  BENCH_BUILD_DIR="$(swift build --show-bin-path)"
fi
bench_binaries "${PRODUCTS[@]}"
results_dir uploads
say "raw outputs in $OUT"
# A copy of the binaries (and the migrations): a build during the run cannot replace them.
bench_copy_binaries "${PRODUCTS[@]}"
SAAS_BENCH="$BIN_DIR/saas-bench"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  touch "$OUT/.copy-release"  # ends the reference's psql sessions (copy_session)
  stop_everything worker api mock
  rm -rf "${BIN_DIR:-/nonexistent}" "$OUT/fixtures"
  gzip -f "$OUT"/*.log 2>/dev/null || true
  ((status == 0)) || say "failed; what it left is in $OUT"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- fixtures
mkdir -p "$OUT/fixtures"
SMALL="$OUT/fixtures/report-$PAGES-pages.pdf"
BIG="$OUT/fixtures/report-$UPLOAD_MIB-mib.pdf"
say "fixtures: a $PAGES-page PDF and one of at most $UPLOAD_MIB MiB"
"$SAAS_BENCH" fixture pdf --pages "$PAGES" --out "$SMALL" | tee "$OUT/fixture-small.json" >&2
"$SAAS_BENCH" fixture pdf --max-mib "$UPLOAD_MIB" --out "$BIG" | tee "$OUT/fixture-big.json" >&2
BIG_BYTES="$(stat -c %s "$BIG")"

# ---------------------------------------------------------------- database, processes, set-up
say "fresh database $DB_NAME and Redis db $REDIS_DB"
sql_file "$DATABASE_URL" fresh-database -v db="$DB_NAME" >/dev/null
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" FLUSHDB >/dev/null
app_env=(env ENVIRONMENT=development DATABASE_URL="$BENCH_DB_URL" REDIS_URL="$BENCH_REDIS_URL" MASTER_KEY="$MASTER_KEY"
  HOST=127.0.0.1 PORT="$API_PORT" DOCUMENT_CONCURRENCY="$CONCURRENCY" WORKER_CONCURRENCY=8)
start_api() {
  start_proc api "${app_env[@]}" LOG_LEVEL=warning "$BIN_DIR/saas-api" serve
  wait_http "$API/ready" 60 api
}
start_proc mock "$BIN_DIR/saas-mock-llm" --host 127.0.0.1 --port "$MOCK_PORT" --latency-ms "$LATENCY_MS"
wait_http "$MOCK_URL/health" 30 mock
start_api
start_proc worker "${app_env[@]}" LOG_LEVEL=info "$BIN_DIR/saas-worker"

admin() {  # method path [json] → prints the body; dies unless 200
  local status
  status="$(curl -sS -o "$OUT/admin-reply.json" -w '%{http_code}' -X "$1" "$API$2" -H "X-Admin-Key: $MASTER_KEY" \
    -H 'Content-Type: application/json' ${3:+-d "$3"})"
  [[ "$status" == 200 ]] || die "admin $1 $2 answered $status: $(cat "$OUT/admin-reply.json")"
  cat "$OUT/admin-reply.json"
}
TEAM=bench-uploads
GROUP=bench-docs
admin POST /api/organizations/create '{"organization_id":"bench-uploads","name":"Upload benchmark"}' >/dev/null
admin POST /api/providers/create "{\"name\":\"bench-mock\",\"kind\":\"openai\",\"base_url\":\"$MOCK_URL\",\"api_key\":\"sk-mock-not-a-real-key\"}" >/dev/null
admin POST /api/model-groups/create "{\"group_name\":\"$GROUP\",\"models\":[{\"model_name\":\"mock-long\",\"provider\":\"bench-mock\",\"priority\":0,\"context_tokens\":$CONTEXT_TOKENS}]}" >/dev/null
KEY="$(admin POST /api/teams/create "{\"organization_id\":\"bench-uploads\",\"team_id\":\"$TEAM\",\"model_groups\":[\"$GROUP\"],\"credits_allocated\":10000000}" | json_get - virtual_key)"
rm -f "$OUT/admin-reply.json"
INSTRUCTIONS="List the key figures and risks, with the pages they are on."
printf '{"team_id":"%s","job_type":"document_analysis","model":"%s","instructions":"%s","max_tokens":%d}' \
  "$TEAM" "$GROUP" "$INSTRUCTIONS" "$MAX_TOKENS" >"$OUT/job-part.json"

# Submits a file by multipart; writes the answer to FILE and prints "status seconds bytes-sent".
upload() {  # pdf, answer file
  curl -sS -o "$2" -w '%{http_code} %{time_total} %{size_upload}\n' -H 'Expect:' -H "Authorization: Bearer $KEY" \
    -F "job=<$OUT/job-part.json;type=application/json" -F "file=@$1;type=application/pdf;filename=${1##*/}" \
    "$API/api/jobs/create"
}
team_get() { curl -fsS -H "Authorization: Bearer $KEY" "$API$1"; }  # path

# ---------------------------------------------------------------- a. one document, end to end
say "a. $PAGES-page PDF: submit, wait for completion"
SUBMITTED="$EPOCHREALTIME"
read -r status upload_seconds _ < <(upload "$SMALL" "$OUT/a-created.json")
[[ "$status" == 202 ]] || die "the $PAGES-page upload answered $status: $(cat "$OUT/a-created.json")"
JOB="$(json_get "$OUT/a-created.json" job_id)"
deadline=$((SECONDS + 180))
while :; do
  team_get "/api/jobs/$JOB?wait=30" >"$OUT/a-job.json"
  case "$(json_get "$OUT/a-job.json" status)" in
    completed) break ;;
    failed | cancelled | expired) die "the $PAGES-page job ended $(json_get "$OUT/a-job.json" status): $(cat "$OUT/a-job.json")" ;;
  esac
  ((SECONDS < deadline)) || die "the $PAGES-page job did not complete within 180 s"
  kill -0 "${PID_OF[worker]}" 2>/dev/null || die "the worker exited: $(tail -n 5 "$OUT/worker.log")"
done
team_get "/api/jobs/$JOB/document" >"$OUT/a-document.json"
team_get "/api/jobs/$JOB/calls" >"$OUT/a-calls.json"
# The worker's own line: `… kind=pdf ms=482 pages=200 … text_bytes=591500 [Worker] document extracted`.
EXTRACTED_LOG="$(grep -m1 'document extracted' "$OUT/worker.log" | grep -o '\(ms\|pages\|text_bytes\)=[0-9]*' | paste -sd' ' - || true)"

# ---------------------------------------------------------------- b. API memory under concurrent uploads
say "b. $UPLOADS uploads of $((BIG_BYTES >> 20)) MiB at once to a fresh API (no worker)"
stop_proc worker 30
stop_proc api 30
mv "$OUT/api.log" "$OUT/api-a.log"
start_api
API_PID="${PID_OF[api]}"
sleep 1
RSS_BEFORE_KB="$(awk '/^VmRSS:/ { print $2 }' "/proc/$API_PID/status")"
# VmRSS every 50 ms (epoch, kB) until killed.
sample_rss() {  # pid, file
  local key value _
  while :; do
    { while read -r key value _; do [[ "$key" == VmRSS: ]] && echo "$EPOCHREALTIME $value"; done <"/proc/$1/status"; } 2>/dev/null >>"$2" || true
    sleep 0.05
  done
}
wait_idle "b. uploads"
cpu_mark
sample_rss "$API_PID" "$OUT/b-api-rss.txt" &
SAMPLER=$!
BACKGROUND+=("$SAMPLER")
UP_START="$EPOCHREALTIME"
upload_pids=()
for ((i = 1; i <= UPLOADS; i++)); do
  upload "$BIG" "$OUT/b-created-$i.json" >"$OUT/b-curl-$i.txt" &
  upload_pids+=("$!")
done
BACKGROUND+=("${upload_pids[@]}")
for pid in "${upload_pids[@]}"; do wait "$pid" || die "an upload's curl failed (see $OUT/b-curl-*.txt)"; done
UP_END="$EPOCHREALTIME"
sleep 0.2
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
HWM_MIB="$(vm_hwm_mib "$API_PID")"
cpu_report uploads 0 "API=$API_PID" "PostgreSQL=$(our_postgres_pids)" "Redis=$(our_redis_pid)" >/dev/null
UPLOAD_JOBS=()
for ((i = 1; i <= UPLOADS; i++)); do
  read -r status _ <"$OUT/b-curl-$i.txt"
  [[ "$status" == 202 ]] || die "upload $i answered $status: $(cat "$OUT/b-created-$i.json")"
  UPLOAD_JOBS+=("$(json_get "$OUT/b-created-$i.json" job_id)")
done
STORED="$(psql "$BENCH_DB_URL" -X -A -t -v ON_ERROR_STOP=1 -c \
  "SELECT count(*) || ' ' || coalesce(sum(length(bytes)), 0) FROM document_parts WHERE document_id IN ($(printf "'%s'," "${UPLOAD_JOBS[@]}" | sed 's/,$//'))")"
read -r stored_parts stored_bytes <<<"$STORED"
((stored_bytes == UPLOADS * BIG_BYTES)) || die "PostgreSQL holds $stored_bytes bytes of the uploads, not $((UPLOADS * BIG_BYTES))"
PARTS_EACH=$(((BIG_BYTES + (1 << 20) - 1) >> 20))
((stored_parts == UPLOADS * PARTS_EACH)) || die "the uploads were stored in $stored_parts parts, not $UPLOADS × $PARTS_EACH of 1 MiB"

# The same-run limit: the same bytes in the same 1 MiB parts, by psql's COPY in binary format.
say "b. reference: $UPLOADS concurrent psql \\copy of the same bytes in 1 MiB parts"
python3 - "$BIG" "$OUT/fixtures" "$UPLOADS" >"$OUT/copy-ids.txt" <<'PY'
import struct, sys, uuid
source, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(source, "rb").read()
for n in range(1, count + 1):
    document = uuid.uuid4()
    with open(f"{folder}/copy-{n}.bin", "wb") as out:
        out.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0))
        for part, start in enumerate(range(0, len(data), 1 << 20)):
            chunk = data[start:start + (1 << 20)]
            out.write(struct.pack("!hi", 3, 16) + document.bytes + struct.pack("!ii", 4, part) + struct.pack("!i", len(chunk)) + chunk)
        out.write(struct.pack("!h", -1))
    print(document)
PY
mapfile -t COPY_IDS <"$OUT/copy-ids.txt"
psql "$BENCH_DB_URL" -X -q -v ON_ERROR_STOP=1 -c \
  "INSERT INTO documents (document_id, team_id, status) SELECT unnest(ARRAY[$(printf "'%s'," "${COPY_IDS[@]}" | sed 's/,$//')])::uuid, '$TEAM', 'uploading'"
# Each psql keeps its session (and PostgreSQL its backend) until released, so that the CPU
# accounting after the copies still finds the backends that did the work.
copy_session() {  # n
  { printf '%s\n' "\\copy document_parts FROM '$OUT/fixtures/copy-$1.bin' WITH (FORMAT binary)" '\echo copied'
    until [[ -e "$OUT/.copy-release" ]]; do sleep 0.1; done; } \
    | psql "$BENCH_DB_URL" -X -q -v ON_ERROR_STOP=1 >"$OUT/b-copy-$1.txt" 2>&1
}
wait_idle "b. reference"
cpu_mark
COPY_START="$EPOCHREALTIME"
copy_pids=()
for ((i = 1; i <= UPLOADS; i++)); do
  copy_session "$i" &
  copy_pids+=("$!")
done
BACKGROUND+=("${copy_pids[@]}")
deadline=$((SECONDS + 300))
while (($(cat "$OUT"/b-copy-*.txt 2>/dev/null | grep -c '^copied$') < UPLOADS)); do
  ! grep -qi error "$OUT"/b-copy-*.txt 2>/dev/null || die "a psql \\copy failed: $(grep -hi error "$OUT"/b-copy-*.txt)"
  ((SECONDS < deadline)) || die "the psql copies did not finish within 300 s"
  sleep 0.02
done
COPY_END="$EPOCHREALTIME"
cpu_report copy 0 "PostgreSQL=$(our_postgres_pids)" >/dev/null
touch "$OUT/.copy-release"
for pid in "${copy_pids[@]}"; do wait "$pid" || die "a psql session of the reference failed (see $OUT/b-copy-*.txt)"; done
rm -f "$OUT/.copy-release"
psql "$BENCH_DB_URL" -X -q -v ON_ERROR_STOP=1 -c \
  "DELETE FROM documents WHERE document_id IN ($(printf "'%s'," "${COPY_IDS[@]}" | sed 's/,$//'))"

say "b. cancelling and erasing the uploaded jobs"
for job in "${UPLOAD_JOBS[@]}"; do
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $KEY" "$API/api/jobs/$job/cancel" || die "cancel $job failed"
  curl -fsS -o /dev/null -X DELETE -H "Authorization: Bearer $KEY" "$API/api/jobs/$job" || die "DELETE $job failed"
done
LEFT="$(psql "$BENCH_DB_URL" -X -A -t -v ON_ERROR_STOP=1 -c \
  "SELECT count(*) FROM document_parts WHERE document_id IN ($(printf "'%s'," "${UPLOAD_JOBS[@]}" "${COPY_IDS[@]}" | sed 's/,$//'))")"
((LEFT == 0)) || die "$LEFT parts of the uploads are still in document_parts after DELETE"

# ---------------------------------------------------------------- report
python3 - "$OUT" "$SUBMITTED" "$upload_seconds" "$CONCURRENCY" "$LATENCY_MS" "$UPLOADS" "$BIG_BYTES" \
  "$RSS_BEFORE_KB" "$HWM_MIB" "$UP_START" "$UP_END" "$COPY_START" "$COPY_END" "$RSS_BAR_MIB" "$BUILD_CONFIG" \
  "$EXTRACTED_LOG" "$SOURCE_STATE" <<'PY' | tee "$OUT/report.txt"
import datetime, glob, json, math, sys
(out, submitted, upload_s, concurrency, latency, uploads, big_bytes, rss_before_kb, hwm, up_start, up_end,
 copy_start, copy_end, bar, build, extracted_log, source) = sys.argv[1:]
concurrency, latency, uploads, big_bytes = int(concurrency), int(latency), int(uploads), int(big_bytes)
load = lambda name: json.load(open(f"{out}/{name}"))
job, document, calls = load("a-job.json"), load("a-document.json"), load("a-calls.json")["calls"]
def when(stamp): return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
chunk = [c for c in calls if c["step"] == "chunk"]
reduce_ = [c for c in calls if c["step"] == "reduce"]
levels = sum(1 for c in reduce_ if c["step_index"] == 0 and c["attempt"] == 1)  # each level numbers its calls from 0
extraction = document["extraction_ms"] / 1000
critical = (math.ceil(len(chunk) / concurrency) + levels) * latency / 1000
wall = when(job["completed_at"]) - float(submitted)
fixture = load("fixture-small.json")
ratio_a = wall / (extraction + critical)
print(f"a. {document['page_count']}-page PDF ({fixture['bytes'] / 1024:.0f} KiB, {document['pages'][0]['text'].__len__()} chars on page 1), "
      f"{latency} ms per call, chunk concurrency {concurrency}, build {build}")
print(f"   upload: {float(upload_s):.3f} s   extraction: {extraction:.3f} s (worker's log: {extracted_log or 'no document extracted line'})")
print(f"   calls: {len(calls)} ({len(chunk)} map + {len(reduce_)} reduce in {levels} level(s))   planned: {job['progress']['calls_planned']}")
print(f"   wall (submit → completed_at): {wall:.2f} s   extraction + critical path: {extraction:.2f} + {critical:.2f} s   ratio: {ratio_a:.2f}")
samples = [int(line.split()[1]) for line in open(f"{out}/b-api-rss.txt") if line.split()[1:]]
peak = max(samples) / 1024
up_wall = float(up_end) - float(up_start)
copy_wall = float(copy_end) - float(copy_start)
mib = uploads * big_bytes / (1 << 20)
curls = [open(path).read().split() for path in sorted(glob.glob(f"{out}/b-curl-*.txt"))]
slowest = max(float(c[1]) for c in curls)
cpu = {label: json.load(open(f"{out}/cpu-{label}.json")) for label in ("uploads", "copy")}
def cpu_line(label): return "   cpu: " + open(f"{out}/cpu-{label}.txt").read().strip().replace("\n", "\n        ")
verdict = "meets" if max(peak, float(hwm)) <= float(bar) else "misses"
print(f"b. {uploads} uploads of {big_bytes / (1 << 20):.1f} MiB at once to a fresh API, no worker")
print(f"   API RSS: before {int(rss_before_kb) / 1024:.1f} MiB, peak sampled (50 ms) {peak:.1f} MiB, VmHWM {hwm} MiB "
      f"({len(samples)} samples)   bar ≤ {bar} MiB: {verdict}")
print(f"   uploads: {mib:.0f} MiB in {up_wall:.2f} s = {mib / up_wall:.1f} MiB/s (slowest curl {slowest:.2f} s)")
print(f"   reference, psql \\copy (binary) of the same bytes in 1 MiB parts, {uploads} at once: {copy_wall:.2f} s = "
      f"{mib / copy_wall:.1f} MiB/s   upload ÷ reference: {copy_wall / up_wall:.2f}")
print(cpu_line("uploads")); print(cpu_line("copy"))
print(f"   source: {source}; raw outputs in {out}")
print(json.dumps({"bench": "uploads", "build": build, "pages": document["page_count"], "extraction_ms": document["extraction_ms"],
    "map_calls": len(chunk), "reduce_calls": len(reduce_), "reduce_levels": levels, "calls": len(calls),
    "wall_s": round(wall, 3), "critical_path_s": round(critical, 3), "ratio_to_extraction_plus_critical": round(ratio_a, 2),
    "uploads": uploads, "upload_mib_each": round(big_bytes / (1 << 20), 2), "api_rss_before_mib": round(int(rss_before_kb) / 1024, 1),
    "api_rss_peak_mib": round(peak, 1), "api_vmhwm_mib": float(hwm), "rss_bar_mib": int(bar),
    "upload_s": round(up_wall, 3), "upload_mib_per_s": round(mib / up_wall, 1),
    "copy_s": round(copy_wall, 3), "copy_mib_per_s": round(mib / copy_wall, 1), "upload_to_copy": round(copy_wall / up_wall, 2)}))
PY
