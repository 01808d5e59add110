import { ChildProcess, StdioOptions, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { KafkaMessage } from 'kafkajs';
import {
  MessageKeys,
  Platform,
  PushPermission,
  SdkDeviceEvent,
  Topics,
  decodeEvent,
  encodeEvent,
} from '@push/contracts';
import { EventProducer, RawMessage, createKafka, provisionTopics } from '@push/event-bus';
import { testBrokers } from '@push/testing';

/** The value after `name` on the command line, or the fallback. */
export function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Samples the process RSS every 100 ms and remembers the peak. */
export function peakRss(): { peak: () => number; stop: () => void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  return { peak: () => Math.max(peak, process.memoryUsage().rss), stop: () => clearInterval(timer) };
}

/** Kafka fetch sizes a benchmark's consumers use, given explicitly so that every consumer of a run fetches alike. */
export interface FetchSettings {
  maxBytesPerPartition: number;
  maxBytes: number;
  maxWaitTimeInMs: number;
}

/** The decode-only consumers' fetches in the service benchmarks (the raw limit; the services run with their defaults). */
export const RAW_LIMIT_FETCH: FetchSettings = {
  maxBytesPerPartition: 16 * 1024 * 1024,
  maxBytes: 96 * 1024 * 1024,
  maxWaitTimeInMs: 100,
};

/** Writes `bench/results/<name>-latest.json`; earlier results are in the repository's history, with their commit. */
export function writeResults(name: string, result: { at: string }): void {
  writeFileSync(join(resolve('bench/results'), `${name}-latest.json`), JSON.stringify(result, null, 2) + '\n');
}

/** Publishes SDK device events `from` ≤ i < `to` to `topic` in one call, keyed by device as the contract says. */
export async function publishDeviceEvents(
  producer: EventProducer,
  topic: string,
  from: number,
  to: number,
  eventAt: (i: number) => SdkDeviceEvent,
): Promise<void> {
  const batch: RawMessage[] = [];
  for (let i = from; i < to; i++) {
    const event = eventAt(i);
    batch.push({
      topic,
      key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
      value: encodeEvent(Topics.DeviceEvents, event),
    });
  }
  await producer.sendRaw(batch);
}

/** Publishes `count` SDK device events, built one chunk at a time (nothing kept), keyed by device as the contract says. */
export async function preloadDeviceEvents(
  topic: string,
  count: number,
  partitions: number,
  eventAt: (i: number) => SdkDeviceEvent,
): Promise<void> {
  const brokers = testBrokers();
  await provisionTopics({ brokers, partitions, topics: [topic] });
  const producer = new EventProducer({ brokers, clientId: 'bench-preload' });
  const bar = new SingleBar({ format: 'preload   [{bar}] {value}/{total} events' });
  bar.start(count, 0);
  const chunk = 10_000;
  for (let start = 0; start < count; start += chunk) {
    await publishDeviceEvents(producer, topic, start, Math.min(count, start + chunk), eventAt);
    bar.update(Math.min(count, start + chunk));
  }
  bar.stop();
  await producer.disconnect();
}

/** The SDK device stream of the token-registry benchmarks: how many events, over how many devices and users. */
export interface DeviceStreamShape {
  events: number;
  devices: number;
  users: number;
}

/** Tenant of every generated event. */
export const STREAM_WORKSPACE = 'ws-bench';
const STREAM_START = Date.UTC(2026, 10, 1);

const hex = (seed: string, length: number) =>
  createHash('sha256').update(seed).digest('hex').repeat(4).slice(0, length);
const mix = (i: number) => Math.imul(i ^ (i >>> 15), 2654435761) >>> 0;

/** What the `roll` of a visit makes the device do (per mille): the mix of a month of SDK traffic. */
function kindOf(roll: number) {
  if (roll < 430) return 'session' as const;
  if (roll < 730) return 'registration' as const;
  if (roll < 830) return 'login' as const;
  if (roll < 910) return 'permission' as const;
  if (roll < 980) return 'logout' as const;
  return 'uninstall' as const;
}

/**
 * A consistent per-device SDK event stream: `eventAt(i)` is event i of `shape.events` over `shape.devices` devices
 * (45 % iOS, 45 % Android — 30 % of them below 13 — 10 % web, realistic APNs/FCM/PushSubscription tokens, a tenth of
 * devices refresh their token once) and `shape.users` users. Deterministic: the same i is the same event.
 *
 * Device d is visited every `devices` events (the stride is prime to `devices`), so its earlier visits are
 * i - devices, i - 2·devices, …: folding their rolls gives the device's user and permission now, and every event
 * reports them as a real SDK would (a session after a logout is anonymous until the next login; a permission changed
 * in the settings stays changed). 1 % of events arrive a minute late (T9); 0.7 % of registrations carry another
 * device's token (T2): `tokenDonorOf(i)` names that device.
 */
export function deviceEventStream({ events, devices, users }: DeviceStreamShape) {
  /** Device d: 45 % iOS, 45 % Android (30 % of them below 13), 10 % web; its user; its permission habit. */
  function deviceProfile(d: number) {
    const kind = d % 20;
    const platform: Platform = kind < 9 ? 'IOS' : kind < 18 ? 'ANDROID' : 'WEB';
    const app_id = platform === 'IOS' ? 'ios-app' : platform === 'ANDROID' ? 'android-app' : 'web-app';
    const os_version = platform === 'IOS' ? '17.4' : platform === 'ANDROID' ? (mix(d) % 10 < 3 ? '12' : '14') : null;
    const r = mix(d + 1) % 10;
    const permission: PushPermission =
      r < 6
        ? 'AUTHORIZED'
        : r < 7
          ? platform === 'IOS'
            ? 'PROVISIONAL'
            : 'AUTHORIZED'
          : r < 9
            ? 'DENIED'
            : 'NOT_DETERMINED';
    return {
      device: { workspace_id: STREAM_WORKSPACE, app_id, device_id: `device-${d}` },
      platform,
      os_version,
      permission,
      user_id: `user-${d % users}`,
    };
  }

  /** Realistic tokens: APNs 64 hex, FCM ~160 characters, web a JSON PushSubscription. A tenth of devices refresh once. */
  function tokenOf(d: number, platform: Platform, i: number): string {
    const version = d % 10 === 0 && i >= events / 2 ? 1 : 0;
    const seed = `${d}:${version}`;
    if (platform === 'IOS') return hex(seed, 64);
    if (platform === 'ANDROID') return `${hex(seed, 22)}:APA91b${hex(`${seed}f`, 134)}`;
    return JSON.stringify({
      endpoint: `https://fcm.googleapis.com/fcm/send/${hex(seed, 22)}:APA91b${hex(`${seed}w`, 60)}`,
      keys: { p256dh: hex(`${seed}p`, 87), auth: hex(`${seed}a`, 22) },
    });
  }

  const deviceOf = (i: number) => (i * 7919) % devices;

  /** The device whose token event i registers, when it is another device's (T2); null otherwise. */
  function tokenDonorOf(i: number): number | null {
    const roll = mix(i) % 1000;
    return kindOf(roll) === 'registration' && roll >= 728 ? (deviceOf(i) + 20) % devices : null;
  }

  function eventAt(i: number): SdkDeviceEvent {
    const d = deviceOf(i);
    const p = deviceProfile(d);
    let loggedIn = d % 10 !== 3;
    let permission = p.permission;
    for (let visit = i % devices; visit < i; visit += devices) {
      const kind = kindOf(mix(visit) % 1000);
      if (kind === 'login') loggedIn = true;
      else if (kind === 'logout') loggedIn = false;
      else if (kind === 'permission') permission = permission === 'AUTHORIZED' ? 'DENIED' : 'AUTHORIZED';
    }
    const roll = mix(i) % 1000;
    const late = roll % 100 === 7 ? 60_000 : 0;
    const base = {
      event_id: `b0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      ...p.device,
      occurred_at: STREAM_START + i * 1000 - late,
    };
    const { platform, os_version } = p;
    const user_id = loggedIn ? p.user_id : null;
    switch (kindOf(roll)) {
      case 'session':
        return {
          type: 'SessionStarted',
          data: { ...base, platform, os_version, push_permission: permission, user_id },
        };
      case 'registration':
        return {
          type: 'TokenRegistered',
          data: {
            ...base,
            platform,
            token: tokenOf(tokenDonorOf(i) ?? d, platform, i),
            os_version,
            push_permission: permission,
            user_id,
          },
        };
      case 'login':
        return { type: 'ChangeUser', data: { ...base, user_id: p.user_id, previous_user_id: null } };
      case 'permission':
        return {
          type: 'PushPermissionChanged',
          data: {
            ...base,
            platform,
            os_version,
            push_permission: permission === 'AUTHORIZED' ? 'DENIED' : 'AUTHORIZED',
            prompted: false,
          },
        };
      case 'logout':
        return { type: 'UserLoggedOut', data: { ...base, user_id } };
      case 'uninstall':
        return { type: 'AppUninstalled', data: base };
    }
  }

  /** The index i of a generated input event from its `event_id` (null for an id the stream did not make). */
  const indexOfEventId = (eventId: string): number | null =>
    /^b0000000-0000-4000-8000-([0-9a-f]{12})$/.test(eventId) ? parseInt(eventId.slice(24), 16) : null;

  return { eventAt, deviceOf, tokenDonorOf, indexOfEventId };
}

/** The built service's Node flags: `--service-node-args "…"` if given, else its heap budget from deploy/service-node-options. */
export function serviceNodeArgs(): string[] {
  return argValue('--service-node-args', readFileSync('deploy/service-node-options', 'utf8'))
    .split(/\s+/)
    .filter(Boolean);
}

/**
 * Starts the built token-registry (`dist/services/token-registry/src/main.js`) as its own process, as operators run
 * it: its own Node flags, the caller's environment (so `CONSUMER_*` variables reach it) plus its database, topic
 * prefix, partitions and port.
 */
export function startTokenRegistry(options: {
  port: number;
  databaseUrl: string;
  topicPrefix: string;
  partitions: number;
  nodeArgs: string[];
  env?: Record<string, string>;
  stdio?: StdioOptions;
}): ChildProcess {
  return spawn(process.execPath, [...options.nodeArgs, resolve('dist/services/token-registry/src/main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      KAFKA_TOPIC_PREFIX: options.topicPrefix,
      KAFKA_TOPIC_PARTITIONS: String(options.partitions),
      PORT: String(options.port),
      LOG_LEVEL: 'warn',
      API_KEYS: `bench=${STREAM_WORKSPACE}`,
      ...options.env,
    },
    stdio: options.stdio ?? ['ignore', 'inherit', 'inherit'],
  });
}

/** Sums of a service's event-bus counters for one consumer group, from its `/metrics`; null when it does not answer. */
export async function scrapeBusMetrics(
  port: number,
  group: string,
): Promise<{ applied: number; outbox: number } | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
    return {
      applied: value(new RegExp(`^event_bus_events_applied_total\\{group="${group}",[^}]*\\} (\\S+)$`, 'gm')),
      outbox: value(new RegExp(`^event_bus_outbox_size\\{group="${group}"[,}][^ ]* (\\S+)$`, 'gm')),
    };
  } catch {
    return null;
  }
}

/**
 * Reads `topic` from the beginning, each partition in offset order, until `count` messages were seen, handing each to
 * `each` (the fault runs' log checks: a topic of any size, never held in memory). Fails when a minute passes without a
 * message; the reader's consumer group is deleted afterwards.
 */
export async function readTopic(
  brokers: string[],
  topic: string,
  count: number,
  each: (partition: number, message: KafkaMessage) => void,
): Promise<void> {
  if (count === 0) return;
  const groupId = `bench-reader-${randomUUID()}`;
  const kafka = createKafka('bench-reader', brokers);
  const consumer = kafka.consumer({ groupId, ...RAW_LIMIT_FETCH });
  await consumer.connect();
  let seen = 0;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      let last = performance.now();
      const timer = setInterval(() => {
        if (performance.now() - last > 60_000) {
          clearInterval(timer);
          reject(new Error(`read back only ${seen} of ${count} messages of ${topic}`));
        }
      }, 1000);
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) each(batch.partition, message);
          seen += batch.messages.length;
          last = performance.now();
          if (seen >= count) {
            clearInterval(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** The raw limit: a consumer that fetches and decodes every message of `topic` and does nothing else; events/s. */
export async function decodeOnly(
  topic: string,
  count: number,
  partitions: number,
  fetch: FetchSettings,
): Promise<number> {
  const consumer = createKafka('bench-decode', testBrokers()).consumer({
    groupId: `bench-decode-${randomUUID()}`,
    ...fetch,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const started = performance.now();
  const bar = new SingleBar({ format: '(a) decode [{bar}] {value}/{total} events' });
  bar.start(count, 0);
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: partitions,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) decodeEvent(Topics.DeviceEvents, message.value as Buffer);
        seen += batch.messages.length;
        bar.update(seen);
        if (seen >= count) resolve(performance.now());
      },
    });
  });
  const ended = await done;
  bar.stop();
  await consumer.disconnect();
  return count / ((ended - started) / 1000);
}
