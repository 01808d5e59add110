import { byteOrder, compareSortedRows, differenceCount } from './compare';
import { offsetSum, sameOffsets } from './databases';
import { maskedRow, renderVerify } from './verify';

async function* stream(rows: string[]): AsyncGenerator<string> {
  for (const row of [...rows].sort(byteOrder)) yield row;
}

describe('verify: comparing the live and the rebuilt read model', () => {
  it('equal tables have no difference, whatever their size', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: `d${i}`, n: i }));
    const result = await compareSortedRows('devices', stream(rows), stream([...rows].reverse()));
    expect(result).toMatchObject({ liveRows: 5000, rebuiltRows: 5000, onlyLive: 0, onlyRebuilt: 0, examples: [] });
    expect(differenceCount(result)).toBe(0);
  });

  it('a changed row is one only-live and one only-rebuilt row; a missing and an extra row count once each', async () => {
    const live = ['{"id":"a","user":"kim"}', '{"id":"b","user":"lee"}', '{"id":"c","user":"ann"}'];
    const rebuilt = ['{"id":"a","user":"kim"}', '{"id":"b","user":"mallory"}', '{"id":"d","user":"bob"}'];
    const result = await compareSortedRows('devices', stream(live), stream(rebuilt));
    expect(result).toMatchObject({ liveRows: 3, rebuiltRows: 3, onlyLive: 2, onlyRebuilt: 2 });
    expect(result.examples).toEqual([
      { side: 'live', row: '{"id":"b","user":"lee"}' },
      { side: 'rebuilt', row: '{"id":"b","user":"mallory"}' },
      { side: 'live', row: '{"id":"c","user":"ann"}' },
      { side: 'rebuilt', row: '{"id":"d","user":"bob"}' },
    ]);
  });

  it('rows are multisets: a duplicate on one side is a difference', async () => {
    const result = await compareSortedRows('history', stream(['x', 'x', 'y']), stream(['x', 'y']));
    expect(result).toMatchObject({ onlyLive: 1, onlyRebuilt: 0 });
  });

  it('orders by UTF-8 bytes, as Postgres does with collate "C" (not by UTF-16 units)', () => {
    // U+FF5E (3 bytes, EF BD 9E) sorts before U+1F600 (4 bytes, F0 9F 98 80) in bytes; in UTF-16 units it is after.
    expect(byteOrder('\uff5e', '\u{1f600}')).toBeLessThan(0);
    expect('\uff5e' < '\u{1f600}').toBe(false);
  });

  it('caught up means the same next offset for every group and partition, no more and no less', () => {
    const live = { 'token-registry.devices': { 'sdk.device-events.v1:0': '10', 'sdk.device-events.v1:1': '7' } };
    expect(
      sameOffsets(live, {
        'token-registry.devices': { 'sdk.device-events.v1:1': '7', 'sdk.device-events.v1:0': '10' },
      }),
    ).toBe(true);
    expect(sameOffsets(live, { 'token-registry.devices': { 'sdk.device-events.v1:0': '10' } })).toBe(false);
    expect(
      sameOffsets(live, { 'token-registry.devices': { 'sdk.device-events.v1:0': '9', 'sdk.device-events.v1:1': '7' } }),
    ).toBe(false);
    expect(offsetSum(live)).toBe(17n);
  });

  it('the report names each table and its differences, and never shows a token whole', () => {
    const row = maskedRow(
      '{"device_id":"d1","token":"abcdefghijklmnop","previous_token":"0123456789","user_id":"kim"}',
    );
    expect(JSON.parse(row)).toEqual({
      device_id: 'd1',
      token: '**********klmnop',
      previous_token: '****456789',
      user_id: 'kim',
    });
    const text = renderVerify({
      service: 'token-registry',
      applied: '240',
      differences: 2,
      tables: [
        {
          table: 'devices',
          liveRows: 3,
          rebuiltRows: 3,
          onlyLive: 1,
          onlyRebuilt: 1,
          examples: [{ side: 'live', row }],
        },
        {
          table: 'users_seen',
          liveRows: 0,
          rebuiltRows: 0,
          onlyLive: 0,
          onlyRebuilt: 0,
          examples: [],
          problem: 'only the live read model has this table',
        },
      ],
    });
    expect(text).toBe(
      [
        'verify token-registry: 240 messages applied by both read models',
        '  devices: 3 live rows, 3 rebuilt rows, 1 only live, 1 only rebuilt',
        `    only live: ${row}`,
        '  users_seen: only the live read model has this table',
        '2 difference(s)',
        '',
      ].join('\n'),
    );
  });

  it('a table whose counters were not compared says which columns were left out, after its figures', () => {
    const text = renderVerify({
      service: 'segmentation',
      applied: '90',
      differences: 0,
      tables: [
        { table: 'audience_devices', liveRows: 40, rebuiltRows: 40, onlyLive: 0, onlyRebuilt: 0, examples: [] },
        {
          table: 'audience_versions',
          liveRows: 1,
          rebuiltRows: 1,
          onlyLive: 0,
          onlyRebuilt: 0,
          examples: [],
          leftOut: ['version'],
        },
      ],
    });
    expect(text.split('\n').slice(1, 3)).toEqual([
      '  audience_devices: 40 live rows, 40 rebuilt rows, no differences',
      '  audience_versions: 1 live rows, 1 rebuilt rows, no differences (version not compared: numbered in commit order)',
    ]);
  });
});
