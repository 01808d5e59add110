import { Module } from '@nestjs/common';
import { AudienceProjection } from './projections/audience/audience.projection';

/** segmentation: the audience projection (the read model the filters of @push/segments are evaluated over). */
@Module({
  controllers: [AudienceProjection],
})
export class SegmentationModule {}
