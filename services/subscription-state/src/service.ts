import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import { SubscriptionStateModule } from './app.module';
import { SubscriptionsBaseline1796083200002 } from './projections/subscriptions/subscriptions-tables.migration';

export const subscriptionStateService: ServiceDefinition = {
  name: 'subscription-state',
  description:
    'Owner of each user’s push subscription state (SUBSCRIBED, OPTED_IN, UNSUBSCRIBED): explicit preferences, first sightings and automatic opt-in (S1–S5), and Braze’s /users/track.',
  imports: [SubscriptionStateModule],
  entities: [],
  migrations: [...EVENT_BUS_MIGRATIONS, SubscriptionsBaseline1796083200002],
};
