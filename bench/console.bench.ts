// npm run bench:console [-- --users 1000000 --loads 20 --partitions 6]
// The console in headless Chromium (Debian's chromium on PATH, the flags of its browser tests) against the built
// services, each its own process with its heap budget, on a private topic prefix and throwaway databases: the
// segmentation benchmark's population — `--users` users through the SDK device stream of bench/support.ts — loaded
// through the topics, plus one user on a shared phone. Measured:
//   - a profile page complete (subscription, devices with their delivery status, changelog laid out): from the
//     navigation to the page's data-complete marker, p95 of `--loads` fresh loads (after 2 warm-up loads);
//   - a segment size shown after the click on "Show size": click → the total laid out, p95 of `--loads` clicks
//     alternating between two filters (so that each click shows a new answer);
//   - the front end's JavaScript, gzipped (budget 200 kB).
// Targets (issue 18): profile ≤ 500 ms p95, segment size ≤ 300 ms p95, JS ≤ 200 kB gzipped.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { MessageKeys, Topics, encodeEvent } from '@push/contracts';
import { EventProducer, RawMessage } from '@push/event-bus';
import { deviceEvents, eventually, testBrokers } from '@push/testing';
import { launchChromium } from '../services/console/src/e2e/browser';
import { startPlatform } from '../services/console/src/e2e/platform';
import { buildWeb } from '../services/console/src/web-build/build-web';
import { MAX_GZIPPED_JS_BYTES } from '../services/console/src/web-build/paths';
import { STREAM_WORKSPACE, argValue, deviceEventStream, median, serviceNodeArgs, writeResults } from './support';

const USERS = Number(argValue('--users', '1000000'));
const LOADS = Number(argValue('--loads', '20'));
const PARTITIONS = Number(argValue('--partitions', '6'));
const KEY = 'bench-console-key';
const TARGET = 'bench-kim';

const p95 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
};
const round = (ms: number) => Math.round(ms * 10) / 10;

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'console-bench-'));
  const web = await buildWeb(join(scratch, 'web'));
  console.log(`front end: app.js ${(web.jsGzippedBytes / 1024).toFixed(1)} kB gzipped`);

  const platform = await startPlatform({
    services: ['token-registry', 'subscription-state', 'segmentation', 'bounce-processor'],
    apiKeys: `${KEY}=${STREAM_WORKSPACE}`,
    apps: { apps: [] },
    staticDir: web.outDir,
    fromDist: true,
    partitions: PARTITIONS,
    nodeArgs: serviceNodeArgs(),
  });
  const browser = await launchChromium();
  try {
    // The population: the SDK stream's events over USERS users (1.2 devices each, 2 events per device).
    const devices = Math.round(USERS * 1.2);
    const events = devices * 2;
    const stream = deviceEventStream({ events, devices, users: USERS });
    const producer = new EventProducer({ brokers: testBrokers(), clientId: 'bench-console', topicPrefix: '' });
    const topic = platform.topicPrefix + Topics.DeviceEvents;
    const bar = new SingleBar({ format: 'load      [{bar}] {value}/{total} SDK events' });
    bar.start(events, 0);
    for (let start = 0; start < events; start += 10_000) {
      const batch: RawMessage[] = [];
      for (let i = start; i < Math.min(events, start + 10_000); i++) {
        const event = stream.eventAt(i);
        batch.push({
          topic,
          key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
          value: encodeEvent(Topics.DeviceEvents, event),
        });
      }
      await producer.sendRaw(batch);
      bar.update(Math.min(events, start + 10_000));
    }
    bar.stop();
    await producer.disconnect();

    // The user a support agent looks up: a shared phone someone else used first, and a tablet.
    const at = Date.now() - 3_600_000;
    const phone = { workspace_id: STREAM_WORKSPACE, app_id: 'bench-ios', device_id: 'bench-kim-phone' };
    const tablet = { workspace_id: STREAM_WORKSPACE, app_id: 'bench-android', device_id: 'bench-kim-tablet' };
    const key = (d: typeof phone) => MessageKeys.device(d.workspace_id, d.app_id, d.device_id);
    await platform.publish(Topics.DeviceEvents, [
      { key: key(phone), event: deviceEvents.tokenRegistered(phone, at, 'c'.repeat(64), { user_id: 'bench-alex' }) },
      { key: key(phone), event: deviceEvents.changeUser(phone, at + 60_000, TARGET, 'bench-alex') },
      {
        key: key(tablet),
        event: deviceEvents.tokenRegistered(tablet, at, 'fcm-bench-kim-tablet-token-0123456789', {
          platform: 'ANDROID',
          os_version: '14',
          user_id: TARGET,
        }),
      },
    ]);

    // Loaded: every service caught up — segmentation's total stops moving and the target user is everywhere.
    const post = async (service: 'segmentation', path: string, body: unknown) =>
      (
        await fetch(platform.serviceUrls[service] + path, {
          method: 'POST',
          headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json();
    const everyone = {
      or: [
        { push_subscription: 'subscribed' },
        { push_subscription: 'opted_in' },
        { push_subscription: 'unsubscribed' },
      ],
    };
    const loadStarted = Date.now();
    let last = -1;
    let stableSince = Date.now();
    await eventually(
      async () => {
        const total = (await post('segmentation', '/segments/size', { filter: everyone })).total as number;
        const devicesOfTarget = await (
          await fetch(`${platform.serviceUrls['token-registry']}/users/${TARGET}/devices`, {
            headers: { Authorization: `Bearer ${KEY}` },
          })
        ).json();
        if (total !== last) {
          last = total;
          stableSince = Date.now();
          console.log(`applied: segmentation counts ${total} users`);
        }
        return devicesOfTarget.devices?.length === 2 && Date.now() - stableSince > 10_000;
      },
      3_600_000,
      'the population applied by every service',
    );
    console.log(
      `loaded ${last} users in ${((Date.now() - loadStarted) / 1000).toFixed(0)} s after the last event was produced`,
    );

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(platform.consoleUrl);
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();

    const profileMs: number[] = [];
    for (let i = 0; i < LOADS + 2; i++) {
      const started = performance.now();
      await page.goto(`${platform.consoleUrl}/?load=${i}#/profile?user=${TARGET}`);
      await page.locator('[data-testid=profile][data-complete=true]').waitFor();
      if (i >= 2) profileMs.push(performance.now() - started);
    }
    await expect2Devices(page);

    await page.goto(`${platform.consoleUrl}/?segments#/segments`);
    const sizeMs: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      await page.getByLabel('Push Enabled', { exact: true }).selectOption(i % 2 === 0 ? 'true' : 'false');
      const answerShown = () =>
        page.evaluate(() => document.querySelector('[data-testid=size]')?.getAttribute('data-answer') ?? null);
      const before = await answerShown();
      const started = performance.now();
      await page.getByRole('button', { name: 'Show size' }).click();
      await page.waitForFunction(
        (previous) => {
          const answer = document.querySelector('[data-testid=size]')?.getAttribute('data-answer') ?? null;
          return answer !== null && answer !== previous;
        },
        before,
        { polling: 'raf' },
      );
      sizeMs.push(performance.now() - started);
    }

    const result = {
      at: new Date().toISOString(),
      users: last,
      loads: LOADS,
      partitions: PARTITIONS,
      profile_complete_ms: { p95: round(p95(profileMs)), median: round(median(profileMs)), all: profileMs.map(round) },
      segment_size_shown_ms: { p95: round(p95(sizeMs)), median: round(median(sizeMs)), all: sizeMs.map(round) },
      js_gzipped_bytes: web.jsGzippedBytes,
      targets: { profile_p95_ms: 500, segment_size_p95_ms: 300, js_gzipped_bytes: MAX_GZIPPED_JS_BYTES },
      chromium_flags: 'headless, no-sandbox, disable-gpu, disable-background-networking, disable-component-update',
    };
    writeResults('console', result);
    console.log(
      `profile complete p95 ${result.profile_complete_ms.p95} ms (target 500) · segment size shown p95 ${result.segment_size_shown_ms.p95} ms (target 300) · JS ${(web.jsGzippedBytes / 1024).toFixed(1)} kB gzipped (target 200) · ${last} users`,
    );
  } finally {
    await browser.close();
    await platform.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function expect2Devices(page: import('playwright-core').Page) {
  const count = await page.getByTestId('device').count();
  if (count !== 2) throw new Error(`the profile showed ${count} devices of ${TARGET}, expected 2`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
