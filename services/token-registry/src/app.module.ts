import { Module } from '@nestjs/common';
import { DevicesController } from './api/devices.controller';
import { DevicesProjection } from './projections/devices/devices.projection';

/** token-registry: the devices projection (token rules T1–T9) and the HTTP API over its read model. */
@Module({ controllers: [DevicesController, DevicesProjection] })
export class TokenRegistryModule {}
