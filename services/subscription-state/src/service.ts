import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import { SubscriptionStateModule } from './app.module';

export const subscriptionStateService: ServiceDefinition = {
  name: 'subscription-state',
  description: 'Owner of each user’s push subscription state (SUBSCRIBED, OPTED_IN, UNSUBSCRIBED).',
  imports: [SubscriptionStateModule],
  entities: [],
  migrations: [...EVENT_BUS_MIGRATIONS],
};
