# shellcheck shell=bash
# scripts/lib/table.sh — the table a benchmark prints on stdout: rows added as it measures,
# printed at the end in one printf format; and the verdicts and ratios in its cells. Sourced.

TABLE_ROWS=()

# Adds a row; its cells may be empty.
row() { local IFS='|'; TABLE_ROWS+=("$*"); }  # cells...

# Prints the header, then every row, each in FORMAT (one %s per cell).
table_print() {  # printf format, header cells...
  local format="$1" line cells
  shift
  # shellcheck disable=SC2059  # the format is the caller's, on purpose
  printf "$format" "$@"
  for line in "${TABLE_ROWS[@]}"; do
    IFS='|' read -r -a cells <<<"$line"
    # shellcheck disable=SC2059
    printf "$format" "${cells[@]}"
  done
}

# "met" or "NOT met" for VALUE OP BAR (op: >= or <=); "n/a" for an empty or unknown value.
verdict() {  # value, op, bar
  awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN {
    ok = (op == ">=") ? (v + 0 >= b + 0) : (v + 0 <= b + 0)
    printf "%s", (v == "" || v == "?") ? "n/a" : (ok ? "met" : "NOT met") }'
}

# A / B with two decimals (0 when B is not positive).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }  # a, b
