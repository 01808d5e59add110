import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { MessageKeys, Topics } from '@push/contracts';
import { DeviceRef, deviceEvents, eventually, outcomeEvents } from '@push/testing';
import { seriousViolations } from './e2e/accessibility';
import { launchChromium } from './e2e/browser';
import { parseCsv } from './e2e/csv';
import { Platform, startPlatform } from './e2e/platform';
import { buildWeb } from './web-build/build-web';
import { CONTENT_SECURITY_POLICY } from './security/security-headers';

jest.setTimeout(240_000);

const WS = 'acme';
const KEY = 'key-acme';
const APPS = {
  apps: [
    {
      workspace_id: WS,
      app_id: 'ios-app',
      name: 'Acme iOS',
      platform: 'ios',
      apns: { team_id: 'TEAM123456', key_id: 'KEY1234567', key_file: '/nonexistent/key.p8', topic: 'com.acme.app' },
    },
    { workspace_id: WS, app_id: 'android-app', name: 'Acme Android', platform: 'android', fcm: { project_id: 'acme' } },
    { workspace_id: WS, app_id: 'burst-app', platform: 'android', fcm: { project_id: 'acme' } },
  ],
};
const CSV_HEADER =
  'external_id,push_subscribe,push_opted_in_at,push_enabled,foreground_push_enabled,background_push_enabled,ios_push_reachable,android_push_reachable,web_push_reachable,push_tokens';

const device = (app_id: string, device_id: string): DeviceRef => ({ workspace_id: WS, app_id, device_id });
const sharedPhone = device('ios-app', 'shared-phone');
const tablet = device('android-app', 'kim-tablet');
const leePhone = device('ios-app', 'lee-phone');
const patPhone = device('ios-app', 'pat-phone');
const TOKENS = {
  shared: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  tablet: 'fcm-token-kim-tablet-0123456789abcdefghijklmnopqrstuvwxyz',
  lee: 'b1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f91',
  pat: 'c1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f92',
};
const keyOf = (ref: DeviceRef) => MessageKeys.device(ref.workspace_id, ref.app_id, ref.device_id);
const minutesAgo = (m: number) => Date.now() - m * 60_000;

/**
 * The console in headless Chromium against the real services (token-registry, subscription-state, segmentation,
 * bounce-processor, each its own process) and the real broker, seeded through the topics as the SDK gateway and the
 * providers' outcomes would: the issue's scenarios, an axe-core check of each page, and no request to another origin.
 */
describe('the console in a browser (real services, broker and Postgres)', () => {
  let platform: Platform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let staticDir: string;
  const requested: string[] = [];
  const screenshots = process.env.CONSOLE_SCREENSHOTS_DIR ?? mkdtempSync(join(tmpdir(), 'console-shots-'));

  const api = async (service: keyof Platform['serviceUrls'], path: string, body?: unknown) => {
    const response = await fetch(platform.serviceUrls[service] + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  const pushEnabledCount = async () =>
    (await api('segmentation', '/segments/size', { filter: { push_enabled: true } })).body.total;

  /** axe-core on the page as it is; its screenshot too (the README's), except where test-send.e2e takes a better one. */
  const accessible = async (name: string, screenshot = true) => {
    if (screenshot) await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
    expect([name, await seriousViolations(page)]).toEqual([name, []]);
  };
  /** A fresh load of a page: going to another hash of the same document would keep the page's state. */
  const open = async (hash: string) => {
    await page.goto(`${platform.consoleUrl}/${hash}`);
    await page.reload();
  };
  const openProfile = async (userId: string) => {
    await open(`#/profile?user=${encodeURIComponent(userId)}`);
    await page.locator(`[data-testid=profile] h2:text-is("${userId}")`).waitFor();
  };

  beforeAll(async () => {
    staticDir = mkdtempSync(join(tmpdir(), 'console-web-'));
    await buildWeb(staticDir);
    mkdirSync(screenshots, { recursive: true });
    platform = await startPlatform({
      services: ['token-registry', 'subscription-state', 'segmentation', 'bounce-processor'],
      apiKeys: `${KEY}=${WS},key-globex=globex`,
      apps: APPS,
      staticDir,
    });
    await platform.publish(Topics.DeviceEvents, [
      // A shared phone: alex registered it, then kim logged in on it (T3).
      {
        key: keyOf(sharedPhone),
        event: deviceEvents.tokenRegistered(sharedPhone, minutesAgo(50), TOKENS.shared, { user_id: 'alex' }),
      },
      { key: keyOf(sharedPhone), event: deviceEvents.changeUser(sharedPhone, minutesAgo(40), 'kim', 'alex') },
      // kim's tablet, whose notifications were then turned off in the OS settings (T6).
      {
        key: keyOf(tablet),
        event: deviceEvents.tokenRegistered(tablet, minutesAgo(45), TOKENS.tablet, {
          platform: 'ANDROID',
          os_version: '14',
          user_id: 'kim',
        }),
      },
      {
        key: keyOf(tablet),
        event: deviceEvents.pushPermissionChanged(tablet, minutesAgo(30), 'DENIED', {
          platform: 'ANDROID',
          os_version: '14',
          prompted: false,
        }),
      },
      {
        key: keyOf(leePhone),
        event: deviceEvents.tokenRegistered(leePhone, minutesAgo(44), TOKENS.lee, { user_id: 'lee' }),
      },
      {
        key: keyOf(patPhone),
        event: deviceEvents.tokenRegistered(patPhone, minutesAgo(43), TOKENS.pat, { user_id: 'pat' }),
      },
    ]);
    // lee's token bounced Unregistered (B3 → T8); a burst of mismatched credentials flags burst-app (B4).
    await platform.publish(Topics.DispatchOutcomes, [
      {
        key: keyOf(leePhone),
        event: outcomeEvents.pushBounced(leePhone, minutesAgo(20), TOKENS.lee, 'Unregistered', { user_id: 'lee' }),
      },
      ...Array.from({ length: 30 }, (_, i) => {
        const ref = device('burst-app', `burst-${i}`);
        return {
          key: keyOf(ref),
          event: outcomeEvents.pushBounced(ref, minutesAgo(10), `burst-token-${i}`, 'messaging/mismatched-credential', {
            platform: 'ANDROID',
          }),
        };
      }),
    ]);
    await eventually(
      async () => {
        const [kim, lee, held] = await Promise.all([
          api('token-registry', '/users/kim/devices'),
          api('token-registry', '/users/lee/devices'),
          api('bounce-processor', '/apps/burst-app/held-bounces'),
        ]);
        return (
          kim.body.devices?.length === 2 &&
          kim.body.devices.some((d: { push_permission: string }) => d.push_permission === 'denied') &&
          lee.body.devices?.[0]?.token_status === 'invalidated' &&
          held.body.count === 30 &&
          (await pushEnabledCount()) === 2
        );
      },
      60_000,
      'the seed applied by every service',
    );

    browser = await launchChromium();
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    rmSync(staticDir, { recursive: true, force: true });
  });

  it('a wrong key is refused at sign-in: no session cookie, the form says so', async () => {
    const response = await page.goto(platform.consoleUrl);
    expect(response?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    await page.getByLabel('API key').fill('wrong-key');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect(page.getByRole('alert').textContent()).resolves.toContain('not accepted');
    expect(await context.cookies()).toEqual([]);
    await accessible('sign-in');
  });

  it('signs in with a key kept only in an HttpOnly, SameSite=Strict cookie: never in storage or the URL', async () => {
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();

    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['console_session', true, 'Strict']]);
    expect(cookies[0].value).not.toContain(KEY);
    const stored = await page.evaluate(() => [
      localStorage.length,
      sessionStorage.length,
      location.href,
      document.cookie,
    ]);
    expect(stored).toEqual([0, 0, `${platform.consoleUrl}/`, '']);
    await expect(page.getByText('Workspace: acme').count()).resolves.toBe(1);
  });

  it('T3, T5, T6: kim on the shared phone — Foreground and Background lines, the reason, the changelog, masked tokens', async () => {
    await openProfile('kim');
    const devices = page.getByTestId('device');
    await expect(devices.count()).resolves.toBe(2);
    const lines = await page.locator('.registered-for').allTextContents();
    expect(lines.sort()).toEqual(['Background: Acme Android', 'Foreground: Acme iOS']);

    const tabletCard = devices.filter({ hasText: 'kim-tablet' });
    await expect(tabletCard.getByTestId('reason').textContent()).resolves.toMatch(
      /^Not reachable: notifications turned off in the OS settings at \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Silent \(background\) pushes still arrive\.$/,
    );
    await expect(devices.filter({ hasText: 'shared-phone' }).getByTestId('reason').textContent()).resolves.toBe(
      'Reachable: notifications are allowed.',
    );
    await expect(page.getByTestId('changelog').textContent()).resolves.toContain(
      `Token ${'*'.repeat(TOKENS.shared.length - 6)}${TOKENS.shared.slice(-6)} moved to this user from user alex`,
    );
    // S3: the iPhone's AUTHORIZED permission opted kim in automatically.
    await expect(page.getByTestId('subscription-state').textContent()).resolves.toBe('Opted-In');
    const html = await page.content();
    for (const token of Object.values(TOKENS)) expect(html).not.toContain(token);
    await accessible('profile');
  });

  it('T3: the shared phone on alex\'s profile is "moved to user kim at …"', async () => {
    await openProfile('alex');
    await expect(page.getByTestId('reason').textContent()).resolves.toMatch(
      /^Not reachable for this user: moved to user kim at \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/,
    );
    await expect(page.locator('.registered-for').textContent()).resolves.toBe('--');
  });

  it("T8: lee's token invalidated by APNs Unregistered, with the time, and no registration line", async () => {
    await openProfile('lee');
    await expect(page.getByTestId('reason').textContent()).resolves.toMatch(
      /^Not reachable: token invalidated by APNs Unregistered at \d{4}-\d\d-\d\d \d\d:\d\d UTC; the app must register a new token\.$/,
    );
    await expect(page.locator('.registered-for').textContent()).resolves.toBe('--');
  });

  it('G2, S2: Push Enabled drops by one in the segment view when kim is unsubscribed through the console (source DASHBOARD)', async () => {
    const segmentSize = async () => {
      await open('#/segments');
      await page.getByLabel('Push Enabled', { exact: true }).selectOption('true');
      await page.getByRole('button', { name: 'Show size' }).click();
      return page.getByTestId('segment-total').textContent();
    };
    await expect(segmentSize()).resolves.toBe('2');
    await expect(page.getByTestId('ios_push').textContent()).resolves.toBe('2');
    await accessible('segments');

    await openProfile('kim');
    await page.getByLabel('Change to').selectOption('unsubscribed');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Changed to Unsubscribed.').waitFor();
    await expect(page.getByTestId('subscription-state').textContent()).resolves.toBe('Unsubscribed');
    await expect(page.getByTestId('subscription-history').textContent()).resolves.toContain('the console');
    await expect(
      page.getByTestId('device').filter({ hasText: 'shared-phone' }).getByTestId('reason').textContent(),
    ).resolves.toMatch(/^Not reachable: the user unsubscribed from push at .* UTC \(through the console\)\.$/);

    await eventually(async () => (await segmentSize()) === '1', 30_000, 'Push Enabled to show 1');
  });

  it("shows a 400's problem at the field that caused it, in the form and in the JSON editor", async () => {
    await open('#/segments');
    await page.getByLabel('Push Enabled for App').fill('no-such-app');
    await page.getByRole('button', { name: 'Show size' }).click();
    const problem = page.locator('#push_enabled_for_app-problem');
    await problem.waitFor();
    expect((await problem.textContent())?.length).toBeGreaterThan(0);
    await expect(page.getByLabel('Push Enabled for App').getAttribute('aria-describedby')).resolves.toBe(
      'push_enabled_for_app-problem',
    );

    await page.getByRole('button', { name: 'JSON' }).click();
    await page.getByLabel('Filter (JSON, DESIGN §5)').fill('{"and":[{"platfrom":"ios"}]}');
    await page.getByRole('button', { name: 'Show size' }).click();
    await page.locator('#filter-json-problems').waitFor();
    await expect(page.locator('#filter-json-problems').textContent()).resolves.toContain('filter.and.0');
  });

  it('exports the segment as CSV streamed from segmentation, which parses with the DESIGN §9 header', async () => {
    await open('#/segments');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const rows = parseCsv(readFileSync(file, 'utf8'));

    expect(rows[0].join(',')).toBe(CSV_HEADER);
    const byUser = new Map(rows.slice(1).map((r) => [r[0], r]));
    expect([...byUser.keys()].sort()).toEqual(['alex', 'kim', 'lee', 'pat']);
    expect(byUser.get('kim')!.slice(1, 2)).toEqual(['unsubscribed']);
    expect(byUser.get('pat')!.slice(3, 7)).toEqual(['true', 'true', 'true', 'true']);
    expect(byUser.get('kim')![9].split(';').sort()).toEqual([
      'android-app:android:kim-tablet:background',
      'ios-app:ios:shared-phone:foreground',
    ]);
    await expect(page.getByTestId('export-status').textContent()).resolves.toBe(
      'Exporting 4 users to segment-users.csv…',
    );
  });

  it("B4: operations shows each service's health and the flagged app, whose held bounces are released", async () => {
    await open('#/operations');
    await page.getByTestId('held-bounces').waitFor();
    for (const service of ['token-registry', 'subscription-state', 'segmentation', 'bounce-processor'])
      await expect(page.getByTestId(`health-${service}`).textContent()).resolves.toBe('up');
    await expect(page.getByTestId('health-dispatcher').textContent()).resolves.toBe('down');
    await expect(page.getByRole('row', { name: /dispatcher/ }).textContent()).resolves.toContain(
      'dispatcher: not answering',
    );
    await expect(page.getByTestId('held-bounces').textContent()).resolves.toContain(
      'messaging/mismatched-credential: 30',
    );
    await accessible('operations');

    await page.getByRole('button', { name: 'Release burst-app' }).click();
    await page.getByText('burst-app: released 30 bounces, 30 tokens invalidated.').waitFor();
    expect((await api('bounce-processor', '/apps/burst-app/held-bounces')).body.count).toBe(0);
  });

  it('the test send page is accessible', async () => {
    await open('#/test-send?user=kim');
    await page.getByRole('button', { name: 'Send test push' }).waitFor();
    await expect(page.getByLabel('External user id').inputValue()).resolves.toBe('kim');
    await accessible('test-send', false);
  });

  it('refuses a state change without the CSRF header, and from another origin, even with the session cookie', async () => {
    const statuses = await page.evaluate(async () => {
      const put = (headers: Record<string, string>) =>
        fetch('/api/subscription-state/users/pat/subscription', {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json', ...headers },
          body: JSON.stringify({ push_subscribe: 'unsubscribed' }),
        }).then((r) => r.status);
      return [await put({}), await put({ 'X-CSRF-Token': 'forged' })];
    });
    expect(statuses).toEqual([403, 403]);

    const cookie = (await context.cookies())[0];
    const session = await (
      await fetch(`${platform.consoleUrl}/session`, { headers: { cookie: `${cookie.name}=${cookie.value}` } })
    ).json();
    const foreign = await fetch(`${platform.consoleUrl}/api/subscription-state/users/pat/subscription`, {
      method: 'PUT',
      headers: {
        cookie: `${cookie.name}=${cookie.value}`,
        'X-CSRF-Token': session.csrf_token,
        Origin: 'https://evil.example',
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ push_subscribe: 'unsubscribed' }),
    });
    expect(foreign.status).toBe(403);
    expect(
      (await api('segmentation', '/users/export/ids', { external_ids: ['pat'] })).body.users[0].push_subscribe,
    ).toBe('opted_in');
  });

  it("another workspace's key sees none of this workspace's users", async () => {
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await otherPage.goto(platform.consoleUrl);
    await otherPage.getByLabel('API key').fill('key-globex');
    await otherPage.getByRole('button', { name: 'Sign in' }).click();
    await otherPage.getByRole('navigation', { name: 'Pages' }).waitFor();
    await otherPage.goto(`${platform.consoleUrl}/#/profile?user=kim`);
    await otherPage.getByText('This workspace has never seen user kim.').waitFor();
    await expect(otherPage.getByTestId('device').count()).resolves.toBe(0);
    await other.close();
  });

  it('no page ever requested another origin', () => {
    expect(requested.length).toBeGreaterThan(10);
    const foreign = requested.filter(
      (url) => !url.startsWith(`${platform.consoleUrl}/`) && !url.startsWith(`blob:${platform.consoleUrl}/`),
    );
    expect(foreign).toEqual([]);
  });
});
