import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PINO_LOGGER, SERVICE_CONFIG } from '@push/service-kit';
import { ProvidersModule } from './providers.module';
import { PUSH_PROVIDER, PushProvider } from './push-provider';
import {
  FakeProviderApps,
  apnsToken,
  fcmToken,
  message,
  startFakeProviderApps,
  target,
} from './testing/fake-provider-apps';

// ProvidersModule as the dispatcher's module imports it: PUSH_PROVIDER built by Nest from the kit's Registry and
// logger and the PROVIDER_* settings, sending to the fakes, closed when the application shuts down. A process trusts
// the fakes through NODE_EXTRA_CA_CERTS, which cannot be set inside this one: the CA is handed to Node's TLS
// defaults here instead (tls.setDefaultCACertificates, Node ≥ 22.15), the store NODE_EXTRA_CA_CERTS adds to.

const registry = new Registry();
const warnings: [Record<string, unknown>, string][] = [];
let appsFile = '';

@Global()
@Module({
  providers: [
    { provide: Registry, useValue: registry },
    {
      provide: PINO_LOGGER,
      useValue: {
        child: () => ({ warn: (details: Record<string, unknown>, m: string) => warnings.push([details, m]) }),
      },
    },
    { provide: SERVICE_CONFIG, useFactory: () => ({ appsConfigPath: appsFile }) },
  ],
  exports: [Registry, PINO_LOGGER, SERVICE_CONFIG],
})
class KitStandIn {}

@Module({ imports: [KitStandIn, ProvidersModule] })
class Root {}

let env: FakeProviderApps;
beforeAll(async () => {
  env = await startFakeProviderApps();
  // Besides the three apps of the fakes, one whose key file is missing: reported at start, before any dispatch.
  appsFile = join(env.dir, 'apps-with-broken.json');
  const broken = { ...env.json.apps[0], app_id: 'ios-broken' } as unknown as { apns: Record<string, unknown> };
  writeFileSync(
    appsFile,
    JSON.stringify({ apps: [...env.json.apps, { ...broken, apns: { ...broken.apns, key_file: 'missing.p8' } }] }),
  );
  const tls = await import('node:tls');
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), env.fakes.certificates.ca]);
});
afterAll(() => env.close());

it('provides PUSH_PROVIDER: reports an unusable app at start, sends to every platform with the process trust store, closes on shutdown', async () => {
  const app = await NestFactory.createApplicationContext(Root, { logger: false });
  expect(warnings).toHaveLength(1);
  expect(warnings[0][0]).toMatchObject({ provider: 'APNS', app_id: 'ios-broken' });
  expect(warnings[0][0].reason).toBe(
    `cannot use the app's APNS settings (key_file ${join(env.dir, 'missing.p8')}): ENOENT`,
  );
  const provider = app.get<PushProvider>(PUSH_PROVIDER);
  const web = env.fakes.webPush.subscription(env.vapidPublicKey);
  const results = [
    ...(await provider.send(env.apps.ios, message(), [target(env.apps.ios, apnsToken('module'))])),
    ...(await provider.send(env.apps.android, message(), [target(env.apps.android, fcmToken('module'))])),
    ...(await provider.send(env.apps.web, message(), [target(env.apps.web, JSON.stringify(web))])),
  ];
  expect(results.map((r) => r.kind)).toEqual(['sent', 'sent', 'sent']);
  expect(await registry.getSingleMetricAsString('dispatcher_provider_sends_total')).toMatch(
    /dispatcher_provider_sends_total\{provider="APNS",outcome="sent"\} 1/,
  );
  await app.close();
  await expect(provider.send(env.apps.ios, message(), [target(env.apps.ios, apnsToken('closed'))])).rejects.toThrow(
    'the push provider is closed',
  );
  expect(warnings).toHaveLength(1);
});
