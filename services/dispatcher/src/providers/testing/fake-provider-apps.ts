import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import webpush from 'web-push';
import type { PushMessage } from '@push/contracts';
import { FakeProviders, startFakeProviders } from '@push/fake-providers';
import { AppConfig, AppsFile } from '@push/service-kit';
import { ProviderMetrics } from '../provider-metrics';
import { DEFAULT_PROVIDER_SETTINGS, ProviderSettings } from '../provider-settings';
import type { PushTarget } from '../push-provider';
import { RoutingPushProvider, RoutingPushProviderOptions } from '../routing-push-provider';

/**
 * The adapters' specs and the benchmark: the three fakes, an apps file whose apps send to them (a .p8 key, a service
 * account file and VAPID keys the fakes trust, written to a temporary folder), and a `RoutingPushProvider` over them.
 */
export interface FakeProviderApps {
  fakes: FakeProviders;
  apps: { ios: AppConfig; android: AppConfig; web: AppConfig };
  vapidPublicKey: string;
  dir: string;
  /** The apps file's JSON, also written to `dir/apps.json` (relative key file paths resolve against `dir`). */
  json: { apps: Record<string, unknown>[] };
  appsFile: string;
  close(): Promise<void>;
}

export const APNS_TOPIC = 'com.example.push';
export const FCM_PROJECT = 'demo-push';

export async function startFakeProviderApps(
  options: Parameters<typeof startFakeProviders>[0] = {},
  workspaceId = 'ws-providers',
): Promise<FakeProviderApps> {
  const fakes = await startFakeProviders(options);
  const dir = mkdtempSync(join(tmpdir(), 'provider-apps-'));
  const key = fakes.apns.providerKey([APNS_TOPIC]);
  writeFileSync(join(dir, 'apns.p8'), key.key);
  writeFileSync(join(dir, 'fcm.json'), JSON.stringify(fakes.fcm.serviceAccount(FCM_PROJECT)));
  const vapid = webpush.generateVAPIDKeys();
  const json = {
    apps: [
      {
        workspace_id: workspaceId,
        app_id: 'ios-app',
        platform: 'ios',
        apns: {
          team_id: key.teamId,
          key_id: key.keyId,
          key_file: 'apns.p8',
          topic: APNS_TOPIC,
          host: '127.0.0.1',
          port: fakes.apns.port,
        },
      },
      {
        workspace_id: workspaceId,
        app_id: 'android-app',
        platform: 'android',
        fcm: { project_id: FCM_PROJECT, service_account_file: 'fcm.json', endpoint: fakes.fcm.origin },
      },
      {
        workspace_id: workspaceId,
        app_id: 'web-app',
        platform: 'web',
        webpush: {
          vapid_public_key: vapid.publicKey,
          vapid_private_key: vapid.privateKey,
          subject: 'mailto:ops@example.com',
        },
      },
    ],
  };
  const appsFile = join(dir, 'apps.json');
  writeFileSync(appsFile, JSON.stringify(json));
  const file = AppsFile.parse(json, 'test apps', dir);
  return {
    fakes,
    apps: {
      ios: file.app(workspaceId, 'ios-app')!,
      android: file.app(workspaceId, 'android-app')!,
      web: file.app(workspaceId, 'web-app')!,
    },
    vapidPublicKey: vapid.publicKey,
    dir,
    json,
    appsFile,
    close: async () => {
      await fakes.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Settings for specs: quick retries and pauses. */
export const TEST_PROVIDER_SETTINGS: ProviderSettings = {
  ...DEFAULT_PROVIDER_SETTINGS,
  retryBaseMs: 10,
  retryMaxMs: 5_000,
  maxAttempts: 3,
  pauseMs: 60_000,
  requestTimeoutMs: 2_000,
};

export interface LoggedWarning {
  details: Record<string, unknown>;
  message: string;
}

export function providerUnderTest(
  fakes: FakeProviders,
  settings: Partial<ProviderSettings> = {},
  now?: () => number,
  options: Pick<RoutingPushProviderOptions, 'webPushEncryption'> = {},
): { provider: RoutingPushProvider; registry: Registry; warnings: LoggedWarning[] } {
  const registry = new Registry();
  const warnings: LoggedWarning[] = [];
  const provider = new RoutingPushProvider({
    settings: { ...TEST_PROVIDER_SETTINGS, ...settings },
    metrics: new ProviderMetrics(registry),
    logger: { warn: (details, message) => warnings.push({ details, message }) },
    ca: fakes.certificates.ca,
    now,
    ...options,
  });
  return { provider, registry, warnings };
}

export const message = (overrides: Partial<PushMessage> = {}): PushMessage => ({
  title: 'Hello',
  body: 'World',
  data: { campaign: 'c1' },
  silent: false,
  ttl_seconds: 3600,
  collapse_key: null,
  priority: 'HIGH',
  ...overrides,
});

let device = 0;
export function target(app: AppConfig, token: string): PushTarget {
  return {
    workspaceId: app.workspace_id,
    appId: app.app_id,
    deviceId: `device-${++device}`,
    userId: `user-${device}`,
    platform: app.platform === 'ios' ? 'IOS' : app.platform === 'android' ? 'ANDROID' : 'WEB',
    token,
  };
}

/** A realistic APNs device token (64 hex) and FCM registration token (152 characters), distinct per `seed`. */
export const apnsToken = (seed: string | number) => Buffer.from(`apns-${seed}`).toString('hex').padEnd(64, '0');
export const fcmToken = (seed: string | number) => `f${String(seed).padStart(10, '0')}:APA91b${'x'.repeat(135)}`;

/** A metric's value from the registry (a counter with these labels). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = (metric?.values ?? []).find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return Number(value?.value ?? 0);
}
