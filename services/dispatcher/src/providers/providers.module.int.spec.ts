import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { PINO_LOGGER } from '@push/service-kit';
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
const warnings: unknown[] = [];

@Global()
@Module({
  providers: [
    { provide: Registry, useValue: registry },
    { provide: PINO_LOGGER, useValue: { child: () => ({ warn: (...args: unknown[]) => warnings.push(args) }) } },
  ],
  exports: [Registry, PINO_LOGGER],
})
class KitStandIn {}

@Module({ imports: [KitStandIn, ProvidersModule] })
class Root {}

let env: FakeProviderApps;
beforeAll(async () => {
  env = await startFakeProviderApps();
  const tls = await import('node:tls');
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), env.fakes.certificates.ca]);
});
afterAll(() => env.close());

it('provides PUSH_PROVIDER, which sends to every platform with the process trust store and closes on shutdown', async () => {
  const app = await NestFactory.createApplicationContext(Root, { logger: false });
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
  expect(warnings).toEqual([]);
});
