import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AppsFile } from '@push/service-kit';

// The runnable tool as the demo and the benchmark use it: its own process, its CA trusted by another process only
// through NODE_EXTRA_CA_CERTS, its apps file blocks valid for the apps file, its keys kept with --reuse.

jest.setTimeout(60_000);

const run = promisify(execFile);
const node = process.execPath;
let dir: string;
const started: ChildProcess[] = [];

interface Ready {
  caFile: string;
  fcm: string;
  admin: string;
  appsSettings: string;
}

function startTool(...extra: string[]): Promise<Ready> {
  const child = spawn(
    node,
    [
      '-r',
      '@swc-node/register',
      resolve('tools/fake-providers/main.ts'),
      '--dir',
      dir,
      '--apns-port',
      '0',
      '--fcm-port',
      '0',
      '--web-push-port',
      '0',
      '--admin-port',
      '0',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  started.push(child);
  return new Promise((resolveReady, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const line = buffer.split('\n').find((l) => l.startsWith('{"ready":true'));
      if (line) resolveReady(JSON.parse(line) as Ready);
    });
    child.once('exit', (code) => reject(new Error(`the tool exited with ${code}`)));
  });
}

const stop = (child: ChildProcess) =>
  new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM'))));

/** A separate Node process asking the fake FCM's token endpoint over TLS: the status, or the TLS error's code. */
async function tokenEndpointFrom(origin: string, env: Record<string, string>): Promise<string> {
  const script = `fetch(${JSON.stringify(`${origin}/token`)}, { method: 'POST', body: 'grant_type=x' })
    .then((r) => console.log(r.status), (e) => console.log(e.cause?.code ?? e.message))`;
  const { stdout } = await run(node, ['-e', script], { env: { PATH: process.env.PATH ?? '', ...env } });
  return stdout.trim();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fake-providers-tool-'));
});
afterAll(async () => {
  await Promise.all(started.map(stop));
  rmSync(dir, { recursive: true, force: true });
});

it('is trusted by another process through NODE_EXTRA_CA_CERTS only, and prints valid apps file blocks', async () => {
  const ready = await startTool();
  expect(await tokenEndpointFrom(ready.fcm, { NODE_EXTRA_CA_CERTS: ready.caFile })).toBe('400');
  expect(await tokenEndpointFrom(ready.fcm, {})).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');

  const blocks = JSON.parse(readFileSync(ready.appsSettings, 'utf8'));
  const apps = AppsFile.parse({
    apps: [
      { workspace_id: 'w', app_id: 'i', platform: 'ios', apns: blocks.apns },
      { workspace_id: 'w', app_id: 'a', platform: 'android', fcm: blocks.fcm },
      { workspace_id: 'w', app_id: 'b', platform: 'web', webpush: blocks.webpush },
    ],
  });
  expect(apps.app('w', 'a')?.fcm?.endpoint).toBe(ready.fcm);
  const counters = await (await fetch(`${ready.admin}/counters`)).json();
  // The process without the CA refused the certificate: its handshake never completed.
  expect(counters.fcm).toMatchObject({ received: 0, connections: 1 });
  await stop(started.pop()!);
});

it('with --reuse keeps the CA and the keys of the earlier run, so an apps file written for it stays valid', async () => {
  const before = readFileSync(join(dir, 'apps-settings.json'), 'utf8');
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const ready = await startTool('--reuse');
  const after = JSON.parse(readFileSync(ready.appsSettings, 'utf8'));
  const earlier = JSON.parse(before);
  expect(after.apns.key_id).toBe(earlier.apns.key_id);
  expect(after.webpush.vapid_public_key).toBe(earlier.webpush.vapid_public_key);
  expect(readFileSync(ready.caFile, 'utf8')).toBe(ca);
  expect(await tokenEndpointFrom(ready.fcm, { NODE_EXTRA_CA_CERTS: ready.caFile })).toBe('400');
});
