import { DynamicModule, Module, Type } from '@nestjs/common';
import { AppsFileModule } from '@push/service-kit';
import { DispatchesController } from './api/dispatches.controller';
import { DispatcherMetrics } from './dispatcher-metrics';
import { DispatchRequestsProjection } from './projections/dispatches/dispatch-requests.projection';
import { EligibilityProjection } from './projections/eligibility/eligibility.projection';
import { LoggedOutcomesProjection } from './projections/dispatches/logged-outcomes.projection';
import { DispatchWorker } from './sending/dispatch-worker';
import { SENDING_SETTINGS, sendingSettingsFrom } from './sending/sending-settings';

/**
 * dispatcher: the read model of eligible devices, the dispatch requests, the sending worker and the HTTP API, sending
 * through the `PUSH_PROVIDER` that `providers` exports (the provider adapters' module; tests pass their own).
 */
@Module({})
export class DispatcherModule {
  static sendingThrough(providers: Type<unknown> | DynamicModule): DynamicModule {
    return {
      module: DispatcherModule,
      imports: [AppsFileModule, providers],
      controllers: [DispatchesController, EligibilityProjection, DispatchRequestsProjection, LoggedOutcomesProjection],
      providers: [
        DispatcherMetrics,
        DispatchWorker,
        { provide: SENDING_SETTINGS, useFactory: () => sendingSettingsFrom(process.env) },
      ],
    };
  }
}
