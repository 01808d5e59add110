import { Module } from '@nestjs/common';
import { AppsFileModule } from '@push/service-kit';
import { DispatchesController } from './api/dispatches.controller';
import { DispatcherMetrics } from './dispatcher-metrics';

/** dispatcher: the read model of eligible devices, the dispatch requests, the sending worker and the HTTP API. */
@Module({
  imports: [AppsFileModule],
  controllers: [DispatchesController],
  providers: [DispatcherMetrics],
})
export class DispatcherModule {}
