# shellcheck shell=bash
# scripts/lib/bench.sh — what the bench scripts share: the project's services and URLs to their
# own databases, the results folder, fields of JSON answers, and psql runs of bench/sql/ files.
# Sourced after scripts/lib/common.sh; expects REPO.

# Starts the project's services (or finds them running) → DATABASE_URL, REDIS_URL, and the Redis
# server's REDIS_HOST / REDIS_PORT (for redis-cli and redis-benchmark).
bench_services() {
  local printed hostport
  printed="$("$REPO/scripts/services.sh" start)"
  DATABASE_URL="$(sed -n 's/^DATABASE_URL=//p' <<<"$printed")"
  REDIS_URL="$(sed -n 's/^REDIS_URL=//p' <<<"$printed")"
  [[ -n "$DATABASE_URL" && -n "$REDIS_URL" ]] || die "scripts/services.sh start printed no DATABASE_URL/REDIS_URL"
  hostport="${REDIS_URL#redis://}"
  hostport="${hostport%%/*}"
  hostport="${hostport##*@}"
  REDIS_HOST="${hostport%%:*}"
  REDIS_PORT="${hostport##*:}"
}

# URLs to a database / a Redis db of a benchmark's own, on the same servers.
database_url() { echo "${DATABASE_URL%/*}/$1"; }  # database name
redis_url() { echo "redis://$REDIS_HOST:$REDIS_PORT/$1"; }  # db number

# Runs a bench/sql/ file with psql: quiet, unaligned, tuples only, stopping at the first error.
sql_file() {  # url, name (bench/sql/NAME.sql), psql args (-v var=value)...
  local url="$1" name="$2"; shift 2
  psql "$url" -X -q -A -t -v ON_ERROR_STOP=1 "$@" -f "$REPO/bench/sql/$name.sql"
}

# Creates a database of the benchmark's own unless it exists.
ensure_database() { sql_file "$DATABASE_URL" create-database -v db="$1" >/dev/null; }  # name

# A new results folder, bench-results/KIND-<time>/ (git-ignored) → OUT.
results_dir() {  # kind
  OUT="$REPO/bench-results/$1-$(date +%Y%m%d-%H%M%S)"
  mkdir -p "$OUT"
}

# A top-level field of a JSON object (a file, or - for stdin); null prints as an empty line.
json_get() {  # file|-, key
  python3 -c 'import json, sys
value = json.load(sys.stdin if sys.argv[1] == "-" else open(sys.argv[1]))[sys.argv[2]]
print("" if value is None else value)' "$1" "$2"
}
