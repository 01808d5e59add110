import { join } from 'node:path';
import { compatibilityProblems, schemaHistoryProblems } from './compatibility';
import { SchemaVersion, loadSchemaVersions } from './schema-files';

const published = loadSchemaVersions(join(__dirname, '../../../schemas'));
const fixture = (dir: string) => loadSchemaVersions(join(__dirname, 'fixtures', dir));

describe('schema evolution: full compatibility between consecutive versions (DESIGN §3)', () => {
  it('every record under schemas/ has versions 1…n, each readable-from and readable-by the previous', () => {
    expect(published.length).toBeGreaterThanOrEqual(12);
    expect(schemaHistoryProblems(published)).toEqual([]);
  });

  it('accepts a next version that adds an optional field with a default', () => {
    const history = [...published, ...fixture('compatible')];

    expect(history.filter((v) => v.record === 'TokenRegistered').map((v) => v.version)).toEqual([1, 2]);
    expect(schemaHistoryProblems(history)).toEqual([]);
  });

  it('rejects renamed, removed and default-less fields, and enums that one side cannot read', () => {
    const problems = schemaHistoryProblems([...published, ...fixture('incompatible')]);
    const pair = 'sdk.device-events.v1/TokenRegistered.v1.avsc → sdk.device-events.v1/TokenRegistered.v2.avsc';

    expect(problems).toEqual([
      `${pair}: field push.sdk.TokenRegistered.token was removed or renamed`,
      `${pair}: field push.sdk.TokenRegistered.user_id was removed or renamed`,
      `${pair}: new field push.sdk.TokenRegistered.push_token has no default`,
      `${pair}: new field push.sdk.TokenRegistered.sdk_version has no default`,
      expect.stringMatching(
        new RegExp(`^${pair}: backward: the new version cannot read data written with the previous one`),
      ),
      expect.stringMatching(
        new RegExp(`^${pair}: forward: the previous version cannot read data written with the new one`),
      ),
    ]);
  });

  it('the resolution checks alone catch an enum symbol removed (backward) and one added (forward)', () => {
    const [v1] = published.filter((v) => v.record === 'TokenRegistered');
    const enumOf = (schema: SchemaVersion['schema'], field: string) =>
      schema.fields.find((f) => f.name === field)!.type as { symbols: string[] };
    const withSymbols = (field: string, symbols: string[]) => {
      const schema = structuredClone(v1.schema);
      enumOf(schema, field).symbols = symbols;
      return schema;
    };

    expect(
      compatibilityProblems(v1.schema, withSymbols('push_permission', ['AUTHORIZED', 'PROVISIONAL', 'DENIED'])),
    ).toEqual([expect.stringMatching(/^backward: .*PushPermission/)]);
    expect(compatibilityProblems(v1.schema, withSymbols('platform', ['IOS', 'ANDROID', 'WEB', 'HUAWEI']))).toEqual([
      expect.stringMatching(/^forward: .*Platform/),
    ]);
  });

  it('rejects gaps in the version numbers and a record on two topics', () => {
    const [v1] = published.filter((v) => v.record === 'TokenRegistered');
    const [v2] = fixture('compatible');

    expect(
      schemaHistoryProblems([v1, { ...v2, version: 3, file: 'sdk.device-events.v1/TokenRegistered.v3.avsc' }]),
    ).toEqual([
      'sdk.device-events.v1/TokenRegistered.v3.avsc: expected version 2 (versions are numbered 1, 2, 3… without gaps or repeats)',
    ]);
    expect(schemaHistoryProblems([v1, { ...v2, topic: 'sdk.user-events.v1' }])).toEqual([
      'TokenRegistered is on several topics: sdk.device-events.v1, sdk.user-events.v1',
    ]);
  });
});
