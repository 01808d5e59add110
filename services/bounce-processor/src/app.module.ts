import { Module } from '@nestjs/common';
import { BURST_SETTINGS, burstSettingsFrom } from './burst-settings';
import { DeliveryProjection } from './projections/delivery/delivery.projection';

/** bounce-processor: the delivery projection (rules B1–B5) and the HTTP API over its read model. */
@Module({
  controllers: [DeliveryProjection],
  providers: [{ provide: BURST_SETTINGS, useFactory: () => burstSettingsFrom(process.env) }],
})
export class BounceProcessorModule {}
