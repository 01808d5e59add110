import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_VERSIONS } from '../generated/contracts';
import { compatibilityProblems } from './compatibility';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));
const currentTokenRegistered = () => SCHEMA_VERSIONS.find((v) => v.record === 'TokenRegistered' && v.version === 1)!.schema;

describe('schema evolution', () => {
  const byRecord = new Map<string, typeof SCHEMA_VERSIONS>();
  for (const v of SCHEMA_VERSIONS) byRecord.set(v.record, [...(byRecord.get(v.record) ?? []), v]);
  const consecutive = [...byRecord.values()].flatMap((versions) => {
    const sorted = [...versions].sort((a, b) => a.version - b.version);
    return sorted.slice(1).map((next, i) => [`${next.record} v${sorted[i].version} → v${next.version}`, sorted[i].schema, next.schema] as const);
  });

  it('numbers the versions of each record 1, 2, 3… without gaps', () => {
    for (const versions of byRecord.values()) {
      expect(versions.map((v) => v.version).sort((a, b) => a - b)).toEqual(versions.map((_, i) => i + 1));
    }
  });

  it.each(consecutive.length ? consecutive : [['(no record has two versions yet)', null, null] as const])(
    'every published version is fully compatible with the previous: %s',
    (_name, previous, next) => {
      if (previous && next) expect(compatibilityProblems(previous, next)).toEqual([]);
      else expect(consecutive).toHaveLength(0);
    },
  );

  it('accepts adding optional fields with defaults (fixture v0 → contract v1)', () => {
    expect(compatibilityProblems(fixture('TokenRegistered.v0.avsc'), currentTokenRegistered())).toEqual([]);
  });

  it('rejects a rename and a new field without a default', () => {
    const problems = compatibilityProblems(currentTokenRegistered(), fixture('TokenRegistered.incompatible.avsc'));

    expect(problems).toEqual(
      expect.arrayContaining([
        'field token was removed or renamed',
        'new field push_token has no default',
        'new field sdk_version has no default',
        expect.stringMatching(/^the new version cannot read data written with the previous one/),
      ]),
    );
  });

  it('the generated TypeScript contract is up to date with schemas/', () => {
    const root = join(__dirname, '../../../..');
    const output = execFileSync(process.execPath, [join(root, 'tools/codegen/generate-contracts.mts'), '--check'], { cwd: root, encoding: 'utf8' });

    expect(output).toMatch(/up to date/);
  });
});
