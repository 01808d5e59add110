#!/usr/bin/env bash
# `npm test`: type-check, lint (ESLint with the module boundaries, Prettier), then the three test tiers one after the
# other — unit, integration (real Kafka broker and Postgres), end to end — each in one jest process over every project.
# A broker is started by with-stack.sh when none answers. Extra arguments go to every jest run: `npm test --
# token-registry` runs the matching files of each tier (a tier with none passes).
# `--tier unit|integration|e2e` runs that tier alone, without type-check and lint (`npm run test:unit`, …); unit tests
# need neither broker nor Postgres, so that tier starts none.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

args=("$@")
tiers=(unit integration e2e)
checks=1
if [[ "${1:-}" == "--tier" ]]; then
  case "${2:-}" in
    unit | integration | e2e) tiers=("$2") ;;
    *) echo "test.sh: --tier takes unit, integration or e2e" >&2 && exit 2 ;;
  esac
  checks=0
  shift 2
fi

if [[ -z "${PUSH_STACK_READY:-}" && "${tiers[*]}" != "unit" ]]; then
  PUSH_STACK_READY=1 exec bash deploy/local/with-stack.sh bash "$0" "${args[@]}"
fi

if ((checks)); then
  echo "== type-check" && npx tsc -p tsconfig.json
  # eslint.config.mjs computes Nx's project graph first, so that the module-boundary rule is never skipped.
  echo "== lint" && npx eslint . --max-warnings 0 && npx prettier --check .
fi
# NestJS 12 ships ES modules only: jest loads them through require(esm), which needs vm modules.
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --disable-warning=ExperimentalWarning"
for tier in "${tiers[@]}"; do
  workers=()
  # Integration tests mostly wait on the broker (rebalances, timeouts), so two files at once halve the tier on a
  # 2-core machine, where jest would run one (cores - 1): 102 s -> 51 s, 60 s with a compiler running alongside, no
  # failure in 6 runs. Test files work on throwaway topic prefixes (which prefix the consumer groups too) and
  # databases (libs/testing).
  if [[ "$tier" == "integration" ]]; then workers=(--maxWorkers=2); fi
  echo "== $tier tests" && TEST_TIER="$tier" npx jest --ci --passWithNoTests "${workers[@]}" "$@"
done
