// Event-bus benchmark (issue 3): pre-load N SDK device events (realistic mix, 6 partitions) into a fresh topic, then
// measure in the same run (a) the raw limit: a consumer that only decodes, and (b) the projection runner writing a
// simple read model (one row per device: last event type and time, event count) with exactly-once offsets.
//   npm run bench:bus -- [--events 1000000] [--devices 200000] [--runs 3]   (swc-compiled to dist/, then run as JS)
// Prints events/s for both, the ratio b/a and the peak RSS; writes bench/results/bus-latest.json.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { SingleBar } from 'cli-progress';
import pino from 'pino';
import { Registry } from 'prom-client';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { SdkDeviceEvent, Topics } from '@push/contracts';
import { EVENT_BUS_MIGRATIONS, Projection, ProjectionRunner, createKafka } from '@push/event-bus';
import { createDatabase, dropDatabase, testBrokers, uniqueDatabaseUrl } from '@push/testing';
import { FetchSettings, argValue, decodeOnly, median, peakRss, preloadDeviceEvents, writeResults } from './support';

const EVENTS = Number(argValue('--events', '1000000'));
const DEVICES = Number(argValue('--devices', '200000'));
const RUNS = Number(argValue('--runs', '1'));
const PARTITIONS = 6;
const brokers = testBrokers();
/** Throughput settings the bench passes explicitly; services keep the low-latency defaults (see bench/README.md). */
const THROUGHPUT = {
  maxBytesPerPartition: Number(argValue('--max-bytes-per-partition', String(16 * 1024 * 1024))),
  maxBytes: Number(argValue('--max-bytes', String(96 * 1024 * 1024))),
  maxWaitTimeInMs: 100,
  maxEventsPerTransaction: Number(argValue('--per-transaction', '100000')),
  partitionsConsumedConcurrently: Number(argValue('--concurrency', '3')),
};
const FETCH: FetchSettings = {
  maxBytesPerPartition: THROUGHPUT.maxBytesPerPartition,
  maxBytes: THROUGHPUT.maxBytes,
  maxWaitTimeInMs: THROUGHPUT.maxWaitTimeInMs,
};
const silent = pino({ level: 'silent' });

class DeviceActivity1763856000002 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'create table device_activity (device_key text collate "C" primary key, last_type text not null, last_at bigint not null, events integer not null) with (fillfactor = 70)',
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('drop table device_activity');
  }
}

/** A day of SDK traffic: mostly sessions, token refreshes, some logins, permission changes, logouts, uninstalls. */
function eventAt(i: number): SdkDeviceEvent {
  const d = (i * 7919) % DEVICES;
  const device = { workspace_id: 'ws-bench', app_id: d % 2 ? 'ios-app' : 'android-app', device_id: `device-${d}` };
  const base = { event_id: randomUUID(), ...device, occurred_at: 1_763_000_000_000 + i };
  const platform = d % 2 ? 'IOS' : 'ANDROID';
  const user_id = `user-${d % 150_000}`;
  const roll = i % 100;
  if (roll < 45)
    return {
      type: 'SessionStarted',
      data: { ...base, platform, os_version: '17.4', push_permission: 'AUTHORIZED', user_id },
    };
  if (roll < 70)
    return {
      type: 'TokenRegistered',
      data: {
        ...base,
        platform,
        token: `tok-${d}-${'x'.repeat(120)}`,
        os_version: '17.4',
        push_permission: 'AUTHORIZED',
        user_id,
      },
    };
  if (roll < 82) return { type: 'ChangeUser', data: { ...base, user_id, previous_user_id: null } };
  if (roll < 92)
    return {
      type: 'PushPermissionChanged',
      data: {
        ...base,
        platform,
        os_version: '17.4',
        push_permission: roll % 2 ? 'DENIED' : 'AUTHORIZED',
        prompted: true,
      },
    };
  if (roll < 97) return { type: 'UserLoggedOut', data: { ...base, user_id } };
  return { type: 'AppUninstalled', data: base };
}

function activityProjection(groupId: string, readModel: boolean): Projection<typeof Topics.DeviceEvents> {
  return {
    groupId,
    topics: [Topics.DeviceEvents],
    async apply(events, tx) {
      if (!readModel) return;
      // One multi-row upsert per transaction; events of the same device are folded first (an upsert touches a row
      // once). The message key is the device key (DESIGN §3.1), so no key is rebuilt per event.
      const byDevice = new Map<string, { device_key: string; last_type: string; last_at: number; events: number }>();
      for (const { key, event } of events) {
        const row = byDevice.get(key as string);
        if (row) {
          row.last_type = event.type;
          row.last_at = event.data.occurred_at;
          row.events++;
        } else
          byDevice.set(key as string, {
            device_key: key as string,
            last_type: event.type,
            last_at: event.data.occurred_at,
            events: 1,
          });
      }
      const rows = [...byDevice.values()];
      // One JSON parameter: V8 serialises it natively, where pg would escape four text arrays element by element.
      await tx.query(
        `insert into device_activity (device_key, last_type, last_at, events)
         select device_key, last_type, last_at, events
         from json_to_recordset($1::json) as r(device_key text, last_type text, last_at bigint, events int)
         on conflict (device_key) do update set last_type = excluded.last_type, last_at = excluded.last_at,
           events = device_activity.events + excluded.events`,
        [JSON.stringify(rows)],
      );
    },
  };
}

/**
 * (b) The projection runner: decode, apply, store offsets, one transaction per batch. With `readModel` false it
 * writes only the offsets (c): what the exactly-once machinery itself costs, without the read model's rows.
 */
async function projectionRun(prefix: string, readModel: boolean): Promise<number> {
  const url = uniqueDatabaseUrl('bench_bus');
  await createDatabase(url);
  const dataSource = await new DataSource({
    type: 'postgres',
    url,
    migrations: [...EVENT_BUS_MIGRATIONS, DeviceActivity1763856000002],
    migrationsRun: true,
    extra: { max: 8 },
  }).initialize();
  const metrics = new Registry();
  const runner = new ProjectionRunner({
    projection: activityProjection(`bench-projection-${randomUUID()}`, readModel),
    brokers,
    dataSource,
    logger: silent,
    metrics,
    topicPrefix: prefix,
    ...THROUGHPUT,
  });
  const bar = new SingleBar({ format: `${readModel ? '(b) project' : '(c) offsets'} [{bar}] {value}/{total} events` });
  bar.start(EVENTS, 0);
  // The runner counts an event as applied once its transaction committed: no query competes with it for Postgres.
  const applied = async () =>
    (await metrics.getSingleMetric('event_bus_events_applied_total')!.get()).values.reduce(
      (sum, v) => sum + v.value,
      0,
    );
  const started = performance.now();
  await runner.start();
  let done = 0;
  while (done < EVENTS) {
    await new Promise((r) => setTimeout(r, 20));
    done = await applied();
    bar.update(done);
  }
  const ended = performance.now();
  bar.stop();
  await runner.stop();
  if (readModel) {
    const [{ sum }] = await dataSource.query('select coalesce(sum(events), 0)::int as sum from device_activity');
    if (sum !== EVENTS) throw new Error(`read model counts ${sum} events, expected ${EVENTS}`);
  }
  await dataSource.destroy();
  await dropDatabase(url);
  return EVENTS / ((ended - started) / 1000);
}

async function main(): Promise<void> {
  const prefix = `bench.${Date.now()}.`;
  const topic = prefix + Topics.DeviceEvents;
  const rss = peakRss();
  console.log(
    `bus benchmark: ${EVENTS} events over ${DEVICES} devices, ${PARTITIONS} partitions, ${RUNS} run(s), node ${process.version}`,
  );
  await preloadDeviceEvents(topic, EVENTS, PARTITIONS, eventAt);

  const decodeRates: number[] = [];
  const projectionRates: number[] = [];
  const offsetsOnlyRates: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    decodeRates.push(await decodeOnly(topic, EVENTS, PARTITIONS, FETCH));
    projectionRates.push(await projectionRun(prefix, true));
    offsetsOnlyRates.push(await projectionRun(prefix, false));
    console.log(
      `run ${run}: (a) decode-only ${Math.round(decodeRates.at(-1)!)} events/s, (b) projection ${Math.round(projectionRates.at(-1)!)} events/s, ` +
        `(c) offsets only ${Math.round(offsetsOnlyRates.at(-1)!)} events/s`,
    );
  }

  const admin = createKafka('bench-cleanup', brokers).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();

  const a = median(decodeRates);
  const b = median(projectionRates);
  const result = {
    benchmark: 'event-bus',
    at: new Date().toISOString(),
    node: process.version,
    events: EVENTS,
    devices: DEVICES,
    partitions: PARTITIONS,
    runs: RUNS,
    decode_only_events_per_s: { median: Math.round(a), runs: decodeRates.map(Math.round) },
    projection_events_per_s: { median: Math.round(b), runs: projectionRates.map(Math.round) },
    ratio_b_over_a: Number((b / a).toFixed(3)),
    offsets_only_events_per_s: { median: Math.round(median(offsetsOnlyRates)), runs: offsetsOnlyRates.map(Math.round) },
    ratio_c_over_a: Number((median(offsetsOnlyRates) / a).toFixed(3)),
    settings: THROUGHPUT,
    peak_rss_mb: Math.round(rss.peak() / 1024 / 1024),
    floors: { projection_events_per_s: 15_000, ratio_b_over_a: 0.35 },
  };
  rss.stop();
  console.log(JSON.stringify(result, null, 2));
  writeResults('bus', result);
  process.exit(0);
}

void main();
