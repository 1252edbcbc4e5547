#!/usr/bin/env bash
# scripts/services.sh start|stop|status|reset|env
#
# Runs a project-local Redis and PostgreSQL on 127.0.0.1 for development, tests
# and CI — no systemd, no Docker. Everything lives under $REPO/.data/
# (git-ignored), where REPO is the checkout containing this script, so several
# checkouts can coexist (with different ports).
#
#   start   start both services if they are not already up (idempotent), wait
#           until they answer (bounded by $SERVICES_WAIT seconds), create the
#           `saas` role and the `saas` / `saas_test` databases if missing, then
#           print DATABASE_URL / REDIS_URL (and the test URL) on stdout.
#           Stale pid files left by a crash or reboot are detected and removed.
#   stop    stop both (Redis: SIGTERM to the pid in its pidfile; PostgreSQL:
#           pg_ctl stop -m fast). Idempotent.
#   status  print whether each is up; exit 0 when both are up, 1 otherwise.
#   reset   stop, delete all data, start fresh.
#   env     print the URLs only (no side effects).
#
# Each service lives in a library of its own, over scripts/lib/common.sh:
#   scripts/lib/redis.sh       .data/redis/{redis.conf,redis.pid,redis.log,appendonlydir/}
#   scripts/lib/postgres.sh    .data/postgres/ (PGDATA, owned by the `postgres` OS user; also
#                              the unix-socket directory, or a symlink to /tmp/saas-pg-<hash>/
#                              when that user cannot reach the checkout) and .data/postgres.log
# This script holds what they share: ports, the lock, the order of operations, the URLs.
# It must run as root (PostgreSQL runs as the postgres user via runuser).
#
# Output: progress and errors go to stderr; stdout carries only the KEY=value
# lines of `start`/`reset`/`env`, so `export $(scripts/services.sh start)` works.
#
# Durability settings are deliberately left safe: Redis appendonly yes +
# appendfsync everysec; PostgreSQL fsync=on, synchronous_commit=on.
#
# Environment variables honoured:
#   REDIS_PORT      Redis port                     (default 6381)
#   PG_PORT         PostgreSQL port                (default 5433)
#   PG_BIN          directory with initdb/pg_ctl   (default: newest /usr/lib/postgresql/*/bin)
#   PG_MAX_CONNECTIONS  PostgreSQL's max_connections (default 400: the whole test suite runs in
#                   parallel, each in-process app and end-to-end process with a pool of its own)
#   SERVICES_WAIT   seconds to wait for readiness  (default 30)
#
# Credentials (local dev only): superuser postgres/postgres, app role saas/saas.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DATA="$REPO/.data"
REDIS_PORT="${REDIS_PORT:-6381}"
PG_PORT="${PG_PORT:-5433}"
PG_MAX_CONNECTIONS="${PG_MAX_CONNECTIONS:-400}"
WAIT="${SERVICES_WAIT:-30}"
APP_ROLE="saas"
APP_PASS="saas"
APP_DBS=(saas saas_test)

DATABASE_URL="postgresql://$APP_ROLE:$APP_PASS@127.0.0.1:$PG_PORT/saas"
TEST_DATABASE_URL="postgresql://$APP_ROLE:$APP_PASS@127.0.0.1:$PG_PORT/saas_test"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

LOG_TAG=services
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
# shellcheck source=lib/redis.sh
source "$REPO/scripts/lib/redis.sh"
# shellcheck source=lib/postgres.sh
source "$REPO/scripts/lib/postgres.sh"

need_tools() {
  [[ "$(id -u)" == 0 ]] || die "must run as root (PostgreSQL is run as the postgres user via runuser)"
  require_tools redis-server redis-cli psql pg_isready runuser flock
  id postgres >/dev/null 2>&1 || die "no 'postgres' OS user (install the postgresql package: scripts/deps.sh)"
  find_pg_bin
}

# Serialise concurrent invocations (e.g. two test runners calling start).
take_lock() {
  mkdir -p "$DATA"
  exec 9>"$DATA/.services.lock"
  flock -w 120 9 || die "could not take $DATA/.services.lock within 120 s"
}

print_env() {
  echo "DATABASE_URL=$DATABASE_URL"
  echo "TEST_DATABASE_URL=$TEST_DATABASE_URL"
  echo "REDIS_URL=$REDIS_URL"
}

# ------------------------------------------------------------------ main
cmd="${1:-}"
case "$cmd" in
  start)
    need_tools; take_lock
    redis_start
    pg_start
    print_env
    ;;
  stop)
    need_tools; take_lock
    redis_stop
    pg_stop
    ;;
  status)
    need_tools
    rc=0
    redis_status || rc=1
    pg_status || rc=1
    exit "$rc"
    ;;
  reset)
    need_tools; take_lock
    redis_stop
    pg_stop
    say "deleting data under $DATA"
    redis_wipe
    pg_wipe
    redis_start
    pg_start
    print_env
    ;;
  env)
    print_env
    ;;
  *)
    echo "usage: $0 start|stop|status|reset|env" >&2
    exit 2
    ;;
esac
