#!/usr/bin/env bash
# scripts/bench-scaling.sh — end-to-end jobs/s as processes are added (issue 13, docs/SCALING.md):
# scripts/bench-jobs.sh's e2e phase (20,000 jobs of one team, mock at 0 ms, each worker at
# WORKER_CONCURRENCY=256) once per combination of worker processes (1, 2, 4) and API processes
# (1, 2; a port each, the jobs split between one load generator per API), every run on a fresh
# database. Everything shares this machine's cores, the load generators included.
#
# Prints one table: workers, APIs, jobs/s, client submit p99, and per job the WAL bytes,
# PostgreSQL transactions and statements (pg_stat_statements, BEGIN/COMMIT included), Redis
# commands and the workers' Redis round trips, CPU µs of API / worker / PostgreSQL / Redis, and
# the mean submit / settle transaction time. Each run's own table and raw outputs stay in its
# bench-results/jobs-<time>/ folder (named in the output). A measurement, not a test.
#
# Environment: SCALING_RUNS ("workers:apis ..." [1:1 2:1 4:1 1:2 2:2 4:2]), and whatever
# bench-jobs.sh honours (BENCH_SKIP_BUILD, BENCH_BUILD_DIR, BENCH_E2E_JOBS, BENCH_HISTORY_JOBS…).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
RUNS="${SCALING_RUNS:-1:1 2:1 4:1 1:2 2:2 4:2}"
mkdir -p bench-results
SUMMARY="bench-results/scaling-$(date -u +%Y%m%d-%H%M%S).txt"
field() { awk -v label="$1" 'index($0, label) == 1 { print substr($0, length(label) + 1) }' "$2" | sed 's/^ *//' | awk '{ print $1 }'; }
rest() { awk -v label="$1" 'index($0, label) == 1 { print substr($0, length(label) + 1) }' "$2" | sed 's/^ *//;s/ *$//'; }

rows=()
first=1
for run in $RUNS; do
  workers="${run%%:*}" apis="${run##*:}"
  echo "scaling: $workers worker(s), $apis API(s)" >&2
  out="$(mktemp)"
  skip="${BENCH_SKIP_BUILD:-0}"; ((first)) || skip=1
  BENCH_SKIP_BUILD="$skip" BENCH_ONLY=e2e BENCH_WORKERS="$workers" BENCH_APIS="$apis" scripts/bench-jobs.sh >"$out"
  first=0
  rows+=("$(printf '%7s %4s %8s %10s %10s %7s %8s %9s %8s   %-22s %s' "$workers" "$apis" \
    "$(field 'e2e jobs/s (submit→settled, 1 team)' "$out")" \
    "$(rest '  client submit p50 / p99 ms' "$out" | awk '{ print $3 }')" \
    "$(rest '  per job: WAL bytes, PG tx, Redis cmds, PG stmts' "$out" | awk '{ print $1 }')" \
    "$(rest '  per job: WAL bytes, PG tx, Redis cmds, PG stmts' "$out" | awk '{ print $2 }')" \
    "$(rest '  per job: WAL bytes, PG tx, Redis cmds, PG stmts' "$out" | awk '{ print $4 }')" \
    "$(rest '  per job: WAL bytes, PG tx, Redis cmds, PG stmts' "$out" | awk '{ print $3 }')" \
    "$(rest '  Redis round trips per job' "$out" | awk '{ print $1 }')" \
    "$(rest '  CPU us/job: API, worker, PG, Redis' "$out")" \
    "$(rest '  mean tx ms (lock held): submit, settle' "$out")")")
  grep -o 'raw outputs in [^)]*' "$out" | head -n 1 >&2 || true
  rm -f "$out"
done
{
  printf '%7s %4s %8s %10s %10s %7s %8s %9s %8s   %-22s %s\n' workers APIs jobs/s "p99 ms" "WAL B/job" "tx/job" "stmt/job" "Redis/job" "RTT/job" "CPU us/job API wrk PG Redis" "tx ms submit, settle"
  printf '%s\n' "${rows[@]}"
  echo "($(nproc) cores; each row: BENCH_ONLY=e2e BENCH_WORKERS=w BENCH_APIS=a scripts/bench-jobs.sh)"
} | tee "$SUMMARY"
