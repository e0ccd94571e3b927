#!/usr/bin/env bash
# Runs Apicurio Registry 3.x as the Confluent-compatible schema registry, in memory, on 127.0.0.1.
# Usage: registry.sh install|start|stop|status
# The Confluent API is at http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7.
#
# NOTE: Apicurio's Confluent API differs from Confluent's in details that tests can see. An
# incompatible schema gets HTTP 409 with Apicurio's RuleViolationException text, and
# DELETE /config/{subject} leaves a subject's NONE level in place.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APICURIO_VERSION=3.3.3
# The ready Quarkus bundle that Apicurio publishes on Maven Central beside the app jar.
APICURIO_ARTIFACT=io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
# This Quarkus build always starts a management interface (health, metrics), so it gets a
# loopback port too.
REGISTRY_MANAGEMENT_PORT=${TRIBUTARY_REGISTRY_MANAGEMENT_PORT:-38091}

INSTALL_DIR=$CACHE_DIR/apicurio-registry-$APICURIO_VERSION
RUN_DIR=$STACK_DIR/registry
PID_FILE=$STACK_DIR/registry.pid
LOG_FILE=$RUN_DIR/registry.log
SUBJECTS_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects

install_registry() {
  if [[ -f $INSTALL_DIR/quarkus-run.jar ]]; then
    return 0
  fi
  log "fetching $APICURIO_ARTIFACT with Maven"
  local unpack_dir=$INSTALL_DIR.partial
  rm -rf "$unpack_dir"
  # Maven's output is shown only on failure, because Debian's Maven 3.8 prints stray ANSI color
  # codes even with -q.
  # dependency:copy, unlike dependency:unpack, leaves no marker files in the working directory.
  local output
  if ! output=$(mvn -B -q "$DEPENDENCY_PLUGIN:copy" \
    -Dartifact="$APICURIO_ARTIFACT" -DoutputDirectory="$unpack_dir" 2>&1); then
    printf '%s\n' "$output" >&2
    fail "Maven failed to fetch $APICURIO_ARTIFACT; its output is shown above"
  fi
  local bundle=$unpack_dir/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz
  tar -xzf "$bundle" -C "$unpack_dir"
  rm "$bundle"
  [[ -f $unpack_dir/quarkus-run.jar ]] || fail "the Apicurio bundle has no quarkus-run.jar"
  mv "$unpack_dir" "$INSTALL_DIR"
  log "installed Apicurio Registry $APICURIO_VERSION in $INSTALL_DIR"
}

# Prints the major version of a java binary, for example 25 for "25.0.3".
java_major_version() {
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}

# Apicurio 3.3 is compiled for Java 21, so the default Java 17 cannot run it.
find_java() {
  local candidate major
  for candidate in ${REGISTRY_JAVA:-} /usr/lib/jvm/*/bin/java; do
    [[ -x $candidate ]] || continue
    major=$(java_major_version "$candidate")
    if ((${major:-0} >= 21)); then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  fail "Apicurio Registry needs Java 21 or newer; none found in /usr/lib/jvm (set REGISTRY_JAVA)"
}

registry_ready() {
  [[ $(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$SUBJECTS_URL") == 200 ]]
}

launch_registry() {
  local java
  java=$(find_java)
  mkdir -p "$RUN_DIR/tmp"
  log "starting Apicurio Registry on 127.0.0.1:$REGISTRY_PORT with $java"
  # The OpenTelemetry SDK is already off in the bundle's defaults, and is pinned off here.
  # Global compatibility starts as BACKWARD, the Confluent default, because Apicurio sets no
  # rule by default.
  # setsid detaches the server from the calling terminal, so a Ctrl-C during the wait or closing
  # the terminal does not stop it.
  setsid "$java" -Xmx512m \
    -Djava.io.tmpdir="$RUN_DIR/tmp" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dquarkus.otel.sdk.disabled=true \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dquarkus.log.console.format='%d{yyyy-MM-dd HH:mm:ss} %p [%c{3.}] (%t) %m%n' \
    -Dapicurio.storage.snapshot.location="$RUN_DIR/tmp" -Dapicurio.import.work-dir="$RUN_DIR/tmp" \
    -jar "$INSTALL_DIR/quarkus-run.jar" >>"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
}

start_registry() {
  if pid_alive "$PID_FILE"; then
    wait_for_process 120 "Apicurio Registry" "$PID_FILE" "$LOG_FILE" registry_ready
    return 0
  fi
  require_free_port "$REGISTRY_PORT"
  require_free_port "$REGISTRY_MANAGEMENT_PORT"
  install_registry
  launch_registry
  wait_for_process 120 "Apicurio Registry" "$PID_FILE" "$LOG_FILE" registry_ready
  log "Apicurio Registry is ready at http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
}

status_registry() {
  if ! pid_alive "$PID_FILE"; then
    log "Apicurio Registry is stopped"
    return 3
  fi
  if registry_ready; then
    log "Apicurio Registry is running (pid $(cat "$PID_FILE")) and ready at http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
  else
    log "Apicurio Registry is running (pid $(cat "$PID_FILE")) but $SUBJECTS_URL does not return 200"
    return 1
  fi
}

main() {
  case ${1:-} in
    install) install_registry ;;
    start) start_registry ;;
    stop) stop_pid "$PID_FILE" "Apicurio Registry" ;;
    status) status_registry ;;
    *) fail "usage: $0 install|start|stop|status" ;;
  esac
}

main "$@"
