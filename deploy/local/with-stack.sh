#!/usr/bin/env bash
# Runs a command against a real Kafka broker and Postgres: starts the local broker when none answers (and stops it
# again afterwards), checks Postgres, then runs "$@". KAFKA_BROKERS / DATABASE_URL point at existing servers instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

started_kafka=false
cleanup() { if $started_kafka; then bash deploy/local/kafka.sh stop; fi; }
trap cleanup EXIT

if [[ -z "${KAFKA_BROKERS:-}" ]] && ! bash deploy/local/kafka.sh status >/dev/null 2>&1; then
  bash deploy/local/kafka.sh start
  started_kafka=true
fi
bash deploy/local/postgres.sh
"$@"
