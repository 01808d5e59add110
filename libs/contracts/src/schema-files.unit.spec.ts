import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSchemaVersions } from './schema-files';

const record = (name: string, namespace?: string) => JSON.stringify({ type: 'record', name, namespace, fields: [] });

describe('loadSchemaVersions: the schemas/ layout', () => {
  let dir: string;
  const write = (file: string, text: string) => {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'schemas-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads <topic>/<Record>.v<N>.avsc files sorted by topic, record and version, ignoring other files', () => {
    write('sdk.user-events.v1/PushSubscriptionSet.v2.avsc', record('PushSubscriptionSet', 'push.sdk'));
    write('sdk.user-events.v1/PushSubscriptionSet.v1.avsc', record('push.sdk.PushSubscriptionSet'));
    write('sdk.user-events.v1/README.md', '# notes');
    write('README.md', '# schemas');

    expect(loadSchemaVersions(dir).map((v) => [v.topic, v.record, v.version, v.file])).toEqual([
      ['sdk.user-events.v1', 'PushSubscriptionSet', 1, 'sdk.user-events.v1/PushSubscriptionSet.v1.avsc'],
      ['sdk.user-events.v1', 'PushSubscriptionSet', 2, 'sdk.user-events.v1/PushSubscriptionSet.v2.avsc'],
    ]);
  });

  it.each([
    [
      'a folder that is not a topic',
      'sdk.devices/Foo.v1.avsc',
      record('Foo', 'push.sdk'),
      /not a topic of the contract/,
    ],
    [
      'a file name without a version',
      'sdk.user-events.v1/Foo.avsc',
      record('Foo', 'push.sdk'),
      /expected <RecordName>\.v<N>\.avsc/,
    ],
    [
      'a file named after another record',
      'sdk.user-events.v1/Foo.v1.avsc',
      record('Bar', 'push.sdk'),
      /the record inside is named push\.sdk\.Bar/,
    ],
    ['a record without a namespace', 'sdk.user-events.v1/Foo.v1.avsc', record('Foo'), /Foo has no namespace/],
    [
      'a schema that is not a record',
      'sdk.user-events.v1/Foo.v1.avsc',
      JSON.stringify({ type: 'enum', name: 'push.sdk.Foo', symbols: ['A'] }),
      /not an Avro record/,
    ],
    ['invalid JSON', 'sdk.user-events.v1/Foo.v1.avsc', '{"type":', /Foo\.v1\.avsc: .*JSON/],
  ])('refuses %s', (_what, file, text, error) => {
    write(file, text);

    expect(() => loadSchemaVersions(dir)).toThrow(error);
  });
});
