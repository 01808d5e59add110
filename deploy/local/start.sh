#!/usr/bin/env bash
# `npm start`: the whole platform on this machine without Docker — a real Kafka broker (unless KAFKA_BROKERS is
# set), the Postgres at DATABASE_URL (default local; where none answers and DATABASE_URL is unset, an embedded one with
# its data in .data/postgres, see postgres.sh), the five services built and started, and the console on port 3000.
# Each service creates its database, runs its migrations and provisions its topics at start. Ctrl-C / SIGTERM stops
# everything this script started. `npm start -- --demo` also starts the fake providers (the services send to them)
# and synthetic SDK traffic with a dispatch now and then (tools/demo).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

services=(token-registry subscription-state segmentation dispatcher bounce-processor console)
ports=(3001 3002 3003 3004 3005 3000)
logs="$root/.data/logs"
demo=false
if [[ "${1:-}" == "--demo" ]]; then demo=true; shift; fi
export API_KEYS="${API_KEYS:-demo-key=demo}"

pids=()          # everything this script started, stopped at exit
service_pids=()  # the services', in the order of `services`
started_kafka=false
started_postgres=false
stopping=false
shutdown() {
  $stopping && return; stopping=true
  echo; echo "stopping services…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $started_kafka; then bash deploy/local/kafka.sh stop; fi
  if $started_postgres; then bash deploy/local/postgres.sh stop; fi
}
trap shutdown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z "${KAFKA_BROKERS:-}" ]] && ! bash deploy/local/kafka.sh status >/dev/null 2>&1; then
  bash deploy/local/kafka.sh start
  started_kafka=true
fi
if ! bash deploy/local/postgres.sh status >/dev/null 2>&1; then
  bash deploy/local/postgres.sh start
  started_postgres=true
fi

echo "building…"
npm run --silent build >/dev/null 2>&1 || npm run build
# The console's front end: one esbuild bundle into dist/services/console/public.
node dist/services/console/src/web-build/main.js

mkdir -p "$logs"
if $demo; then
  # Before the services: they must inherit the demo's APPS_CONFIG and NODE_EXTRA_CA_CERTS (trust in the fakes' CA).
  rm -f .data/demo/demo.env
  node -r @swc-node/register tools/demo/main.ts prepare --dir .data/demo >"$logs/demo-prepare.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 60); do [[ -f .data/demo/demo.env ]] && break; sleep 0.5; done
  [[ -f .data/demo/demo.env ]] || { echo "the demo's fake providers did not start; see $logs/demo-prepare.log" >&2; exit 1; }
  set -a; source .data/demo/demo.env; set +a
fi
# Each service's heap budget (deploy/service-node-options, see README "Memory"); SERVICE_NODE_OPTIONS overrides it.
read -r -a node_options <<<"${SERVICE_NODE_OPTIONS:-$(cat deploy/service-node-options)}"
for s in "${services[@]}"; do
  node "${node_options[@]}" "dist/services/$s/src/main.js" >"$logs/$s.log" 2>&1 &
  pids+=($!); service_pids+=($!)
done

for i in "${!services[@]}"; do
  port="${ports[$i]}"
  for _ in $(seq 1 120); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/health"; then break; fi
    if ! kill -0 "${service_pids[$i]}" 2>/dev/null; then
      echo "${services[$i]} exited during start; last log lines:" >&2; tail -n 20 "$logs/${services[$i]}.log" >&2; exit 1
    fi
    sleep 0.5
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health" || { echo "${services[$i]} not healthy after 60 s, see $logs/${services[$i]}.log" >&2; exit 1; }
done

if $demo; then
  node -r @swc-node/register tools/demo/main.ts traffic --dir .data/demo >"$logs/demo-traffic.log" 2>&1 &
  pids+=($!)
fi

key="${API_KEYS%%=*}"
cat <<MSG

The platform is up (Kafka ${KAFKA_BROKERS:-127.0.0.1:9092}, logs in .data/logs/):
  token-registry       http://127.0.0.1:3001   (docs: /docs)
  subscription-state   http://127.0.0.1:3002
  segmentation         http://127.0.0.1:3003
  dispatcher           http://127.0.0.1:3004
  bounce-processor     http://127.0.0.1:3005
API key for workspace '${API_KEYS#*=}': $key   (set API_KEYS=key=workspace,... to choose your own)

The console: http://127.0.0.1:3000   — sign in with the API key $key

Try:
  curl -s http://127.0.0.1:3001/health
  curl -s -H 'Authorization: Bearer $key' http://127.0.0.1:3001/devices/my-app/device-1

Ctrl-C stops everything.
MSG
if $demo; then
  echo "Demo: fake providers and synthetic traffic running (logs: .data/logs/demo-*.log); sign in to the console and"
  echo "open a user such as user-1, or try the curl calls in tools/demo/README.md."
fi
wait -n "${pids[@]}" || true
echo "a service exited; see .data/logs/" >&2
exit 1
