import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '../../..');

/** Runs the generator exactly as `npm run codegen` does. */
function codegen(...args: string[]) {
  return spawnSync(process.execPath, ['-r', '@swc-node/register', 'tools/codegen/generate-contracts.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
}

describe('generated TypeScript contract (npm run codegen)', () => {
  it('is up to date with schemas/', () => {
    const run = codegen('--check');

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('--check fails when the schemas say otherwise than the checked-in output', () => {
    const run = codegen('--check', '--schemas', 'libs/contracts/src/fixtures/compatible');

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/generated is stale \(types\.ts, schemas\.ts\): run `npm run codegen`/);
  });

  it('refuses two schemas that define the same TypeScript type differently', () => {
    const run = codegen('--check', '--schemas', 'libs/contracts/src/fixtures/conflicting-types');

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /type Platform has two different definitions \(schemas\/sdk.user-events.v1\/A.v1.avsc and schemas\/sdk.user-events.v1\/B.v1.avsc\)/,
    );
  });
});
