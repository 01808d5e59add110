#!/usr/bin/env bash
# Makes sure the Postgres server behind DATABASE_URL (default: the local one on 127.0.0.1:5432) answers.
# Services create their own databases and run their migrations at start; this only checks the server.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

answers() { node "$here/pg-ping.js" "$url" >/dev/null 2>&1; }

if answers; then echo "postgres: answering"; exit 0; fi
if [[ -z "${DATABASE_URL:-}" ]] && command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
  echo "postgres: not answering on 127.0.0.1:5432, starting the local cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 30); do answers && { echo "postgres: answering"; exit 0; }; sleep 1; done
fi
echo "postgres: no server answers at ${url%%\?*} — start one or set DATABASE_URL" >&2
node "$here/pg-ping.js" "$url" >&2 || true
exit 1
