import { Module } from '@nestjs/common';
import { DevicesController } from './api/devices.controller';
import { DevicesProjection } from './projections/devices/devices.projection';
import { TokenChangelogProjection } from './projections/devices/token-changelog.projection';

/**
 * token-registry: the devices projection (token rules T1–T9), the token changelog projected from what it published,
 * and the HTTP API over its read model.
 */
@Module({ controllers: [DevicesController, DevicesProjection, TokenChangelogProjection] })
export class TokenRegistryModule {}
