# shellcheck shell=bash
# scripts/lib/tool-output.sh — the figures in the reference tools' outputs (wrk, pgbench,
# redis-benchmark) and in saas-bench's JSON line. Sourced after scripts/lib/common.sh.

# A wrk duration (812.00us, 3.21ms, 1.02s, 1.5m) in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN {
  n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
  printf "%.2f", n }'; }

# wrk's summary (run with --latency) → WRK_RPS, WRK_P50, WRK_P99 (ms), WRK_REQUESTS, WRK_NON2XX,
# WRK_ERRORS.
# shellcheck disable=SC2034  # the caller's to read
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

# Answers with a status in LOW…HIGH, from the per-status lines bench/jobs-submit.lua prints
# ("status <code> <count>").
wrk_statuses() { awk -v lo="$2" -v hi="$3" '$1 == "status" && $2 >= lo && $2 <= hi { s += $3 } END { print s + 0 }' "$1"; }  # file, low, high

# pgbench's transactions per second.
pgbench_tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -n 1; }  # file

# redis-benchmark --csv's requests per second.
redis_benchmark_rps() { awk -F'"' 'NR == 2 { print $4 }' "$1"; }  # file

# "ops_per_sec" of saas-bench's JSON line.
ops_per_sec() { sed -n 's/.*"ops_per_sec":\([0-9.]*\).*/\1/p' "$1"; }  # file
