import type { DynamicModule, Type } from '@nestjs/common';
import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import { DispatcherModule } from './app.module';
import { DispatcherBaseline1796083200005 } from './projections/dispatcher-tables.migration';

/** The dispatcher, sending through the `PUSH_PROVIDER` the given module exports. */
export function dispatcherServiceSendingThrough(providers: Type<unknown> | DynamicModule): ServiceDefinition {
  return {
    name: 'dispatcher',
    description: 'Sends pushes through FCM, APNs and Web Push to eligible devices and publishes the outcomes.',
    imports: [DispatcherModule.sendingThrough(providers)],
    entities: [],
    migrations: [...EVENT_BUS_MIGRATIONS, DispatcherBaseline1796083200005],
  };
}
