// The simplest complete service with a projection (quoted in libs/event-bus/README.md; type-checked with the code and
// run by projection-transport.int.spec.ts). Inside the kit it imports by relative path; a service imports the same
// names from @push/service-kit and @push/event-bus.
import { Inject, Module } from '@nestjs/common';
import { MigrationInterface, QueryRunner } from 'typeorm';
import { MessageKeys, Topics } from '@push/contracts';
import { ConsumedEvent, EVENT_BUS_MIGRATIONS, OutgoingEvent, RejectedEventError } from '@push/event-bus';
import type { ServiceDefinition } from '../../bootstrap/run-service';
import {
  ProjectionContext,
  ProjectionController,
  ProjectionHandler,
  ProjectionValidator,
} from '../projection.decorators';

type DeviceEvents = typeof Topics.DeviceEvents;

/** The read model: events counted per device. */
export class DeviceCounts1764300000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'create table device_counts (device_key text primary key, events integer not null, last_type text not null)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table device_counts');
  }
}

/** The apps the service serves: injected (a real service would read them from its APPS_CONFIG file). */
export const SERVED_APPS = Symbol('SERVED_APPS');

/** A device the read model refuses: its events break the contract in a way only the read model can tell. */
export const REFUSED_DEVICE = 'refused-by-the-read-model';

@ProjectionController('example.device-counts')
export class DeviceCountsProjection {
  constructor(@Inject(SERVED_APPS) private readonly servedApps: ReadonlySet<string>) {}

  /** Checks that need no database; a reason dead-letters the event before `count` sees it. */
  @ProjectionValidator()
  validate({ event }: ConsumedEvent<DeviceEvents>): string | null {
    if (event.data.device_id === '') return 'device_id is empty';
    return this.servedApps.has(event.data.app_id) ? null : `app ${event.data.app_id} is not served here`;
  }

  /** Counts each device's events, in the batch's transaction; a ChangeUser also publishes the user's subscription. */
  @ProjectionHandler(Topics.DeviceEvents)
  async count(events: ConsumedEvent<DeviceEvents>[], { tx }: ProjectionContext): Promise<OutgoingEvent[]> {
    const outputs: OutgoingEvent[] = [];
    for (const consumed of events) {
      const { event } = consumed;
      const { workspace_id, app_id, device_id } = event.data;
      // Dead-lettered; the transaction rolls back and the batch is applied again without this event.
      if (device_id === REFUSED_DEVICE) throw new RejectedEventError(consumed, `device ${device_id} is refused`);
      await tx.query(
        `insert into device_counts (device_key, events, last_type) values ($1, 1, $2)
         on conflict (device_key) do update set events = device_counts.events + 1, last_type = excluded.last_type`,
        [MessageKeys.device(workspace_id, app_id, device_id), event.type],
      );
      if (event.type === 'ChangeUser')
        outputs.push({
          topic: Topics.UserEvents,
          key: MessageKeys.user(workspace_id, event.data.user_id),
          event: {
            type: 'PushSubscriptionSet',
            data: {
              // Derived from the input, never random: an output published twice is the same event (T9).
              event_id: `subscribed-${event.data.event_id}`,
              workspace_id,
              user_id: event.data.user_id,
              occurred_at: event.data.occurred_at,
              state: 'SUBSCRIBED',
              source: 'SDK',
            },
          },
        });
    }
    return outputs;
  }
}

@Module({
  controllers: [DeviceCountsProjection],
  providers: [{ provide: SERVED_APPS, useValue: new Set(['app']) }],
})
export class DeviceCountsModule {}

export const deviceCountsService: ServiceDefinition = {
  name: 'token-registry', // one of the platform's five: it gives the default port and database name
  description: 'Example: SDK device events counted per device',
  imports: [DeviceCountsModule],
  migrations: [...EVENT_BUS_MIGRATIONS, DeviceCounts1764300000000],
};
