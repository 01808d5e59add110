import { Module } from '@nestjs/common';
import { AppsFileModule } from '@push/service-kit';
import { SegmentsController } from './api/segments.controller';
import { UsersExportController } from './api/users-export.controller';
import { AudienceIndexCache } from './projections/audience/audience-index-cache';
import { AudienceProjection } from './projections/audience/audience.projection';

/** segmentation: the audience projection and the HTTP API over its read model (filters of @push/segments). */
@Module({
  imports: [AppsFileModule],
  controllers: [AudienceProjection, SegmentsController, UsersExportController],
  providers: [AudienceIndexCache],
})
export class SegmentationModule {}
