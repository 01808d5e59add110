import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

jest.setTimeout(180_000);

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function run(script: string, args: string[], env: Record<string, string>) {
  const inherited = { ...process.env };
  for (const name of ['DATABASE_URL', 'KAFKA_BROKERS']) delete inherited[name];
  const result = spawnSync('bash', [join(__dirname, script), ...args], {
    env: { ...inherited, ...env },
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

async function databases(port: number): Promise<string[]> {
  const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await client.connect();
  try {
    return (await client.query('select datname from pg_database order by datname')).rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

/**
 * `npm run reset` after a first hour on the embedded Postgres: its databases are in .data/postgres, and npm start
 * stopped the server with the rest. The reset starts it, drops the five databases, and stops it again. A private
 * broker port and data folder and a free Postgres port keep the machine's broker and server out of it.
 */
describe('deploy/local/reset.sh with the embedded Postgres', () => {
  let scratch: string;
  let env: Record<string, string>;
  let port: number;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'reset-embedded-'));
    // As .data is: the embedded server runs as the postgres user when root, and must reach its folder inside this one.
    chmodSync(scratch, 0o755);
    port = await freePort();
    env = {
      POSTGRES_PORT: String(port),
      POSTGRES_DATA_DIR: join(scratch, 'postgres'),
      KAFKA_PORT: String(await freePort()),
      KAFKA_DATA_DIR: join(scratch, 'kafka'),
    };
  });

  afterAll(() => {
    run('postgres.sh', ['stop'], env);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('with no server and no embedded data there is no local database to delete: only the broker data goes', () => {
    mkdirSync(env.KAFKA_DATA_DIR, { recursive: true });
    writeFileSync(join(env.KAFKA_DATA_DIR, 'meta.properties'), 'x');

    const result = run('reset.sh', ['--yes'], env);

    expect(result.output).toContain(`no local database: no Postgres answers on 127.0.0.1:${port}`);
    expect(result.status).toBe(0);
    expect(existsSync(env.KAFKA_DATA_DIR)).toBe(false);
    expect(existsSync(join(env.POSTGRES_DATA_DIR, 'cluster'))).toBe(false);
  });

  it("starts the stopped embedded Postgres, drops the services' databases, and stops it again", async () => {
    expect(run('postgres.sh', ['start'], env).status).toBe(0);
    const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await client.connect();
    await client.query('create database token_registry');
    await client.query('create database segmentation');
    await client.query('create database kept_by_reset');
    await client.end();
    expect(run('postgres.sh', ['stop'], env).status).toBe(0);

    const result = run('reset.sh', ['--yes'], env);

    expect(result.output).toContain('(the embedded Postgres, started for this)');
    expect(result.status).toBe(0);
    expect(run('postgres.sh', ['status'], env).status).toBe(1);
    expect(run('postgres.sh', ['start'], env).status).toBe(0);
    const left = await databases(port);
    expect(left).toContain('kept_by_reset');
    expect(left).not.toContain('token_registry');
    expect(left).not.toContain('segmentation');
  });
});
