import { Module } from '@nestjs/common';
import { AppsFileModule } from '@push/service-kit';
import { SubscriptionsProjection } from './projections/subscriptions/subscriptions.projection';

/** subscription-state: the subscriptions projection (rules S1–S5) and the HTTP API over its read model. */
@Module({ imports: [AppsFileModule], controllers: [SubscriptionsProjection] })
export class SubscriptionStateModule {}
