import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { AppsFile, AppsFileModule, PINO_LOGGER } from '@push/service-kit';
import { ProviderMetrics } from './provider-metrics';
import { providerSettingsFrom } from './provider-settings';
import { PUSH_PROVIDER, PushProvider } from './push-provider';
import { RoutingPushProvider } from './routing-push-provider';

/**
 * The provider adapters: `PUSH_PROVIDER` is a `RoutingPushProvider` (APNs, FCM, Web Push by the app's platform; each
 * send carries the app's entry of the apps file), its settings from the `PROVIDER_*` variables, its metrics on the
 * kit's registry; the lanes of the apps file's apps are made at start, so a key file that cannot be used is logged then. Closed on shutdown, after the sending worker stopped (the worker stops before the application
 * shuts down).
 */
@Module({
  imports: [AppsFileModule],
  providers: [
    {
      provide: PUSH_PROVIDER,
      useFactory: (registry: Registry, logger: Logger, apps: AppsFile): PushProvider => {
        const provider = new RoutingPushProvider({
          settings: providerSettingsFrom(process.env),
          metrics: new ProviderMetrics(registry),
          logger: logger.child({ component: 'providers' }),
        });
        provider.warmUp(apps.apps);
        return provider;
      },
      inject: [Registry, PINO_LOGGER, AppsFile],
    },
  ],
  exports: [PUSH_PROVIDER],
})
export class ProvidersModule implements OnApplicationShutdown {
  constructor(@Inject(PUSH_PROVIDER) private readonly provider: PushProvider) {}

  async onApplicationShutdown(): Promise<void> {
    await this.provider.close();
  }
}
