import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import { TokenRegistryModule } from './app.module';
import { DevicesAppliedEvents1764200000000 } from './projections/devices/devices-applied-events.migration';
import { DevicesTables1763856100000 } from './projections/devices/devices-tables.migration';
import { DevicesStateColumns1764100000000 } from './projections/devices/devices-state-columns.migration';
import { TokenHoldersUsersSeen1763950000000 } from './projections/devices/token-holders-users-seen.migration';

export const tokenRegistryService: ServiceDefinition = {
  name: 'token-registry',
  description:
    'Owner of device tokens: which token each device holds, its user, and whether it can show (foreground) or only receive silent (background) pushes.',
  imports: [TokenRegistryModule],
  entities: [],
  migrations: [
    ...EVENT_BUS_MIGRATIONS,
    DevicesTables1763856100000,
    TokenHoldersUsersSeen1763950000000,
    DevicesStateColumns1764100000000,
    DevicesAppliedEvents1764200000000,
  ],
};
