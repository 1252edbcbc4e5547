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

# pg_stat_statements in database $1, created as the superuser over the cluster's unix socket
# (local connections are trusted); true when the server preloads it (scripts/services.sh starts
# PostgreSQL so since issue 13), false otherwise — a statement count is then "?".
pg_stat_statements_ready() {
  local socket port
  socket="$(readlink -f "$REPO/.data/postgres" 2>/dev/null)" || return 1
  port="${DATABASE_URL##*:}"; port="${port%%/*}"
  psql -X -q -A -t -h "$socket" -p "$port" -U postgres -d "$1" \
    -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1
}
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

# Dies when one of the ports is taken: another benchmark (they share the database and ports).
bench_check_ports() {  # port...
  local port
  for port in "$@"; do
    if ss -Hltn "sport = :$port" | grep -q .; then die "port $port is taken (another run of a benchmark script?)"; fi
  done
}

# The release binaries a benchmark runs, in $BUILD_DIR: built into .build-release unless
# BENCH_SKIP_BUILD=1 (and they exist), or taken from BENCH_BUILD_DIR. Sets SOURCE_STATE to what
# was built or taken (the commit and any uncommitted change under Sources/: other work may be
# going on in the checkout).
bench_binaries() {  # product...
  local product missing=0 dirty
  SOURCE_STATE="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  dirty="$(git status --porcelain -- Sources Package.swift 2>/dev/null | wc -l)"
  ((dirty == 0)) || SOURCE_STATE+=" + $dirty uncommitted file(s) under Sources/Package.swift"
  BUILD_DIR="$REPO/.build-release/release"
  for product in "$@"; do [[ -x "$BUILD_DIR/$product" ]] || missing=1; done
  if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
    BUILD_DIR="$(cd "$BENCH_BUILD_DIR" && pwd)"
    SOURCE_STATE="binaries in $BUILD_DIR of $(stat -c %y "$BUILD_DIR/saas-api" | cut -c1-19) (BENCH_BUILD_DIR)"
  elif [[ "${BENCH_SKIP_BUILD:-0}" != 1 || "$missing" == 1 ]]; then
    say "building (release, --scratch-path .build-release)"
    swift build -c release --scratch-path .build-release >&2
  else
    SOURCE_STATE="binaries of $(stat -c %y "$BUILD_DIR/saas-api" | cut -c1-19) (BENCH_SKIP_BUILD=1; checkout at $SOURCE_STATE)"
  fi
  for product in "$@"; do
    [[ -x "$BUILD_DIR/$product" ]] || die "no $BUILD_DIR/$product after the build"
  done
}

# Copies the binaries (and their resource bundles: the migrations) to $OUT/bin, so that a build in
# the shared scratch path during the run can neither replace them under the processes nor leave
# the profiler without symbols. Sets BIN_DIR.
bench_copy_binaries() {  # product...
  local product
  BIN_DIR="$OUT/bin"
  mkdir -p "$BIN_DIR"
  for product in "$@"; do cp -p "$BUILD_DIR/$product" "$BIN_DIR/"; done
  cp -pr "$BUILD_DIR"/*.resources "$BIN_DIR/" 2>/dev/null || true
}

# Waits until none of a team's jobs is left unsettled, polling PostgreSQL through the caller's
# long-lived psql coprocess POLLER (a psql per poll would fork a backend five times a second);
# stops early if the worker (PID_OF[worker]) exits. The poll stops at the first live job it
# finds (bench/sql/team-unsettled.sql): it runs while the measured system works.
wait_settled() {  # team, seconds
  local deadline=$((SECONDS + $2)) unsettled
  echo "\\set team '$1'" >&"${POLLER[1]}"
  while :; do
    echo "\\i $REPO/bench/sql/team-unsettled.sql" >&"${POLLER[1]}"
    IFS= read -r -t 60 unsettled <&"${POLLER[0]}" || die "the polling psql did not answer (team-unsettled.sql, team $1)"
    ((unsettled == 0)) && return 0
    kill -0 "${PID_OF[worker]}" 2>/dev/null || die "the worker exited: $(tail -n 5 "$OUT/worker.log")"
    ((SECONDS < deadline)) || { say "warning: jobs of $1 still not settled after $2 s (see the phase's statuses file)"; return 0; }
    sleep 0.1
  done
}
