// Drops databases for `npm run reset` (deploy/local/reset.sh):
//   node reset-databases.js <server-url> [--force] [--dry-run] <database>...
// Refuses (exit 3, naming them) when another session is connected to one of the databases — a service is still
// running against it — unless --force, which drops them `with (force)`. A database that does not exist is skipped.
const { URL } = require('node:url');
const { Client } = require('pg');

const args = process.argv.slice(2);
const server = args.shift();
const force = args.includes('--force');
const dryRun = args.includes('--dry-run');
const databases = args.filter((a) => !a.startsWith('--'));

const quote = (name) => `"${name.replace(/"/g, '""')}"`;
const where = (url) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}`;
};

async function main() {
  const client = new Client({ connectionString: server, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows: existing } = await client.query('select datname from pg_database where datname = any($1)', [
      databases,
    ]);
    const present = existing.map((r) => r.datname);
    const { rows: sessions } = await client.query(
      `select datname, count(*)::int as n, string_agg(distinct coalesce(nullif(application_name, ''), client_addr::text, 'local'), ', ') as who
         from pg_stat_activity where datname = any($1) and pid <> pg_backend_pid() group by datname`,
      [present],
    );
    if (sessions.length > 0 && !force) {
      for (const s of sessions)
        console.error(
          `reset: ${s.n} session(s) connected to ${s.datname} on ${where(server)} (${s.who}): is a service still running?`,
        );
      console.error('reset: stop what uses them first (or pass --force to disconnect them)');
      process.exit(3);
    }
    for (const name of databases) {
      if (!present.includes(name)) {
        console.log(`reset: database ${name} on ${where(server)}: not there`);
        continue;
      }
      if (dryRun) {
        console.log(`reset: would drop database ${name} on ${where(server)}`);
        continue;
      }
      await client.query(`drop database ${quote(name)}${force ? ' with (force)' : ''}`);
      console.log(`reset: dropped database ${name} on ${where(server)}`);
    }
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  console.error(`reset: ${where(server)}: ${error.message}`);
  process.exit(1);
});
