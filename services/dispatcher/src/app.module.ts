import { Module } from '@nestjs/common';

/** The service's own modules (projections, HTTP API) are imported here. */
@Module({})
export class DispatcherModule {}
