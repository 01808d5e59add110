import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MessageKeys, Topics } from '@push/contracts';
import { FakeProviders, startFakeProviders } from '@push/fake-providers';
import { DeviceRef, deviceEvents, eventually } from '@push/testing';
import { seriousViolations } from './e2e/accessibility';
import { launchChromium } from './e2e/browser';
import { Platform, startPlatform } from './e2e/platform';
import { buildWeb } from './web-build/build-web';

jest.setTimeout(240_000);

const WS = 'acme';
const KEY = 'key-acme';
const TOPIC = 'com.acme.app';
const phone: DeviceRef = { workspace_id: WS, app_id: 'ios-app', device_id: 'kim-phone' };
const oldPhone: DeviceRef = { workspace_id: WS, app_id: 'ios-app', device_id: 'kim-old-phone' };
const PHONE_TOKEN = 'a'.repeat(64);
const OLD_TOKEN = 'b'.repeat(64);

/**
 * The console's test send against the real dispatcher (and the services it learns eligibility from), sending through
 * the fake APNs over HTTP/2 with a real provider key: each device's outcome shows as it arrives.
 */
describe('the console test send (real dispatcher, fake APNs)', () => {
  let fakes: FakeProviders;
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  let scratch: string;
  const screenshots = process.env.CONSOLE_SCREENSHOTS_DIR;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'console-test-send-'));
    fakes = await startFakeProviders();
    const key = fakes.apns.providerKey([TOPIC]);
    writeFileSync(join(scratch, 'apns.p8'), key.key, { mode: 0o600 });
    fakes.writeCa(join(scratch, 'ca.pem'));
    // The old phone's token was uninstalled since: APNs answers 410 Unregistered.
    fakes.apns.answers.set({ byToken: { [OLD_TOKEN]: { status: 410, reason: 'Unregistered' } } });
    await buildWeb(join(scratch, 'web'));
    platform = await startPlatform({
      services: ['token-registry', 'subscription-state', 'bounce-processor', 'dispatcher'],
      apiKeys: `${KEY}=${WS}`,
      apps: {
        apps: [
          {
            workspace_id: WS,
            app_id: 'ios-app',
            name: 'Acme iOS',
            platform: 'ios',
            apns: {
              team_id: key.teamId,
              key_id: key.keyId,
              key_file: join(scratch, 'apns.p8'),
              topic: TOPIC,
              host: fakes.apns.host,
              port: fakes.apns.port,
            },
          },
        ],
      },
      staticDir: join(scratch, 'web'),
      env: { NODE_EXTRA_CA_CERTS: join(scratch, 'ca.pem') },
    });
    const at = Date.now() - 60_000;
    await platform.publish(Topics.DeviceEvents, [
      {
        key: MessageKeys.device(WS, phone.app_id, phone.device_id),
        event: deviceEvents.tokenRegistered(phone, at, PHONE_TOKEN, { user_id: 'kim' }),
      },
      {
        key: MessageKeys.device(WS, oldPhone.app_id, oldPhone.device_id),
        event: deviceEvents.tokenRegistered(oldPhone, at, OLD_TOKEN, { user_id: 'kim' }),
      },
    ]);
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await fakes?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('D1, D6: a test send to the user shown lists each device with its outcome: sent, and bounced with the reason', async () => {
    await page.goto(platform.consoleUrl);
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    await page.goto(`${platform.consoleUrl}/#/profile?user=kim`);
    await page.getByRole('link', { name: 'Send a test push to kim' }).click();
    await expect(page.getByLabel('External user id').inputValue()).resolves.toBe('kim');

    // The dispatcher learns the devices from token-registry's events: until it has, a dispatch targets no device.
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Send test push' }).click();
        await page
          .getByTestId('dispatch-status')
          .filter({ hasText: /^completed/ })
          .waitFor({ timeout: 30_000 });
        return (await page.getByTestId('outcome-row').count()) === 2;
      },
      90_000,
      'a dispatch to both of kim’s devices',
    );

    const rows = await page.getByTestId('outcome-row').allTextContents();
    expect(rows.find((r) => r.includes('kim-phone'))).toMatch(/Acme iOSkim-phoneiossent/);
    expect(rows.find((r) => r.includes('kim-old-phone'))).toMatch(/Acme iOSkim-old-phoneiosbouncedUnregistered/);
    await expect(page.getByTestId('dispatch-status').textContent()).resolves.toBe(
      'completed: 1 sent, 1 bounced, 0 failed, 0 skipped of 2 devices',
    );
    expect(fakes.apns.counters.perToken.get(PHONE_TOKEN)).toBeGreaterThanOrEqual(1);
    if (screenshots) await page.screenshot({ path: join(screenshots, 'test-send-outcomes.png'), fullPage: true });
    expect(await seriousViolations(page)).toEqual([]);
  });
});
