# shellcheck shell=bash
# scripts/lib/profile.sh — optional profiles of a measured stretch (bench-jobs.sh with
# BENCH_PROFILE=1): a system-wide perf record, and PostgreSQL's sessions sampled every 20 ms.
# Sourced after scripts/lib/common.sh, processes.sh and bench.sh; expects PROFILE (1 = on), OUT,
# DATABASE_URL (the maintenance database) and DB_NAME (the benchmark's database).

PERF_PID=""
perf_start() {  # label, seconds
  [[ "$PROFILE" == 1 ]] || return 0
  perf record -a -g -e cpu-clock -F 499 -o "$OUT/perf-$1.data" -- sleep "$2" >"$OUT/perf-$1.log" 2>&1 &
  PERF_PID=$!
  BACKGROUND+=("$PERF_PID")
}
perf_finish() {  # label: per-process and per-symbol reports
  [[ "$PROFILE" == 1 && -n "$PERF_PID" ]] || return 0
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  perf report -i "$OUT/perf-$1.data" --stdio --no-children --sort comm -g none 2>/dev/null | grep -v '^#' | grep -v '^$' \
    | head -n 20 >"$OUT/perf-$1-by-process.txt" || true
  perf report -i "$OUT/perf-$1.data" --stdio --no-children --sort comm,dso,sym -g none 2>/dev/null | grep -v '^#' \
    | grep -v '^$' | head -n 80 | swift demangle --simplified >"$OUT/perf-$1-by-symbol.txt" 2>/dev/null || true
  say "profile: $OUT/perf-$1-by-process.txt, $OUT/perf-$1-by-symbol.txt"
}

# PostgreSQL's sessions of the benchmark database (bench/sql/pg-activity.sql): where the hot
# account row's lock holders spend their time — executing, or idle in transaction waiting for the
# application's next statement.
PGACT_PID=""
pg_activity_start() {  # label
  [[ "$PROFILE" == 1 ]] || return 0
  sql_file "$DATABASE_URL" pg-activity -v db="$DB_NAME" >"$OUT/pg-activity-$1.raw" 2>/dev/null &
  PGACT_PID=$!
  BACKGROUND+=("$PGACT_PID")
}
pg_activity_finish() {  # label: the samples counted, most frequent first
  [[ "$PROFILE" == 1 && -n "$PGACT_PID" ]] || return 0
  # The pid is the subshell running sql_file; its psql (\watch, forever) is its child.
  pkill -TERM -P "$PGACT_PID" 2>/dev/null || true
  kill "$PGACT_PID" 2>/dev/null || true
  wait "$PGACT_PID" 2>/dev/null || true
  PGACT_PID=""
  { echo "samples (every 20 ms) of non-idle sessions: state | wait event | statement"
    awk -F'|' 'NF >= 3' "$OUT/pg-activity-$1.raw" | sort | uniq -c | sort -rn | head -n 40; } >"$OUT/pg-activity-$1.txt"
  say "PostgreSQL activity: $OUT/pg-activity-$1.txt"
}
