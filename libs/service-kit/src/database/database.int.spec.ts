import { databaseExists, dropDatabase, uniqueDatabaseUrl } from '@push/testing';
import { ensureDatabase } from './database';

describe('ensureDatabase', () => {
  const url = uniqueDatabaseUrl('ensure_db_spec');

  afterAll(() => dropDatabase(url));

  it('creates a missing database once, and is idempotent when replicas race', async () => {
    expect(await databaseExists(url)).toBe(false);

    const results = await Promise.all([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);

    expect(await databaseExists(url)).toBe(true);
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect(await ensureDatabase(url)).toBe('exists');
  });
});
