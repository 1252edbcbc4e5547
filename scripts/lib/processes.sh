# shellcheck shell=bash
# scripts/lib/processes.sh — the processes a bench script starts (the mock upstream, the API, a
# worker) and the helpers it runs in the background (samplers, perf): started, waited for,
# stopped, and all of them stopped on exit. Sourced after scripts/lib/common.sh; expects OUT.

declare -A PID_OF=()   # name → pid of what the script started
BACKGROUND=()          # pids of samplers, perf, …: killed by stop_everything

# Runs a command in the results folder (so no .env of the checkout is read), logging to
# OUT/NAME.log; the command is `env VAR=… binary args…` or a binary, so $! is the binary's own pid.
start_proc() {  # name, command...
  local name="$1"; shift
  (cd "$OUT" && exec "$@") >>"$OUT/$name.log" 2>&1 &
  PID_OF[$name]=$!
}

# SIGTERM, a grace period, then SIGKILL; reaps it.
stop_proc() {  # name, [grace seconds]
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

# For the EXIT trap: the background helpers, then the named processes in the order given.
stop_everything() {  # names...
  local pid name
  for pid in "${BACKGROUND[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for name in "$@"; do stop_proc "$name" 10; done
  for pid in "${BACKGROUND[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# Waits until URL answers 2xx; dies when the process exits first or the time runs out.
wait_http() {  # url, seconds, name
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "${PID_OF[$3]}" 2>/dev/null || die "$3 exited while starting: $(tail -n 5 "$OUT/$3.log")"
    sleep 0.1
  done
  die "$3 did not answer $1 within $2 s: $(tail -n 5 "$OUT/$3.log")"
}
