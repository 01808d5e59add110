import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import { TokenRegistryModule } from './app.module';
import { DevicesByUser1796083200007 } from './projections/devices/devices-by-user.migration';
import { DevicesBaseline1796083200001 } from './projections/devices/devices-tables.migration';
import { TokenRegistrations1796083200002 } from './projections/devices/token-registrations.migration';

export const tokenRegistryService: ServiceDefinition = {
  name: 'token-registry',
  description:
    'Owner of device tokens: which token each device holds, its user, and whether it can show (foreground) or only receive silent (background) pushes.',
  imports: [TokenRegistryModule],
  entities: [],
  migrations: [
    ...EVENT_BUS_MIGRATIONS,
    DevicesBaseline1796083200001,
    TokenRegistrations1796083200002,
    DevicesByUser1796083200007,
  ],
};
