import { Module } from '@nestjs/common';
import { DevicesController } from './api/devices.controller';

/** token-registry's HTTP API over its devices read model. */
@Module({ controllers: [DevicesController] })
export class TokenRegistryModule {}
