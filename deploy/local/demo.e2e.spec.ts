import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@push/testing';
import { Platform, startPlatform } from '../../services/console/src/e2e/platform';
import { buildWeb } from '../../services/console/src/web-build/build-web';

jest.setTimeout(240_000);

const KEY = 'demo-key';

/**
 * `npm start -- --demo`'s publisher (deploy/local/demo.ts) against the real services on a private topic prefix: the
 * support agent's cases are there, and the numbers move while one looks.
 */
describe('the demo publisher', () => {
  let platform: Platform;
  let demo: ChildProcess;
  let scratch: string;

  const get = async (service: keyof Platform['serviceUrls'], path: string, body?: unknown) =>
    (
      await fetch(platform.serviceUrls[service] + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    ).json();
  const everyone = {
    or: [{ push_subscription: 'subscribed' }, { push_subscription: 'opted_in' }, { push_subscription: 'unsubscribed' }],
  };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'demo-e2e-'));
    await buildWeb(join(scratch, 'web'));
    platform = await startPlatform({
      services: ['token-registry', 'subscription-state', 'segmentation', 'bounce-processor'],
      apiKeys: `${KEY}=demo`,
      apps: { apps: [] },
      staticDir: join(scratch, 'web'),
    });
    demo = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'demo.ts')], {
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '', KAFKA_TOPIC_PREFIX: platform.topicPrefix },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  });

  afterAll(async () => {
    if (demo?.exitCode === null) {
      const exited = once(demo, 'exit');
      demo.kill('SIGTERM');
      await exited;
    }
    await platform?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('publishes kim on a shared phone with a tablet, lee with an invalidated token, and a population', async () => {
    await eventually(
      async () => {
        const [kim, lee, size] = await Promise.all([
          get('token-registry', '/users/kim/devices'),
          get('token-registry', '/users/lee/devices'),
          get('segmentation', '/segments/size', { filter: everyone }),
        ]);
        return (
          kim.devices?.length === 2 &&
          kim.devices.some((d: { push_permission: string }) => d.push_permission === 'denied') &&
          lee.devices?.[0]?.token_status === 'invalidated' &&
          size.total >= 120
        );
      },
      90_000,
      'the demo population',
    );
    const changelog = await get('token-registry', '/users/alex/token-changelog');
    expect(changelog.entries.map((e: { to_user_id: string }) => e.to_user_id)).toEqual(['alex', 'kim']);
  });

  it('keeps publishing: the workspace grows while the demo runs', async () => {
    const first = (await get('segmentation', '/segments/size', { filter: everyone })).total;
    await eventually(
      async () => (await get('segmentation', '/segments/size', { filter: everyone })).total > first,
      60_000,
      'a new demo user',
    );
    expect(demo.exitCode).toBeNull();
  });
});
