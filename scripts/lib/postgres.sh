# shellcheck shell=bash
# scripts/lib/postgres.sh — the project-local PostgreSQL cluster of scripts/services.sh: where it
# lives, initdb, start, stop, status, wipe, and the application's role and databases. Sourced
# after scripts/lib/common.sh.
#
# Expects: REPO, DATA (the checkout's .data), PG_PORT, PG_MAX_CONNECTIONS, WAIT (seconds to wait
# for readiness), APP_ROLE / APP_PASS (the application's role) and APP_DBS (its databases).
#
# PGDATA is $DATA/postgres, owned by the `postgres` OS user and also the unix-socket directory;
# the server log is $DATA/postgres.log (pg_ctl -l). PostgreSQL refuses to run as root, so
# initdb/pg_ctl run as the `postgres` user (runuser). If that user cannot reach the checkout
# (e.g. it was cloned under /root, mode 700) — or the socket path would be too long for a unix
# socket — the cluster lives in /tmp/saas-pg-<hash of $REPO>/ instead and .data/postgres and
# .data/postgres.log are symlinks to it (a /tmp cluster is lost when /tmp is cleared; `start`
# then simply initialises a new one). Durability stays on: fsync, synchronous_commit.

PG_LINK="$DATA/postgres"          # PGDATA as seen from the repo (dir or symlink)
PG_LOG_LINK="$DATA/postgres.log"
PG_FALLBACK="/tmp/saas-pg-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
PG_SUPERPASS="postgres"

# The newest installed server's binaries, unless PG_BIN names a directory.
find_pg_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/pg_ctl" ]] || die "PG_BIN=$PG_BIN has no pg_ctl"
    return
  fi
  local d
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  [[ -n "$d" && -x "$d/pg_ctl" ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (run scripts/deps.sh)"
  PG_BIN="$d"
}

as_pg() { (cd / && runuser -u postgres -- "$@"); }

PGDATA_REAL=""   # resolved physical PGDATA
PG_LOG_REAL=""   # resolved physical log file

# Decide where the cluster lives (see header). Sets PGDATA_REAL / PG_LOG_REAL.
# With create=1 also creates the directories/links with the right ownership.
pg_locate() {
  local create="${1:-0}"
  if [[ -L "$PG_LINK" ]]; then
    PGDATA_REAL="$(readlink "$PG_LINK")"
    PG_LOG_REAL="$(dirname "$PGDATA_REAL")/postgres.log"
    if [[ "$create" == 1 ]]; then
      # The /tmp target may have vanished (reboot, tmp cleaner): recreate it.
      install -d -o postgres -g postgres -m 700 "$(dirname "$PGDATA_REAL")" "$PGDATA_REAL"
      ln -sfn "$PG_LOG_REAL" "$PG_LOG_LINK"
    fi
    return
  fi
  if [[ -d "$PG_LINK" ]]; then
    PGDATA_REAL="$PG_LINK"
    PG_LOG_REAL="$PG_LOG_LINK"
    if [[ "$create" == 1 ]] && ! as_pg test -w "$PGDATA_REAL"; then
      die "the postgres user cannot reach $PGDATA_REAL (checkout moved or permissions changed?). Run: $0 reset"
    fi
    return
  fi
  # Nothing yet: choose. In-repo if the postgres user can reach and write a
  # directory there and the socket path fits in sun_path (107 bytes); else /tmp.
  PGDATA_REAL="$PG_LINK"
  PG_LOG_REAL="$PG_LOG_LINK"
  [[ "$create" == 1 ]] || return 0
  mkdir -p "$DATA"
  local probe="$DATA/.pgprobe.$$" in_repo=0
  mkdir -p "$probe"
  chown postgres:postgres "$probe"
  if as_pg test -w "$probe" -a -x "$probe" 2>/dev/null; then in_repo=1; fi
  rmdir "$probe"
  local sock="$PG_LINK/.s.PGSQL.$PG_PORT"
  if ((in_repo)) && ((${#sock} > 100)); then
    say "socket path $sock is too long for a unix socket; using $PG_FALLBACK"
    in_repo=0
  elif ((!in_repo)); then
    say "the postgres OS user cannot reach $DATA (a parent directory is not traversable for it); using $PG_FALLBACK"
  fi
  if ((in_repo)); then
    install -d -o postgres -g postgres -m 700 "$PG_LINK"
    touch "$PG_LOG_LINK"
    chown postgres:postgres "$PG_LOG_LINK"
  else
    PGDATA_REAL="$PG_FALLBACK/data"
    PG_LOG_REAL="$PG_FALLBACK/postgres.log"
    install -d -o postgres -g postgres -m 700 "$PG_FALLBACK" "$PGDATA_REAL"
    ln -sfn "$PGDATA_REAL" "$PG_LINK"
    ln -sfn "$PG_LOG_REAL" "$PG_LOG_LINK"
  fi
}

pg_pid() {
  [[ -n "$PGDATA_REAL" && -f "$PGDATA_REAL/postmaster.pid" ]] \
    && head -n 1 "$PGDATA_REAL/postmaster.pid" | tr -dc '0-9' || true
}

pg_proc_ok() {
  local pid; pid="$(pg_pid)"
  pid_alive "$pid" && [[ "$(pid_comm "$pid")" == postgres* || "$(pid_comm "$pid")" == postmaster* ]]
}

pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 3 >/dev/null 2>&1; }

# Port our postmaster listens on (line 4 of postmaster.pid).
pg_running_port() {
  [[ -f "$PGDATA_REAL/postmaster.pid" ]] && sed -n 4p "$PGDATA_REAL/postmaster.pid" | tr -dc '0-9' || true
}

# Up = our postmaster is alive, bound to $PG_PORT, and accepting connections.
pg_up() { pg_proc_ok && [[ "$(pg_running_port)" == "$PG_PORT" ]] && pg_answers; }

# Processes of a dead postmaster (backends, checkpointer...) keep the shared
# memory attached; postgres must not be restarted, nor its pid file removed,
# before they are gone. They exit by themselves once they see the postmaster died.
pg_wait_orphans() {
  local real i found p cwd
  real="$(readlink -f "$PGDATA_REAL")"
  for ((i = 0; i < WAIT * 5; i++)); do
    found=""
    for p in $(pgrep -u postgres 2>/dev/null || true); do
      cwd="$(readlink "/proc/$p/cwd" 2>/dev/null || true)"
      [[ "$cwd" == "$real" ]] && found+=" $p"
    done
    [[ -z "$found" ]] && return 0
    sleep 0.2
  done
  die "leftover postgres processes ($found) of a crashed server still use $real; stop them first"
}

# After a crash (kill -9, OOM, reboot) the postmaster leaves postmaster.pid and
# the socket lock file(s) .s.PGSQL.<port>.lock behind. PostgreSQL ignores them
# itself only if their pid is gone; here the dead postmaster may linger as an
# unreaped zombie (or the pid may be reused after a reboot), and it would then
# refuse to start. Remove them once no process of the old server remains.
pg_clear_stale_locks() {
  local f pid waited=0
  shopt -s nullglob dotglob
  for f in "$PGDATA_REAL/postmaster.pid" "$PGDATA_REAL"/.s.PGSQL.*.lock; do
    [[ -f "$f" ]] || continue
    pid="$(head -n 1 "$f" | tr -dc '0-9')"
    if pid_alive "$pid" && [[ "$(pid_comm "$pid")" == postgres* || "$(pid_comm "$pid")" == postmaster* ]]; then
      continue
    fi
    if ((!waited)); then pg_wait_orphans; waited=1; fi
    say "removing stale $(basename "$f") (pid '$pid' is not a live postgres)"
    rm -f "$f"
  done
  shopt -u nullglob dotglob
}

pg_init() {
  local pwfile
  say "initialising PostgreSQL cluster in $PGDATA_REAL ($PG_BIN)"
  pwfile="$(mktemp)"
  printf '%s\n' "$PG_SUPERPASS" >"$pwfile"
  chown postgres "$pwfile"
  if ! as_pg "$PG_BIN/initdb" -D "$PGDATA_REAL" -U postgres --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >"$DATA/initdb.log" 2>&1; then
    rm -f "$pwfile"
    tail_log "$DATA/initdb.log"
    die "initdb failed"
  fi
  rm -f "$pwfile"
  cat >>"$PGDATA_REAL/postgresql.conf" <<EOF

# ---- added by scripts/services.sh ----
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGDATA_REAL'
shared_buffers = 256MB
# durability stays ON (never disable these for speed)
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
}

pg_bootstrap_roles() {
  # Over the unix socket in the data dir, as superuser postgres (trust locally).
  psql -X -q -v ON_ERROR_STOP=1 -h "$PGDATA_REAL" -p "$PG_PORT" -U postgres -d postgres >/dev/null <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
    CREATE ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$APP_PASS';
  ELSE
    ALTER ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$APP_PASS';
  END IF;
END
\$\$;
$(for db in "${APP_DBS[@]}"; do
  echo "SELECT 'CREATE DATABASE $db OWNER $APP_ROLE' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')\\gexec"
done)
EOF
}

pg_start() {
  pg_locate 1
  if pg_up; then
    say "postgres already running (pid $(pg_pid), port $PG_PORT)"
    pg_bootstrap_roles || die "could not create role/databases"
    return
  fi
  if [[ ! -s "$PGDATA_REAL/PG_VERSION" ]]; then
    if [[ -n "$(ls -A "$PGDATA_REAL" 2>/dev/null)" ]]; then
      die "$PGDATA_REAL is not empty but holds no cluster; run: $0 reset"
    fi
    pg_init
  fi
  if ! pg_proc_ok; then
    pg_clear_stale_locks
    if pg_answers; then
      die "something else already answers on 127.0.0.1:$PG_PORT (not our postgres); set PG_PORT"
    fi
    touch "$PG_LOG_REAL"; chown postgres:postgres "$PG_LOG_REAL"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_REAL" -l "$PG_LOG_REAL" -w -t "$WAIT" \
        -o "-p $PG_PORT -k '$PGDATA_REAL' -c max_connections=$PG_MAX_CONNECTIONS -c shared_preload_libraries=pg_stat_statements" \
        start >/dev/null 9>&-; then
      tail_log "$PG_LOG_REAL"
      die "pg_ctl start failed"
    fi
  else
    local rp; rp="$(pg_running_port)"
    if [[ -n "$rp" && "$rp" != "$PG_PORT" ]]; then
      die "this checkout's postgres (pid $(pg_pid)) runs on port $rp, not $PG_PORT; stop it first (PG_PORT=$rp $0 stop)"
    fi
    say "postgres process $(pg_pid) exists but does not answer yet; waiting"
  fi
  local i
  for ((i = 0; i < WAIT * 5; i++)); do
    pg_up && break
    sleep 0.2
  done
  if ! pg_up; then
    tail_log "$PG_LOG_REAL"
    die "postgres did not become ready on 127.0.0.1:$PG_PORT within ${WAIT}s"
  fi
  pg_bootstrap_roles || die "could not create role/databases"
  say "postgres up (pid $(pg_pid), port $PG_PORT, data $PGDATA_REAL)"
}

pg_stop() {
  pg_locate 0
  if [[ ! -d "$PGDATA_REAL" || ! -s "$PGDATA_REAL/PG_VERSION" ]]; then
    say "postgres not initialised"
    return
  fi
  if ! pg_proc_ok; then
    pg_clear_stale_locks
    say "postgres not running"
    return
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_REAL" -m fast -w -t 60 stop >/dev/null \
    || { tail_log "$PG_LOG_REAL"; die "pg_ctl stop failed"; }
  say "postgres stopped"
}

pg_status() {
  pg_locate 0
  if pg_up; then
    echo "postgres: up   (pid $(pg_pid), 127.0.0.1:$PG_PORT, data $PGDATA_REAL)"
    return 0
  elif pg_proc_ok; then
    echo "postgres: NOT READY on 127.0.0.1:$PG_PORT (postmaster $(pg_pid) alive, on port $(pg_running_port))"
  else
    echo "postgres: down"
  fi
  return 1
}

pg_wipe() {
  pg_locate 0
  if [[ -L "$PG_LINK" ]]; then
    local root; root="$(dirname "$(readlink "$PG_LINK")")"
    case "$root" in
      /tmp/saas-pg-*) rm -rf "$root" ;;
      *) die "refusing to delete unexpected symlink target $root" ;;
    esac
  fi
  rm -rf "$PG_LINK" "$PG_LOG_LINK" "$DATA/initdb.log"
}
