import { Controller, Get, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MessageKeys, Topics } from '@push/contracts';
import { EVENT_BUS_MIGRATIONS, createKafka } from '@push/event-bus';
import { WorkspaceId } from '@push/service-kit';
import { deviceEvents } from './events';
import { testBrokers } from './kafka';
import { databaseExists } from './postgres';
import { ServiceUnderTest } from './service-under-test';

jest.setTimeout(60_000);

/** A service of one endpoint, reading what `seed` wrote, for the workspace of the caller's API key. */
@Controller()
class GreetingController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('greeting')
  async greeting(@WorkspaceId() workspaceId: string) {
    const [row] = await this.dataSource.query('select text from greetings where workspace_id = $1', [workspaceId]);
    return { workspace_id: workspaceId, text: row?.text ?? null };
  }
}

@Module({ controllers: [GreetingController] })
class GreetingModule {}

const topicsUnder = async (prefix: string) => {
  const admin = createKafka('harness-spec', testBrokers()).admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort();
  } finally {
    await admin.disconnect();
  }
};

const phone = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'phone' };
const keyed = (event: ReturnType<typeof deviceEvents.appUninstalled>) => ({
  key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
  event,
});

describe('ServiceUnderTest (real Kafka and Postgres)', () => {
  const service = new ServiceUnderTest(
    { name: 'dispatcher', description: 'harness spec', imports: [GreetingModule], migrations: EVENT_BUS_MIGRATIONS },
    {
      topics: [Topics.DeviceEvents],
      partitions: 1,
      env: { API_KEYS: 'key-acme=acme' },
      seed: async (db) => {
        await db.query('create table greetings (workspace_id text primary key, text text not null)');
        await db.query(`insert into greetings values ('acme', 'hello')`);
      },
    },
  );

  beforeAll(() => service.start());

  it('starts the service on its own migrated and seeded database, with the environment it was given', async () => {
    const response = await service.http().get('/greeting').set({ Authorization: 'Bearer key-acme' });

    expect(response.body).toEqual({ workspace_id: 'acme', text: 'hello' });
    expect(await service.dataSource.query('select count(*)::int as n from consumer_offsets')).toEqual([{ n: 0 }]);
    expect(await topicsUnder(service.topicPrefix)).toEqual([
      `${service.topicPrefix}${Topics.DeviceEvents}`,
      `${service.topicPrefix}${Topics.DeviceEvents}.dlq`,
    ]);
  });

  it("publishes to the service's topics and reads them back decoded", async () => {
    const events = [deviceEvents.appUninstalled(phone, 1_000), deviceEvents.sessionStarted(phone, 2_000)];
    await service.publish(Topics.DeviceEvents, events.map(keyed));

    expect(await service.published(Topics.DeviceEvents)).toEqual(events);
    expect((await service.messages(Topics.DeviceEvents, 2)).map((m) => m.key?.toString())).toEqual([
      'acme:ios-app:phone',
      'acme:ios-app:phone',
    ]);
  });

  it('waits until the group has stored offsets past everything the harness wrote, and says what it waited for', async () => {
    await service.publishRaw(Topics.DeviceEvents, [{ key: 'acme:ios-app:phone', value: Buffer.from('poison') }]);
    const store = (next: number) =>
      service.dataSource.query(
        `insert into consumer_offsets (group_id, topic, partition, next_offset) values ('devices', $1, 0, $2)
         on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset`,
        [Topics.DeviceEvents, next],
      );

    await store(2);
    await expect(service.waitUntilApplied('devices', 300)).rejects.toThrow(
      `devices applying 3 messages of ${Topics.DeviceEvents} not reached within 300 ms`,
    );
    let done = false;
    const waiting = service.waitUntilApplied('devices').then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toBe(false);
    await store(3);
    await waiting;
    expect(done).toBe(true);
  });

  it('stop() closes the service and removes its database and topics', async () => {
    const { databaseUrl, topicPrefix } = service;
    await service.stop();

    expect(await databaseExists(databaseUrl)).toBe(false);
    expect(await topicsUnder(topicPrefix)).toEqual([]);
    expect(() => service.app).toThrow('dispatcher is not started: call start() (beforeAll) first');
  });
});
