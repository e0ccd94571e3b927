#!/usr/bin/env bash
# Stops every service of the local stack. Data stays in .stack/ for the next start; delete that
# folder for a clean slate.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

here=$(dirname "${BASH_SOURCE[0]}")
for service in bigquery registry kafka mariadb; do
  bash "$here/$service.sh" stop
done
rm -f "$STACK_DIR/endpoints.env"
