import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

jest.setTimeout(180_000);

const script = join(__dirname, 'postgres.sh');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs postgres.sh with DATABASE_URL unset unless given, as `npm start` and `npm test` do on a fresh machine. */
function run(command: string, env: Record<string, string>) {
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL;
  const result = spawnSync('bash', [script, command], { env: { ...inherited, ...env }, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

async function select1(port: number, database = 'postgres'): Promise<number> {
  const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/${database}` });
  await client.connect();
  try {
    return (await client.query('select 1 as one')).rows[0].one;
  } finally {
    await client.end();
  }
}

/**
 * The first hour without Postgres (DESIGN §8): where nothing answers and DATABASE_URL is unset, postgres.sh starts an
 * embedded Postgres with its data in its own folder — tested on a free port, so the machine's server is left alone.
 */
describe('deploy/local/postgres.sh', () => {
  let dataDir: string;
  let port: number;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'embedded-postgres-'));
    port = await freePort();
    env = { POSTGRES_PORT: String(port), POSTGRES_DATA_DIR: dataDir };
  });

  afterAll(() => {
    run('stop', env);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts an embedded Postgres where nothing answers: user postgres without password, as the services expect', async () => {
    expect(run('status', env).status).toBe(1);

    const started = run('start', env);

    expect(started.output).toContain(`nothing answers on 127.0.0.1:${port} — starting an embedded Postgres`);
    expect(started.status).toBe(0);
    expect(await select1(port)).toBe(1);
    expect(existsSync(join(dataDir, 'cluster', 'PG_VERSION'))).toBe(true);
    expect(run('status', env).status).toBe(0);
  });

  it('a second start uses the running server; its data outlives a stop and a start', async () => {
    const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await client.connect();
    await client.query('create database kept_across_restarts');
    await client.end();

    expect(run('start', env)).toEqual({ status: 0, output: 'postgres: answering\n' });
    expect(run('stop', env).output).toContain('embedded server stopped');
    expect(run('status', env).status).toBe(1);
    const restarted = run('start', env);

    expect(restarted.status).toBe(0);
    expect(restarted.output).not.toContain('initialising');
    expect(await select1(port, 'kept_across_restarts')).toBe(1);
  });

  it('prefers an existing server: with one answering on the port, nothing is started', () => {
    const other = mkdtempSync(join(tmpdir(), 'embedded-postgres-unused-'));
    try {
      const result = run('start', { POSTGRES_PORT: String(port), POSTGRES_DATA_DIR: other });

      expect(result).toEqual({ status: 0, output: 'postgres: answering\n' });
      expect(existsSync(join(other, 'cluster'))).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("prefers the machine's own server on 5432 (this machine has one): nothing is started", () => {
    const other = mkdtempSync(join(tmpdir(), 'embedded-postgres-unused-'));
    try {
      expect(run('start', { POSTGRES_DATA_DIR: other })).toEqual({ status: 0, output: 'postgres: answering\n' });
      expect(existsSync(join(other, 'cluster'))).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('never starts one in place of a DATABASE_URL that does not answer', async () => {
    const dead = await freePort();
    const other = mkdtempSync(join(tmpdir(), 'embedded-postgres-unused-'));
    try {
      const result = run('start', {
        POSTGRES_DATA_DIR: other,
        DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${dead}/postgres`,
      });

      expect(result.status).toBe(1);
      expect(result.output).toContain('no server answers at DATABASE_URL');
      expect(result.output).not.toContain('secret');
      expect(existsSync(join(other, 'cluster'))).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('stop leaves alone a server it did not start', () => {
    const other = mkdtempSync(join(tmpdir(), 'embedded-postgres-unused-'));
    try {
      expect(run('stop', { POSTGRES_PORT: String(port), POSTGRES_DATA_DIR: other }).output).toContain(
        'no embedded server running',
      );
      expect(run('status', env).status).toBe(0);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
