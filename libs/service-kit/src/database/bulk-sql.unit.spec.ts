import { BulkRows, distinctBy, inKeyOrder } from './bulk-sql';

interface Reading {
  sensor_id: string;
  taken_ms: number;
  values: number[];
  note: string | null;
}

const READINGS = new BulkRows<Reading>({
  sensor_id: 'text',
  taken_ms: {
    type: 'bigint',
    column: 'taken_at',
    select: '(extract(epoch from taken_at) * 1000)::float8',
    insert: 'to_timestamp(taken_ms / 1000.0)',
  },
  values: { type: 'float8[]' },
  note: { type: 'text', select: null },
});

describe('BulkRows', () => {
  it('lists the table columns, also qualified by an alias', () => {
    expect(READINGS.columns()).toBe('sensor_id, taken_at, values, note');
    expect(READINGS.columns('t')).toBe('t.sensor_id, t.taken_at, t.values, t.note');
  });

  it('reads each field back under its own name, leaving out the write-only ones', () => {
    expect(READINGS.selectList()).toBe('sensor_id, (extract(epoch from taken_at) * 1000)::float8 as taken_ms, values');
  });

  it('turns rows into one array per field for unnest, numbering the parameters from where it is told', () => {
    const labels = new BulkRows<{ sensor_id: string; label: string | null }>({ sensor_id: 'text', label: 'text' });

    expect(labels.unnest('x', 3)).toBe('unnest($3::text[], $4::text[]) as x(sensor_id, label)');
    expect(
      labels.arrays([
        { sensor_id: 's1', label: null },
        { sensor_id: 's2', label: 'roof' },
      ]),
    ).toEqual([
      ['s1', 's2'],
      [null, 'roof'],
    ]);
  });

  it('describes the JSON parameter of json_to_recordset field by field', () => {
    expect(READINGS.recordset()).toBe(
      'json_to_recordset($1::json) as r(sensor_id text, taken_ms bigint, values float8[], note text)',
    );
  });

  it('inserts each field as its column, and updates every column but the key on conflict', () => {
    expect(READINGS.insert('readings', 'src')).toBe(
      'insert into readings (sensor_id, taken_at, values, note) select sensor_id, to_timestamp(taken_ms / 1000.0), values, note from src',
    );
    expect(READINGS.onConflictUpdate(['sensor_id', 'taken_ms'])).toBe(
      'on conflict (sensor_id, taken_at) do update set values = excluded.values, note = excluded.note',
    );
  });
});

describe('inKeyOrder and distinctBy', () => {
  it("inKeyOrder lists a map's values by key, whatever order they were added in", () => {
    expect(
      inKeyOrder(
        new Map([
          ['b', 2],
          ['c', 3],
          ['a', 1],
        ]),
      ),
    ).toEqual([1, 2, 3]);
  });

  it('distinctBy keeps the first row of each key, in the order they come', () => {
    const rows = [
      { k: 'x', n: 1 },
      { k: 'y', n: 2 },
      { k: 'x', n: 3 },
    ];
    expect(distinctBy(rows, (r) => r.k)).toEqual([
      { k: 'x', n: 1 },
      { k: 'y', n: 2 },
    ]);
  });
});
