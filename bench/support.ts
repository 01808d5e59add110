import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { MessageKeys, SdkDeviceEvent, Topics, decodeEvent, encodeEvent } from '@push/contracts';
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

/** Writes `<name>-<time>.json` and `<name>-latest.json` under bench/results. */
export function writeResults(name: string, result: { at: string }): void {
  const dir = resolve('bench/results');
  writeFileSync(join(dir, `${name}-${result.at.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(dir, `${name}-latest.json`), JSON.stringify(result, null, 2) + '\n');
}

/** Publishes `count` SDK device events, built one chunk at a time (nothing kept), keyed by device as the contract says. */
export async function preloadDeviceEvents(topic: string, count: number, partitions: number, eventAt: (i: number) => SdkDeviceEvent): Promise<void> {
  const brokers = testBrokers();
  await provisionTopics({ brokers, partitions, topics: [topic] });
  const producer = new EventProducer({ brokers, clientId: 'bench-preload' });
  const bar = new SingleBar({ format: 'preload   [{bar}] {value}/{total} events' });
  bar.start(count, 0);
  const chunk = 10_000;
  for (let start = 0; start < count; start += chunk) {
    const batch: RawMessage[] = [];
    for (let i = start; i < Math.min(count, start + chunk); i++) {
      const event = eventAt(i);
      batch.push({ topic, key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id), value: encodeEvent(Topics.DeviceEvents, event) });
    }
    await producer.sendRaw(batch);
    bar.update(Math.min(count, start + chunk));
  }
  bar.stop();
  await producer.disconnect();
}

/** The raw limit: a consumer that fetches and decodes every message of `topic` and does nothing else; events/s. */
export async function decodeOnly(topic: string, count: number, partitions: number, fetch: FetchSettings): Promise<number> {
  const consumer = createKafka('bench-decode', testBrokers()).consumer({ groupId: `bench-decode-${randomUUID()}`, ...fetch });
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
