// Event-log export benchmark (issue 15): pre-load N SDK device events (the token-registry benchmarks' realistic stream,
// 6 partitions) into a scratch topic, then time the replay CLI's export — the built `dist/tools/eventlog/main.js`, run
// as its own process as an analyst runs it — writing every event as NDJSON to a file; medians of --runs.
//   npm run bench:eventlog -- [--events 1000000] [--devices 200000] [--runs 3]   (swc-compiled to dist/, then run as JS)
// Prints events/s (from spawn to exit: start-up, group join and all included) and the export's peak RSS; checks the
// file has one line per event; writes bench/results/eventlog-export-latest.json. Deletes its topics even on failure.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Topics } from '@push/contracts';
import { deleteTestTopics, testBrokers } from '@push/testing';
import { argValue, deviceEventStream, median, preloadDeviceEvents, writeResults } from './support';

const EVENTS = Number(argValue('--events', '1000000'));
const DEVICES = Number(argValue('--devices', '200000'));
const RUNS = Number(argValue('--runs', '3'));
const PARTITIONS = 6;
const FLOOR_EVENTS_PER_S = 50_000;

/** RSS of a child process from /proc (Linux), sampled every 100 ms; 0 where /proc is not there. */
function sampleRss(pid: number): { peak: () => number; stop: () => void } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (kb) peak = Math.max(peak, Number(kb[1]) * 1024);
    } catch {
      // The process has exited.
    }
  }, 100);
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const line of createInterface({ input: createReadStream(file) })) if (line) lines++;
  return lines;
}

/** One export of the whole topic to a file by the CLI process; events/s from spawn to exit, and its peak RSS. */
async function exportRun(prefix: string, out: string): Promise<{ eventsPerS: number; peakRssMb: number; ms: number }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      resolve('dist/tools/eventlog/main.js'),
      'export',
      '--topic',
      Topics.DeviceEvents,
      '--topic-prefix',
      prefix,
      '--out',
      out,
    ],
    { env: { ...process.env, KAFKA_BROKERS: testBrokers().join(',') }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const rss = sampleRss(child.pid as number);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const ms = performance.now() - started;
  rss.stop();
  if (code !== 0) throw new Error(`the export exited with ${code}: ${stderr}`);
  const lines = await countLines(out);
  if (lines !== EVENTS) throw new Error(`the export wrote ${lines} lines, expected ${EVENTS}`);
  return { eventsPerS: EVENTS / (ms / 1000), peakRssMb: Math.round(rss.peak() / 1024 / 1024), ms: Math.round(ms) };
}

async function main(): Promise<void> {
  const prefix = `bench.eventlog.${randomUUID().slice(0, 8)}.`;
  const dir = mkdtempSync(join(tmpdir(), 'eventlog-bench-'));
  const out = join(dir, 'export.ndjson');
  console.log(
    `eventlog export benchmark: ${EVENTS} events over ${DEVICES} devices, ${PARTITIONS} partitions, ${RUNS} run(s), node ${process.version}`,
  );
  try {
    const stream = deviceEventStream({ events: EVENTS, devices: DEVICES, users: Math.round(DEVICES * 0.75) });
    await preloadDeviceEvents(prefix + Topics.DeviceEvents, EVENTS, PARTITIONS, stream.eventAt);
    const runs: { eventsPerS: number; peakRssMb: number; ms: number }[] = [];
    let bytes = 0;
    for (let run = 1; run <= RUNS; run++) {
      runs.push(await exportRun(prefix, out));
      bytes = statSync(out).size;
      rmSync(out);
      console.log(
        `run ${run}: ${Math.round(runs.at(-1)!.eventsPerS)} events/s (${runs.at(-1)!.ms} ms), peak RSS ${runs.at(-1)!.peakRssMb} MB`,
      );
    }
    const rate = median(runs.map((r) => r.eventsPerS));
    const result = {
      benchmark: 'eventlog-export',
      at: new Date().toISOString(),
      node: process.version,
      events: EVENTS,
      devices: DEVICES,
      partitions: PARTITIONS,
      runs: RUNS,
      format: 'ndjson',
      export_events_per_s: { median: Math.round(rate), runs: runs.map((r) => Math.round(r.eventsPerS)) },
      export_ms: runs.map((r) => r.ms),
      peak_rss_mb: { median: median(runs.map((r) => r.peakRssMb)), runs: runs.map((r) => r.peakRssMb) },
      output_bytes: bytes,
      floors: { export_events_per_s: FLOOR_EVENTS_PER_S },
      meets_floor: rate >= FLOOR_EVENTS_PER_S,
    };
    console.log(JSON.stringify(result, null, 2));
    writeResults('eventlog-export', result);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await deleteTestTopics(prefix).catch((error) => console.error('could not delete the bench topics', error));
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
