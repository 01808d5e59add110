import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import { DispatcherModule } from './app.module';
import { DispatcherBaseline1796083200005 } from './projections/dispatcher-tables.migration';

export const dispatcherService: ServiceDefinition = {
  name: 'dispatcher',
  description: 'Sends pushes through FCM, APNs and Web Push to eligible devices and publishes the outcomes.',
  imports: [DispatcherModule],
  entities: [],
  migrations: [...EVENT_BUS_MIGRATIONS, DispatcherBaseline1796083200005],
};
