import { Client } from 'pg';
import { randomUUID } from 'node:crypto';

/** The server integration tests use: DATABASE_URL's server if set, else the local one. */
export function testServerUrl(database = 'postgres'): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${database}`;
  return url.toString();
}

/** A unique database name for one test file; nothing is created until a service (or the test) creates it. */
export function uniqueDatabaseUrl(prefix: string): string {
  return testServerUrl(`${prefix.replace(/[^a-z0-9_]/gi, '_')}_${randomUUID().slice(0, 8)}`.toLowerCase());
}

/** Creates an empty throwaway database (name from `uniqueDatabaseUrl`); drop it with `dropDatabase`. */
export async function createDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new Client({ connectionString: testServerUrl() });
  await client.connect();
  try {
    await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/** Drops a test database, closing whatever connections are left on it. */
export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new Client({ connectionString: testServerUrl() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`);
  } finally {
    await client.end();
  }
}

export async function databaseExists(url: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new Client({ connectionString: testServerUrl() });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}
