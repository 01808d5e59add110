import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import { BounceProcessorModule } from './app.module';
import { DeliveryDeviceClaims1796083200006 } from './projections/delivery/delivery-claims.migration';
import { DeliveryBaseline1796083200002 } from './projections/delivery/delivery-tables.migration';

export const bounceProcessorService: ServiceDefinition = {
  name: 'bounce-processor',
  description: 'Turns provider bounces into token invalidation, device delivery status and uninstall signals.',
  imports: [BounceProcessorModule],
  entities: [],
  migrations: [...EVENT_BUS_MIGRATIONS, DeliveryBaseline1796083200002, DeliveryDeviceClaims1796083200006],
};
