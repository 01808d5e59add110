import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { PINO_LOGGER } from '@push/service-kit';
import { ProviderMetrics } from './provider-metrics';
import { providerSettingsFrom } from './provider-settings';
import { PUSH_PROVIDER, PushProvider } from './push-provider';
import { RoutingPushProvider } from './routing-push-provider';

/**
 * The provider adapters: `PUSH_PROVIDER` is a `RoutingPushProvider` (APNs, FCM, Web Push by the app's platform; each
 * send carries the app's entry of the apps file), its settings from the `PROVIDER_*` variables, its metrics on the
 * kit's registry. Closed on shutdown, after the sending worker stopped (the worker stops before the application
 * shuts down).
 */
@Module({
  providers: [
    {
      provide: PUSH_PROVIDER,
      useFactory: (registry: Registry, logger: Logger): PushProvider =>
        new RoutingPushProvider({
          settings: providerSettingsFrom(process.env),
          metrics: new ProviderMetrics(registry),
          logger: logger.child({ component: 'providers' }),
        }),
      inject: [Registry, PINO_LOGGER],
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
