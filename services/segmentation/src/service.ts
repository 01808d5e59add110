import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import { SegmentationModule } from './app.module';
import { AudienceChanges1796083200004 } from './projections/audience/audience-changes.migration';
import { AudienceCounters1796083200008 } from './projections/audience/audience-counters.migration';
import { AudienceBaseline1796083200003 } from './projections/audience/audience-tables.migration';

export const segmentationService: ServiceDefinition = {
  name: 'segmentation',
  description: 'Segment filters, audience sizes and Braze-compatible user exports with push_tokens.',
  imports: [SegmentationModule],
  entities: [],
  migrations: [
    ...EVENT_BUS_MIGRATIONS,
    AudienceBaseline1796083200003,
    AudienceChanges1796083200004,
    AudienceCounters1796083200008,
  ],
};
