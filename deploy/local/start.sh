#!/usr/bin/env bash
# `npm start`: the whole platform on this machine without Docker — a real Kafka broker (unless KAFKA_BROKERS is
# set), the Postgres at DATABASE_URL (default local; where none answers and DATABASE_URL is unset, an embedded one with
# its data in .data/postgres, see postgres.sh), the five services built and started, and the console on port 3000.
# Each service creates its database, runs its migrations and provisions its topics at start. Ctrl-C / SIGTERM stops
# everything this script started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

services=(token-registry subscription-state segmentation dispatcher bounce-processor console)
ports=(3001 3002 3003 3004 3005 3000)
logs="$root/.data/logs"
export API_KEYS="${API_KEYS:-demo-key=demo}"

pids=()
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
# Each service's heap budget (deploy/service-node-options, see README "Memory"); SERVICE_NODE_OPTIONS overrides it.
read -r -a node_options <<<"${SERVICE_NODE_OPTIONS:-$(cat deploy/service-node-options)}"
for s in "${services[@]}"; do
  node "${node_options[@]}" "dist/services/$s/src/main.js" >"$logs/$s.log" 2>&1 &
  pids+=($!)
done

for i in "${!services[@]}"; do
  port="${ports[$i]}"
  for _ in $(seq 1 120); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/health"; then break; fi
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "${services[$i]} exited during start; last log lines:" >&2; tail -n 20 "$logs/${services[$i]}.log" >&2; exit 1
    fi
    sleep 0.5
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health" || { echo "${services[$i]} not healthy after 60 s, see $logs/${services[$i]}.log" >&2; exit 1; }
done

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
wait -n "${pids[@]}" || true
echo "a service exited; see .data/logs/" >&2
exit 1
