# shellcheck shell=bash
# scripts/lib/cpu.sh — the CPU around a measurement: wait (bounded) for an idle machine before it,
# and account for who used the CPU during it. Sourced after scripts/lib/common.sh.
#
# Expects: OUT (results folder), IDLE_MAX (busy % above which to wait), IDLE_WAIT (seconds to
# wait at most); cpu_mark/cpu_report also SAAS_BENCH (the saas-bench binary: `saas-bench cpu`).

# CPU busy percentage over one second, from /proc/stat.
cpu_busy() {
  local a b
  read -r -a a < /proc/stat; sleep 1; read -r -a b < /proc/stat
  awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); total = 0
    for (i = 2; i <= n; i++) total += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%d", (total > 0 ? 100 * (total - idle) / total : 0)  # parenthesised: a bare ">" is awk output redirection
  }'
}

# Waits (at most IDLE_WAIT seconds) until the CPU is quiet, so a measurement is not shared with
# someone else's build; when it is not, says so and notes it in OUT/warnings.txt.
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

# CPU accounting of a measured stretch: cpu_mark before, cpu_report after. From snapshots of every
# process (`saas-bench cpu`): CPU seconds of each group of the benchmark's processes, the load
# generator, interrupts, and the biggest other users of the machine — someone else's build or
# tests skew the figures, and the report says so (a line in OUT/warnings.txt past 15 %).
cpu_mark() { "$SAAS_BENCH" cpu snapshot --out "$OUT/.cpu-snapshot.txt"; }

# Prints the two summary lines (also kept in OUT/cpu-LABEL.txt); the figures go to
# OUT/cpu-LABEL.json for cpu_of.
cpu_report() {  # label, CPU seconds of the load generator, NAME=pid,pid… groups...
  local label="$1" generator="${2:-0}" spec groups=()
  shift 2
  for spec in "$@"; do groups+=(--group "$spec"); done
  "$SAAS_BENCH" cpu report --since "$OUT/.cpu-snapshot.txt" --label "$label" --generator-cpu "$generator" \
    --cores "$(nproc)" --json "$OUT/cpu-$label.json" --warnings "$OUT/warnings.txt" "${groups[@]}" \
    | tee "$OUT/cpu-$label.txt" >&2
}

# A group's CPU seconds in a report.
cpu_of() { json_get "$OUT/cpu-$1.json" "$2"; }  # label, group

# A group's CPU per request (µs) over a count of requests.
us_per_request() {  # label, group, requests
  awk -v c="$(cpu_of "$1" "$2")" -v n="$3" 'BEGIN { printf "%.0f", (n > 0) ? 1e6 * c / n : 0 }'
}

# The processes of the project's PostgreSQL cluster (postmaster and its children) and its Redis —
# not other checkouts' servers — as comma-separated pids.
our_postgres_pids() {
  local postmaster
  postmaster="$(head -n 1 "$REPO/.data/postgres/postmaster.pid" 2>/dev/null || true)"
  if [[ -n "$postmaster" ]]; then echo "$postmaster"; pgrep -P "$postmaster" || true; else pgrep -x postgres || true; fi \
    | paste -sd, -
}
our_redis_pid() { cat "$REPO/.data/redis/redis.pid" 2>/dev/null || pgrep -x redis-server || true; }
