#!/usr/bin/env bash
# Installs and runs a MariaDB server for the tests, listening on 127.0.0.1:$MARIADB_PORT only.
# Its data, socket and log live in $STACK_DIR/mariadb. It runs as a plain background process.
# Usage: mariadb.sh install|start|stop|status

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Debian installs mariadbd in /usr/sbin, which is missing from some non-root PATHs.
PATH=$PATH:/usr/sbin

MARIADB_DIR=$STACK_DIR/mariadb
MARIADB_DATA_DIR=$MARIADB_DIR/data
MARIADB_SOCKET=$MARIADB_DIR/mariadb.sock
MARIADB_LOG=$MARIADB_DIR/mariadb.log
MARIADB_PID_FILE=$STACK_DIR/mariadb.pid
POLICY_RC=/usr/sbin/policy-rc.d

mariadb_installed() {
  command -v mariadbd >/dev/null && command -v mariadb >/dev/null
}

# Installs Debian's mariadb-server and mariadb-client. A policy-rc.d that exits 101 stops the
# package scripts from starting a system-wide server during the install.
install_mariadb() {
  if mariadb_installed; then
    return 0
  fi
  log "installing mariadb-server and mariadb-client with apt-get"
  local created_policy=false
  if [[ ! -e $POLICY_RC ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC"
    chmod 755 "$POLICY_RC"
    created_policy=true
  fi

  local status=0
  {
    apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        mariadb-server mariadb-client
  } >&2 || status=$?

  if [[ $created_policy == true ]]; then
    rm -f "$POLICY_RC"
  fi
  ((status == 0)) || fail "apt-get failed with exit code $status while installing mariadb-server"
  mariadb_installed || fail "mariadbd or mariadb is still missing after the apt-get install"
}

# Runs SQL as root over the Unix socket. With --auth-root-authentication-method=normal,
# root@localhost has no password.
root_sql() {
  mariadb --no-defaults --socket="$MARIADB_SOCKET" --user=root --batch -e "$1"
}

# Runs SQL as the test user over TCP, the way the tests connect.
user_sql() {
  MYSQL_PWD=$MARIADB_PASSWORD mariadb --no-defaults --protocol=TCP --host=127.0.0.1 \
    --port="$MARIADB_PORT" --user="$MARIADB_USER" --batch -e "$1"
}

mariadb_responds() {
  pid_alive "$MARIADB_PID_FILE" && user_sql 'SELECT 1' >/dev/null 2>&1
}

# Creates the system tables in a temporary directory and renames it on success, so an
# interrupted run leaves no half-initialized data directory behind.
init_data_dir() {
  if [[ -d $MARIADB_DATA_DIR/mysql ]]; then
    return 0
  fi
  log "initializing the MariaDB data directory $MARIADB_DATA_DIR"
  local staging_dir=$MARIADB_DATA_DIR.init
  rm -rf "$staging_dir" "$MARIADB_DATA_DIR"
  mkdir -p "$MARIADB_DIR"
  mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$staging_dir" \
    --auth-root-authentication-method=normal --skip-test-db \
    >"$MARIADB_DIR/install-db.log" 2>&1 ||
    fail "mariadb-install-db failed; see $MARIADB_DIR/install-db.log"
  mv "$staging_dir" "$MARIADB_DATA_DIR"
}

# Starts mariadbd in the background. --no-defaults ignores /etc/mysql, so the character set
# is set here to utf8mb4, as Debian's own server configuration does.
launch_mariadbd() {
  log "starting MariaDB on 127.0.0.1:$MARIADB_PORT (log: $MARIADB_LOG)"
  nohup mariadbd --no-defaults --user="$(id -un)" \
    --datadir="$MARIADB_DATA_DIR" --socket="$MARIADB_SOCKET" \
    --pid-file="$MARIADB_DIR/mariadbd.pid" --log-error="$MARIADB_LOG" \
    --bind-address=127.0.0.1 --port="$MARIADB_PORT" --skip-name-resolve \
    --skip-log-bin --innodb-buffer-pool-size=256M --max-connections=500 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    >>"$MARIADB_LOG" 2>&1 </dev/null &
  echo $! >"$MARIADB_PID_FILE"
}

# Creates the test database and user. Every statement is idempotent, and ALTER USER resets
# the password in case common.sh changed it.
provision_user() {
  local user_at_ip="'$MARIADB_USER'@'127.0.0.1'" user_at_localhost="'$MARIADB_USER'@'localhost'"
  root_sql "
    CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;
    CREATE USER IF NOT EXISTS $user_at_ip IDENTIFIED BY '$MARIADB_PASSWORD';
    CREATE USER IF NOT EXISTS $user_at_localhost IDENTIFIED BY '$MARIADB_PASSWORD';
    ALTER USER $user_at_ip IDENTIFIED BY '$MARIADB_PASSWORD';
    ALTER USER $user_at_localhost IDENTIFIED BY '$MARIADB_PASSWORD';
    GRANT ALL PRIVILEGES ON *.* TO $user_at_ip;
    GRANT ALL PRIVILEGES ON *.* TO $user_at_localhost;"
}

start_mariadb() {
  if mariadb_responds; then
    return 0
  fi
  mariadb_installed || fail "mariadbd is not installed; run: $0 install"

  # A live process that does not respond yet is still starting, so wait for it
  # instead of starting a second server on the same data directory.
  if ! pid_alive "$MARIADB_PID_FILE"; then
    if port_open "$MARIADB_PORT"; then
      fail "port $MARIADB_PORT is already in use by another process; stop it or set TRIBUTARY_MARIADB_PORT"
    fi
    init_data_dir
    launch_mariadbd
  fi
  wait_for_process 60 MariaDB "$MARIADB_PID_FILE" "$MARIADB_LOG" root_sql 'SELECT 1'

  provision_user
  user_sql "SELECT 1" >/dev/null ||
    fail "MariaDB is running, but user $MARIADB_USER cannot connect over TCP to 127.0.0.1:$MARIADB_PORT"
  log "MariaDB is ready on 127.0.0.1:$MARIADB_PORT (database $MARIADB_DATABASE, user $MARIADB_USER)"
}

# mariadbd shuts down cleanly on SIGTERM, which stop_pid sends first.
stop_mariadb() {
  stop_pid "$MARIADB_PID_FILE" MariaDB
}

status_mariadb() {
  if mariadb_responds; then
    echo "MariaDB is running on 127.0.0.1:$MARIADB_PORT (pid $(cat "$MARIADB_PID_FILE"))"
  else
    echo "MariaDB is not running or not responding on 127.0.0.1:$MARIADB_PORT"
    return 1
  fi
}

case ${1:-} in
  install) install_mariadb ;;
  start) start_mariadb ;;
  stop) stop_mariadb ;;
  status) status_mariadb ;;
  *) fail "usage: $0 install|start|stop|status" ;;
esac
