# shellcheck shell=bash
# scripts/lib/common.sh — what the scripts under scripts/ share: messages, tool checks, and
# questions about processes. Sourced, never run; a script sets LOG_TAG (the prefix of its
# messages, e.g. "services") before using say/die.
#
# Messages go to stderr: stdout stays for what a script prints as its result (services.sh's
# KEY=value lines, a benchmark's table).

say() { echo "${LOG_TAG:-${0##*/}}: $*" >&2; }
die() { echo "${LOG_TAG:-${0##*/}}: ERROR: $*" >&2; exit 1; }

# Dies naming the first tool missing from PATH.
require_tools() {  # tool...
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not installed (run scripts/deps.sh)"
  done
}

# True if the pid exists and is not a zombie (an unreaped dead daemon must count
# as dead: PID 1 of a container does not always reap promptly).
pid_alive() {
  [[ -n "${1:-}" && "$1" =~ ^[0-9]+$ ]] || return 1
  local st
  st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1 || true)"
  [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# Name of the executable of a pid ("" if gone).
pid_comm() { cat "/proc/$1/comm" 2>/dev/null || true; }

# The last 30 lines of a log file on stderr, framed, when it exists.
tail_log() {
  local f="$1"
  if [[ -r "$f" ]]; then
    echo "----- last lines of $f -----" >&2
    tail -n 30 "$f" >&2 || true
    echo "-----" >&2
  fi
}
