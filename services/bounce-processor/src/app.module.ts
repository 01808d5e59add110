import { Module } from '@nestjs/common';
import { BurstHealth } from './api/burst-health';
import { DeliveryController } from './api/delivery.controller';
import { HeldBouncesController } from './api/held-bounces.controller';
import { BURST_SETTINGS, burstSettingsFrom } from './burst-settings';
import { DeliveryProjection } from './projections/delivery/delivery.projection';

/** bounce-processor: the delivery projection (rules B1–B5), the HTTP API over its read model, B4 on /health. */
@Module({
  controllers: [DeliveryController, HeldBouncesController, DeliveryProjection],
  providers: [{ provide: BURST_SETTINGS, useFactory: () => burstSettingsFrom(process.env) }, BurstHealth],
})
export class BounceProcessorModule {}
