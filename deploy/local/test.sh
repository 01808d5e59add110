#!/usr/bin/env bash
# `npm test`: type-check, lint, then every unit and integration test against a real Kafka broker and a real
# Postgres. Starts the local broker when none answers (and stops it again at the end); uses KAFKA_BROKERS /
# DATABASE_URL when they are set. Extra arguments go to jest (e.g. `npm test -- token-registry`).
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

echo "== type-check"; npx tsc -p tsconfig.json
echo "== lint"; npx eslint . --max-warnings 0
# NestJS 12 ships ES modules only: jest loads them through require(esm), which needs vm modules.
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --disable-warning=ExperimentalWarning"
echo "== tests"; npx jest --ci "$@"
