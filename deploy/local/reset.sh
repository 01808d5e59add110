#!/usr/bin/env bash
# `npm run reset [-- --yes] [-- --force] [-- --dry-run]`: a clean slate. Wipes the local broker's data (.data/kafka,
# or KAFKA_DATA_DIR) AND the five services' databases (token_registry, subscription_state, segmentation, dispatcher,
# bounce_processor on the local default Postgres, postgres://postgres@127.0.0.1:5432) together: a read model kept
# while its log is wiped would be built from events that no longer exist (and its stored offsets point past the new
# log's end), a log kept while its read models are wiped is merely replayed — so the databases go first. When the
# databases are in the embedded Postgres (postgres.sh, .data/postgres) and it is not running, it is started for the
# reset and stopped after.
# Refuses:
#   - while the local broker answers on 127.0.0.1:9092 or a service of this checkout runs (or answers on 3001–3005),
#     or another session is connected to one of the databases — stop them first (Ctrl-C `npm start`,
#     `npm run stack:stop`); --force does not override this;
#   - when KAFKA_BROKERS or DATABASE_URL is set (the services' log or read models live elsewhere: wiping only the local
#     half would leave the other), unless --force: then the local data and databases are wiped anyway, and with
#     DATABASE_URL set also the database it names.
# Asks before deleting when run from a terminal (--yes skips the question; without a terminal --yes is required).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${KAFKA_DATA_DIR:-$root/.data/kafka}"
# POSTGRES_PORT as in postgres.sh (its tests use a free port; the services' default is 5432).
local_port="${POSTGRES_PORT:-5432}"
local_server="postgres://postgres@127.0.0.1:$local_port/postgres"
databases=(token_registry subscription_state segmentation dispatcher bounce_processor)
ports=(3001 3002 3003 3004 3005)

force=false yes=false dry_run=false
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    --yes | -y) yes=true ;;
    --dry-run) dry_run=true ;;
    *) echo "usage: npm run reset -- [--yes] [--force] [--dry-run]" >&2; exit 2 ;;
  esac
done

refuse() { echo "reset: $*" >&2; exit 1; }

# 1. Elsewhere: the half reset cannot wipe.
elsewhere=()
case "${KAFKA_BROKERS:-}" in
  "" | 127.0.0.1:9092 | localhost:9092) ;;
  *) elsewhere+=("KAFKA_BROKERS=$KAFKA_BROKERS: the services' log is on that cluster, which reset does not touch") ;;
esac
extra_server="" extra_db=""
if [[ -n "${DATABASE_URL:-}" ]]; then
  # host:port/database only: the URL may hold a password
  described=$(node -e 'const u = new URL(process.argv[1]); console.log(`${u.hostname}:${u.port || 5432}/${decodeURIComponent(u.pathname.slice(1))}`)' "$DATABASE_URL" 2>/dev/null) ||
    refuse "DATABASE_URL is not a URL"
  elsewhere+=("DATABASE_URL is set ($described): the services' read models are (also) there, not only in the local default databases")
  extra_server=$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/postgres"; console.log(u.toString())' "$DATABASE_URL")
  extra_db=$(node -e 'console.log(decodeURIComponent(new URL(process.argv[1]).pathname.slice(1)))' "$DATABASE_URL")
fi
if ((${#elsewhere[@]} > 0)) && ! $force; then
  for problem in "${elsewhere[@]}"; do echo "reset: $problem" >&2; done
  refuse "refusing: unset them to reset the local stack, or pass --force to wipe ${data#"$root"/} and the databases anyway"
fi

# 2. Nothing may be running on what is wiped (not even with --force: a broker's files deleted under it, a service's
#    database dropped under it, leave exactly the inconsistent state this script exists to avoid).
if bash "$here/kafka.sh" status >/dev/null 2>&1; then
  pid=$( [[ -f "$data/kafka.pid" ]] && cat "$data/kafka.pid" || true)
  refuse "a Kafka broker answers on 127.0.0.1:9092${pid:+ (pid $pid)}: stop it first (npm run stack:stop, or Ctrl-C npm start)"
fi
running=()
for pid in $(pgrep -f 'dist/services/[^ ]*/src/main\.js' || true); do
  if [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" == "$root" ]]; then running+=("pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" | grep -o 'dist/services/[^/]*' | sed 's#dist/services/##'))"); fi
done
for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then running+=("something answers on 127.0.0.1:$port"); fi
done
if ((${#running[@]} > 0)); then
  refuse "services are running: ${running[*]}; stop them first (Ctrl-C npm start)"
fi

# The local databases live in the embedded Postgres (postgres.sh) when no other server answers on the local port: it
# is started for the reset and stopped after. With neither, there is no local database to delete.
local_postgres=true
started_postgres=false
pg() { env -u DATABASE_URL bash "$here/postgres.sh" "$@"; }
if ! pg status >/dev/null 2>&1; then
  if [[ -f "${POSTGRES_DATA_DIR:-$root/.data/postgres}/cluster/PG_VERSION" ]]; then
    pg start
    started_postgres=true
    trap 'pg stop >/dev/null' EXIT
  else
    local_postgres=false
  fi
fi
reset_local_databases() {
  if $local_postgres; then node "$here/reset-databases.js" "$local_server" "$@" "${databases[@]}"; fi
}

# 3. Ask.
echo "reset will delete:"
echo "  the local broker's data: $data"
if $local_postgres; then
  echo "  databases ${databases[*]} on 127.0.0.1:$local_port$($started_postgres && echo ' (the embedded Postgres, started for this)')"
else
  echo "  no local database: no Postgres answers on 127.0.0.1:$local_port and there is no embedded one"
fi
[[ -n "$extra_db" ]] && echo "  database $extra_db named by DATABASE_URL ($described)"
if $dry_run; then
  reset_local_databases --dry-run
  [[ -n "$extra_db" ]] && node "$here/reset-databases.js" "$extra_server" --dry-run "$extra_db"
  echo "reset: dry run, nothing deleted"
  exit 0
fi
if ! $yes; then
  [[ -t 0 ]] || refuse "not a terminal: pass --yes to confirm"
  read -r -p "Delete all of it? [y/N] " answer
  [[ "$answer" == y || "$answer" == Y || "$answer" == yes ]] || { echo "reset: nothing deleted"; exit 1; }
fi

# 4. The databases first: should this stop half-way, the log is still there and the read models are rebuilt from it.
flags=()
$force && flags+=(--force)
reset_local_databases "${flags[@]}"
if [[ -n "$extra_db" ]]; then node "$here/reset-databases.js" "$extra_server" "${flags[@]}" "$extra_db"; fi
if [[ -d "$data" ]]; then
  rm -rf -- "$data"
  echo "reset: deleted the broker's data ${data#"$root"/}"
else
  echo "reset: no broker data at ${data#"$root"/}"
fi
echo "reset: done — npm start formats a new broker and the services recreate their databases"
