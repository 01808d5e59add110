import { DataSource } from 'typeorm';
import { dropDatabase, uniqueDatabaseUrl } from '@push/testing';
import { BulkRows } from './bulk-sql';
import { openDatabase } from './database';

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
  values: 'float8[]',
  note: 'text',
});

interface Label {
  sensor_id: string;
  label: string | null;
}

const LABELS = new BulkRows<Label>({ sensor_id: 'text', label: 'text' });

describe('BulkRows against Postgres', () => {
  const url = uniqueDatabaseUrl('bulk_sql_spec');
  let db: DataSource;

  beforeAll(async () => {
    db = await openDatabase({ url });
    await db.query(`create table readings (sensor_id text, taken_at timestamptz, values float8[], note text,
                      primary key (sensor_id, taken_at))`);
    await db.query('create table labels (sensor_id text, label text)');
  });

  afterAll(async () => {
    await db.destroy();
    await dropDatabase(url);
  });

  const upsertReadings = (rows: Reading[]) =>
    db.query(
      `${READINGS.insert('readings', READINGS.recordset())} ${READINGS.onConflictUpdate(['sensor_id', 'taken_ms'])}`,
      [READINGS.json(rows)],
    );
  const readings = (): Promise<Reading[]> =>
    db.query(`select ${READINGS.selectList()} from readings order by sensor_id, taken_at`);

  it('upserts rows with array fields and epoch milliseconds through one JSON parameter, and reads them back as written', async () => {
    await upsertReadings([
      { sensor_id: 'roof', taken_ms: 1_700_000_000_123, values: [1.5, -2], note: null },
      { sensor_id: 'yard', taken_ms: 1_700_000_000_456, values: [], note: 'first' },
    ]);
    await upsertReadings([
      { sensor_id: 'yard', taken_ms: 1_700_000_000_456, values: [3], note: 'second' },
      { sensor_id: 'yard', taken_ms: 1_700_000_000_789, values: [4, 5], note: null },
    ]);

    expect(await readings()).toEqual([
      { sensor_id: 'roof', taken_ms: 1_700_000_000_123, values: [1.5, -2], note: null },
      { sensor_id: 'yard', taken_ms: 1_700_000_000_456, values: [3], note: 'second' },
      { sensor_id: 'yard', taken_ms: 1_700_000_000_789, values: [4, 5], note: null },
    ]);
  });

  it('inserts, looks up and deletes rows of awkward strings and nulls through unnest arrays', async () => {
    const awkward = ['a,b', '{x}', 'quote"d', 'back\\slash', 'ünïcødé', ' ', 'NULL'];
    const rows: Label[] = [
      ...awkward.map((label, i) => ({ sensor_id: `s${i}`, label })),
      { sensor_id: 'none', label: null },
    ];
    await db.query(LABELS.insert('labels', LABELS.unnest()), LABELS.arrays(rows));

    const wanted = [rows[1], rows[6], rows[7]];
    const found: Label[] = await db.query(
      `select ${LABELS.selectList()} from labels where sensor_id in (select sensor_id from ${LABELS.unnest()}) order by sensor_id`,
      LABELS.arrays(wanted),
    );
    expect(found).toEqual([rows[7], rows[1], rows[6]]);

    await db.query(
      `delete from labels l using ${LABELS.unnest()} where (${LABELS.columns('l')}) = (${LABELS.columns('r')})`,
      LABELS.arrays(rows.slice(0, 4)),
    );
    expect(await db.query(`select ${LABELS.selectList()} from labels order by sensor_id`)).toEqual([
      rows[7],
      ...rows.slice(4, 7),
    ]);
  });
});
