import { SCHEMA_VERSIONS } from '../generated/schemas';
import { canonicalFormOf, fingerprintOf, rabinFingerprint } from './fingerprint';
import { singleObjectHeader } from './single-object';

// The Avro specification's shared test data, share/test/data/schema-tests.txt (cross-checked there against the Java
// implementation): input schema, its Parsing Canonical Form, and its CRC-64-AVRO fingerprint as a signed 64-bit long.
const VECTORS: [id: string, input: string, canonical: string, fingerprint: string][] = [
  ['000', '"null"', '"null"', '7195948357588979594'],
  ['001', '{"type":"null"}', '"null"', '7195948357588979594'],
  ['002', '"boolean"', '"boolean"', '-6970731678124411036'],
  ['004', '"int"', '"int"', '8247732601305521295'],
  ['005', '{"type":"int"}', '"int"', '8247732601305521295'],
  ['006', '"long"', '"long"', '-3434872931120570953'],
  ['008', '"float"', '"float"', '5583340709985441680'],
  ['010', '"double"', '"double"', '-8181574048448539266'],
  ['012', '"bytes"', '"bytes"', '5746618253357095269'],
  ['014', '"string"', '"string"', '-8142146995180207161'],
  ['017', '[ "int"  ]', '["int"]', '-5232228896498058493'],
  ['018', '[ "int" , {"type":"boolean"} ]', '["int","boolean"]', '5392556393470105090'],
  [
    '019',
    '{"fields":[], "type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[]}',
    '-4824392279771201922',
  ],
  [
    '020',
    '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
    '{"name":"x.y.foo","type":"record","fields":[]}',
    '5916914534497305771',
  ],
  [
    '021',
    '{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}',
    '{"name":"a.b.foo","type":"record","fields":[]}',
    '-4616218487480524110',
  ],
  [
    '022',
    '{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}',
    '{"name":"foo","type":"record","fields":[]}',
    '-4824392279771201922',
  ],
  [
    '024',
    '{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}',
    '{"name":"foo","type":"record","fields":[]}',
    '-4824392279771201922',
  ],
  [
    '025',
    '{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
    '7843277075252814651',
  ],
  [
    '026',
    '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":true}, {"order":"descending","name":"f2","doc":"Hello","type":"int"}], "type":"record", "name":"foo" }',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    '-4860222112080293046',
  ],
  [
    '027',
    '{"type":"enum", "name":"foo", "symbols":["A1"]}',
    '{"name":"foo","type":"enum","symbols":["A1"]}',
    '-6342190197741309591',
  ],
  [
    '028',
    '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
    '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    '-4448647247586288245',
  ],
  ['029', '{"name":"foo","type":"fixed","size":15}', '{"name":"foo","type":"fixed","size":15}', '1756455273707447556'],
  [
    '030',
    '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
    '{"name":"x.y.z.foo","type":"fixed","size":32}',
    '-3064184465700546786',
  ],
  ['031', '{ "items":{"type":"null"}, "type":"array"}', '{"type":"array","items":"null"}', '-589620603366471059'],
  ['032', '{ "values":"string", "type":"map"}', '{"type":"map","values":"string"}', '-8732877298790414990'],
  [
    '033',
    '{"name":"PigValue","type":"record", "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    '-1759257747318642341',
  ],
];

describe('CRC-64-AVRO fingerprints of the Parsing Canonical Form (Avro specification test vectors)', () => {
  it.each(VECTORS)('vector %s: %s', (_id, input, canonical, fingerprint) => {
    const schema = JSON.parse(input);

    expect(canonicalFormOf(schema)).toBe(canonical);
    expect(BigInt.asIntN(64, fingerprintOf(schema)).toString()).toBe(fingerprint);
  });

  it('vector 016: the empty union (which avsc does not parse) fingerprints by its canonical text', () => {
    expect(BigInt.asIntN(64, rabinFingerprint('[]')).toString()).toBe('-1241056759729112623');
  });

  it('fingerprints are unsigned 64-bit integers', () => {
    expect(fingerprintOf('null')).toBe(0x63dd24e7cc258f8an);
    expect(fingerprintOf('int')).toBe(0x7275d51a3f395c8fn);
  });

  it('the single-object header of "int" is C3 01 and the little-endian fingerprint (Avro Ruby test suite)', () => {
    expect([...singleObjectHeader(fingerprintOf('int'))]).toEqual([
      0xc3, 0x01, 0x8f, 0x5c, 0x39, 0x3f, 0x1a, 0xd5, 0x75, 0x72,
    ]);
  });

  it('the canonical form of a contract schema drops docs, defaults and logical types, and is what is fingerprinted', () => {
    const { schema } = SCHEMA_VERSIONS.find((v) => v.record === 'PushBounced')!;
    const canonical = canonicalFormOf(schema);

    expect(canonical).toMatch(
      /^\{"name":"push\.dispatch\.PushBounced","type":"record","fields":\[\{"name":"event_id","type":"string"\}/,
    );
    expect(canonical).toContain(
      '{"name":"platform","type":{"name":"push.sdk.Platform","type":"enum","symbols":["IOS","ANDROID","WEB"]}}',
    );
    expect(canonical).toContain('{"name":"provider_timestamp","type":["null","long"]}');
    expect(canonical).not.toMatch(/"doc"|"default"|"logicalType"|"namespace"/);
    expect(fingerprintOf(schema)).toBe(rabinFingerprint(canonical));
  });
});
