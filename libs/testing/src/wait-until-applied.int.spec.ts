import { Module } from '@nestjs/common';
import { MigrationInterface, QueryRunner } from 'typeorm';
import { MessageKeys, Topics } from '@push/contracts';
import { ConsumedEvent, EVENT_BUS_MIGRATIONS, OutgoingEvent } from '@push/event-bus';
import { ProjectionContext, ProjectionController, ProjectionHandler } from '@push/service-kit';
import { deviceEvents, userEvents } from './events';
import { ServiceUnderTest } from './service-under-test';

jest.setTimeout(60_000);

class ReadBack1764400000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('create table read_back (user_id text primary key)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table read_back');
  }
}

/** Publishes a preference for every user a device logs in (the service's output, as a projection's outputs go). */
@ProjectionController('harness.relay')
class RelayProjection {
  @ProjectionHandler(Topics.DeviceEvents)
  async relay(consumed: ConsumedEvent<typeof Topics.DeviceEvents>[]): Promise<OutgoingEvent[]> {
    return consumed.flatMap(({ event }) => {
      if (event.type !== 'ChangeUser') return [];
      const user = { workspace_id: event.data.workspace_id, user_id: event.data.user_id };
      const preference = userEvents.pushSubscriptionSet(user, event.data.occurred_at, 'SUBSCRIBED');
      return [
        {
          topic: Topics.UserEvents,
          key: MessageKeys.user(user.workspace_id, user.user_id),
          event: { ...preference, data: { ...preference.data, event_id: `relayed-${event.data.event_id}` } },
        },
      ];
    });
  }
}

/** Reads the relay's outputs back into a table, as token-registry's changelog reads back its own output topic. */
@ProjectionController('harness.read-back')
class ReadBackProjection {
  @ProjectionHandler(Topics.UserEvents)
  async readBack(consumed: ConsumedEvent<typeof Topics.UserEvents>[], { tx }: ProjectionContext): Promise<void> {
    // Slower than the relay, so that a wait for the relay alone would read the table before this group applied.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const { event } of consumed)
      await tx.query('insert into read_back (user_id) values ($1) on conflict do nothing', [event.data.user_id]);
  }
}

@Module({ controllers: [RelayProjection, ReadBackProjection] })
class RelayModule {}

describe('ServiceUnderTest.waitUntilApplied with two projections (real Kafka and Postgres)', () => {
  const service = new ServiceUnderTest(
    {
      name: 'dispatcher',
      description: 'harness spec',
      imports: [RelayModule],
      migrations: [...EVENT_BUS_MIGRATIONS, ReadBack1764400000000],
    },
    { topics: [Topics.DeviceEvents, Topics.UserEvents], partitions: 1 },
  );
  beforeAll(() => service.start());
  afterAll(() => service.stop());

  it('waits for every projection of the service: one reading back what another published has applied it too', async () => {
    const phone = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'phone' };
    const logins = ['kim', 'lee'].map((user, i) => deviceEvents.changeUser(phone, 1000 + i, user));
    await service.publish(
      Topics.DeviceEvents,
      logins.map((event) => ({ key: MessageKeys.device('acme', 'ios-app', 'phone'), event })),
    );

    await service.waitUntilApplied('harness.relay');

    expect(await service.dataSource.query('select user_id from read_back order by user_id')).toEqual([
      { user_id: 'kim' },
      { user_id: 'lee' },
    ]);
  });

  it('waitUntilAtEnd waits for one projection to the end of its topics, the outputs another published included', async () => {
    const tablet = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'tablet' };
    await service.publish(Topics.DeviceEvents, [
      { key: MessageKeys.device('acme', 'ios-app', 'tablet'), event: deviceEvents.changeUser(tablet, 2000, 'max') },
    ]);
    await service.waitUntilAtEnd('harness.relay');
    // The relay has published max's preference; the read-back, slower, applies it once waited for by name.
    await service.waitUntilAtEnd('harness.read-back');
    expect(await service.dataSource.query("select user_id from read_back where user_id = 'max'")).toEqual([
      { user_id: 'max' },
    ]);
    await expect(service.waitUntilAtEnd('harness.nobody', 1000)).rejects.toThrow('has no projection harness.nobody');
  });
});
