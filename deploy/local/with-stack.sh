#!/usr/bin/env bash
# Runs a command against a real Kafka broker and Postgres: starts the local broker when none answers, and a local
# Postgres when none answers and DATABASE_URL is unset (an embedded one, see postgres.sh), stops what it started
# afterwards, and runs "$@" in between. KAFKA_BROKERS / DATABASE_URL point at existing servers instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

started_kafka=false
started_postgres=false
cleanup() {
  if $started_kafka; then bash deploy/local/kafka.sh stop; fi
  if $started_postgres; then bash deploy/local/postgres.sh stop; fi
}
trap cleanup EXIT

if [[ -z "${KAFKA_BROKERS:-}" ]] && ! bash deploy/local/kafka.sh status >/dev/null 2>&1; then
  bash deploy/local/kafka.sh start
  started_kafka=true
fi
if ! bash deploy/local/postgres.sh status >/dev/null 2>&1; then
  bash deploy/local/postgres.sh start
  started_postgres=true
fi
"$@"
