#!/usr/bin/env bash
# `npm test`: type-check, lint, then every unit and integration test against a real Kafka broker and a real
# Postgres (started by with-stack.sh when none answers). Extra arguments go to jest (`npm test -- token-registry`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
if [[ -z "${PUSH_STACK_READY:-}" ]]; then PUSH_STACK_READY=1 exec bash deploy/local/with-stack.sh bash "$0" "$@"; fi

echo "== type-check"; npx tsc -p tsconfig.json
echo "== lint"; npx eslint . --max-warnings 0 && npx prettier --check .
# NestJS 12 ships ES modules only: jest loads them through require(esm), which needs vm modules.
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --disable-warning=ExperimentalWarning"
echo "== tests"; npx jest --ci "$@"
