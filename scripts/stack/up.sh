#!/usr/bin/env bash
# Installs what is missing and starts the local stack: MariaDB, Kafka, the schema registry and the
# BigQuery emulator, all on 127.0.0.1. Safe to run again: running services are left as they are.
# Writes the endpoints to .stack/endpoints.env, which tests and the demo read.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

services=(mariadb kafka registry bigquery)
here=$(dirname "${BASH_SOURCE[0]}")

for service in "${services[@]}"; do
  bash "$here/$service.sh" install
done

# Start the JVM services in parallel: each takes several seconds, and they do not depend on each other.
pids=()
for service in "${services[@]}"; do
  bash "$here/$service.sh" start &
  pids+=($!)
done
failed=0
for index in "${!pids[@]}"; do
  if ! wait "${pids[$index]}"; then
    log "${services[$index]} failed to start"
    failed=1
  fi
done
((failed == 0)) || fail "the stack did not start; the messages above say which service failed and where its log is"

cat >"$STACK_DIR/endpoints.env" <<ENDPOINTS
TRIBUTARY_MARIADB_URL=mariadb://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/$MARIADB_DATABASE
TRIBUTARY_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
TRIBUTARY_SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7
TRIBUTARY_BIGQUERY_ENDPOINT=http://127.0.0.1:$BIGQUERY_PORT
TRIBUTARY_BIGQUERY_PROJECT=$BIGQUERY_PROJECT
ENDPOINTS

log "the stack is up; endpoints (also in $STACK_DIR/endpoints.env):"
sed 's/^/  /' "$STACK_DIR/endpoints.env" >&2
