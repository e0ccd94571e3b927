#!/usr/bin/env bash
# Runs the bqemulator BigQuery emulator (REST and gRPC, DuckDB in memory) on 127.0.0.1.
# Usage: bigquery.sh install|start|stop|status
# Point @google-cloud/bigquery at it with apiEndpoint http://127.0.0.1:$BIGQUERY_PORT, and always
# give the client an authClient stub or METADATA_SERVER_DETECTION=none. Without either,
# google-auth-library probes for a cloud metadata server at 169.254.169.254.
#
# NOTE: bqemulator 1.4.0 differs from BigQuery where tests can trip. Adding a column with
# table.setMetadata changes only its catalog, so inserts then fail with HTTP 500 until the column
# is also added with ALTER TABLE. bigquery.query() returns no rows instead of raising for invalid
# SQL (createQueryJob raises). insertAll responds to a bad value with HTTP 500, not with per-row
# insertErrors.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BQEMULATOR_VERSION=1.4.0
# bqemulator loads DuckDB's spatial extension at startup and would download it from DuckDB's own
# server. duckdb-extension-spatial ships that extension on PyPI for one DuckDB version, so DuckDB is
# pinned to the same version (bqemulator 1.4.0 accepts duckdb>=1.0). DuckDB 1.5 needs numpy for
# the emulator's Python UDFs.
PYTHON_PACKAGES=(
  "bqemulator==$BQEMULATOR_VERSION"
  duckdb==1.5.5
  duckdb-extension-spatial==1.5.5
  numpy==2.4.6
)
PYTHON=${BIGQUERY_PYTHON:-python3.11}

# Runs the bqemulator command line with DuckDB's automatic extension install turned off.
# Otherwise a query that needs an extension that is not installed (httpfs, inet, ...) makes DuckDB
# download it. bqemulator has no option for that setting, so the launcher adds it to the config of
# every DuckDB connection.
OFFLINE_LAUNCHER='
import duckdb

connect_with_defaults = duckdb.connect


def connect_without_autoinstall(database=":memory:", read_only=False, config=None):
    config = {**(config or {}), "autoinstall_known_extensions": False}
    return connect_with_defaults(database, read_only=read_only, config=config)


duckdb.connect = connect_without_autoinstall

from bqemulator.cli import main

main(prog_name="bqemulator")
'

VENV_DIR=$CACHE_DIR/bqemulator-$BQEMULATOR_VERSION
INSTALLED_MARKER=$VENV_DIR/.installed
RUN_DIR=$STACK_DIR/bigquery
PID_FILE=$STACK_DIR/bigquery.pid
LOG_FILE=$RUN_DIR/bigquery.log
READY_URL=http://127.0.0.1:$BIGQUERY_PORT/readyz

# The marker file lists the installed packages, so changing PYTHON_PACKAGES triggers a reinstall.
emulator_installed() {
  [[ -f $INSTALLED_MARKER && $(cat "$INSTALLED_MARKER") == "${PYTHON_PACKAGES[*]}" ]]
}

install_emulator() {
  if emulator_installed; then
    return 0
  fi
  command -v "$PYTHON" >/dev/null || fail "$PYTHON not found; bqemulator needs Python 3.11 or newer (set BIGQUERY_PYTHON)"
  log "installing bqemulator $BQEMULATOR_VERSION into $VENV_DIR"
  rm -rf "$VENV_DIR"
  "$PYTHON" -m venv "$VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
  install_spatial_extension
  printf '%s\n' "${PYTHON_PACKAGES[*]}" >"$INSTALLED_MARKER"
  log "installed bqemulator $BQEMULATOR_VERSION"
}

# Copies the spatial extension from the PyPI package into DuckDB's extension directory
# (~/.duckdb/extensions), where the emulator's own INSTALL finds it and so downloads nothing.
install_spatial_extension() {
  "$VENV_DIR/bin/python" - <<'PYTHON'
import glob, os
import duckdb, duckdb_extension_spatial

package_dir = os.path.dirname(duckdb_extension_spatial.__file__)
(extension,) = glob.glob(os.path.join(package_dir, "extensions", "v*", "spatial.duckdb_extension"))
connection = duckdb.connect()
connection.execute(f"INSTALL '{extension}'")
connection.execute("LOAD spatial")
PYTHON
}

emulator_ready() {
  [[ $(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$READY_URL") == 200 ]]
}

launch_emulator() {
  mkdir -p "$RUN_DIR/uploads"
  log "starting bqemulator on 127.0.0.1:$BIGQUERY_PORT (gRPC $BIGQUERY_GRPC_PORT), project $BIGQUERY_PROJECT"
  # The working directory is $RUN_DIR because bqemulator reads a .bqemu.toml from it.
  # Format extensions are off, so DuckDB does not download its avro extension at startup.
  # Tracing stays off, so nothing is exported over OTLP. setsid detaches the emulator from the
  # calling terminal, so a Ctrl-C during the wait or closing the terminal does not stop it.
  (
    cd "$RUN_DIR" || exit 1
    exec env -u BQEMU_OTLP_ENDPOINT BQEMU_ENABLE_FORMAT_EXTENSIONS=false BQEMU_TRACING_ENABLED=false \
      BQEMU_UPLOAD_STAGING_DIR="$RUN_DIR/uploads" \
      setsid "$VENV_DIR/bin/python" -c "$OFFLINE_LAUNCHER" start --ephemeral \
      --rest-host 127.0.0.1 --rest-port "$BIGQUERY_PORT" \
      --grpc-host 127.0.0.1 --grpc-port "$BIGQUERY_GRPC_PORT" \
      --project "$BIGQUERY_PROJECT"
  ) >>"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
}

start_emulator() {
  if pid_alive "$PID_FILE"; then
    wait_for_process 60 bqemulator "$PID_FILE" "$LOG_FILE" emulator_ready
    return 0
  fi
  require_free_port "$BIGQUERY_PORT"
  require_free_port "$BIGQUERY_GRPC_PORT"
  install_emulator
  launch_emulator
  wait_for_process 60 bqemulator "$PID_FILE" "$LOG_FILE" emulator_ready
  log "bqemulator is ready at http://127.0.0.1:$BIGQUERY_PORT (project $BIGQUERY_PROJECT)"
}

status_emulator() {
  if ! pid_alive "$PID_FILE"; then
    log "bqemulator is stopped"
    return 3
  fi
  if emulator_ready; then
    log "bqemulator is running (pid $(cat "$PID_FILE")) and ready at http://127.0.0.1:$BIGQUERY_PORT"
  else
    log "bqemulator is running (pid $(cat "$PID_FILE")) but $READY_URL does not return 200"
    return 1
  fi
}

main() {
  case ${1:-} in
    install) install_emulator ;;
    start) start_emulator ;;
    stop) stop_pid "$PID_FILE" bqemulator ;;
    status) status_emulator ;;
    *) fail "usage: $0 install|start|stop|status" ;;
  esac
}

main "$@"
