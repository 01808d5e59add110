import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AppsFileModule } from '@push/service-kit';
import { BodyTooLargeFilter } from './api/body-too-large.filter';
import { TrackPublisher } from './api/track-publisher';
import { UsersController } from './api/users.controller';
import { SubscriptionHistoryProjection } from './projections/subscriptions/subscription-history.projection';
import { SubscriptionsProjection } from './projections/subscriptions/subscriptions.projection';

/**
 * subscription-state: the subscriptions projection (rules S1–S5), their history projected from what it published, and
 * the HTTP API over its read model.
 */
@Module({
  imports: [AppsFileModule],
  controllers: [UsersController, SubscriptionsProjection, SubscriptionHistoryProjection],
  providers: [TrackPublisher, { provide: APP_FILTER, useClass: BodyTooLargeFilter }],
})
export class SubscriptionStateModule {}
