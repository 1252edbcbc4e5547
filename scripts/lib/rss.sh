# shellcheck shell=bash
# scripts/lib/rss.sh — memory of the processes a benchmark measures: resident set sampled while it
# runs, and the kernel's high-water mark. Sourced.

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

# The highest sample of the first pid in an rss_sampler file, MiB.
rss_peak() { awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m / 1024 }' "$1"; }  # file

# The process's peak resident set over its lifetime (VmHWM), MiB; "?" once it is gone.
vm_hwm_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }  # pid
