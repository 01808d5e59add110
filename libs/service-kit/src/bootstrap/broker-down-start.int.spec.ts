import { INestApplication, Module } from '@nestjs/common';
import { createServer } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Topics } from '@push/contracts';
import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';
import { LogCapture, dropDatabase, eventually, uniqueDatabaseUrl } from '@push/testing';
import { loadConfig } from '../config/load-config';
import { openDatabase } from '../database/database';
import { ProjectionController, ProjectionHandler } from '../projection/projection.decorators';
import { createServiceApp } from './run-service';

jest.setTimeout(90_000);

const GROUP = `kit-broker-down-${Date.now()}`;

@ProjectionController(GROUP)
class IdleProjection {
  @ProjectionHandler(Topics.DeviceEvents)
  async apply(): Promise<void> {}
}

@Module({ controllers: [IdleProjection] })
class OneProjectionModule {}

/** A port nothing listens on: connections are refused at once, as by a broker that is down. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('a service started while its broker is down', () => {
  const url = uniqueDatabaseUrl('kit_broker_down_spec');
  const logs = new LogCapture();
  let dataSource: DataSource;
  let app: INestApplication;

  beforeAll(async () => {
    dataSource = await openDatabase({ url, migrations: EVENT_BUS_MIGRATIONS });
  });

  afterAll(async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
    await dropDatabase(url);
  });

  it('starts anyway, says why on /health, logs and retries the runner start with backoff, and stops cleanly', async () => {
    const config = loadConfig('token-registry', undefined, {
      DATABASE_URL: url,
      KAFKA_BROKERS: `127.0.0.1:${await closedPort()}`,
      LOG_LEVEL: 'warn',
    });
    const started = performance.now();
    app = await createServiceApp(
      { name: 'token-registry', description: 'spec', imports: [OneProjectionModule] },
      config,
      dataSource,
      logs,
    );
    await app.init();
    const first = await request(app.getHttpServer()).get('/health');

    expect(performance.now() - started).toBeLessThan(5000);
    expect(first.status).toBe(503);
    expect(first.body.details[`kafka:${GROUP}`]).toMatchObject({ status: 'down', state: 'starting', startAttempts: 1 });

    // kafkajs gives up connecting after its own retries (~10 s); the bus logs it and schedules the next attempt.
    let failed: request.Response | undefined;
    await eventually(
      async () => {
        failed = await request(app.getHttpServer()).get('/health');
        return 'lastStartError' in (failed.body.details?.[`kafka:${GROUP}`] ?? {});
      },
      60_000,
      'a failed start reported',
    );
    expect(failed!.status).toBe(503);
    expect(failed!.body.details[`kafka:${GROUP}`]).toMatchObject({
      status: 'down',
      state: 'starting',
      lastStartError: expect.any(String),
    });
    expect(logs.text()).toMatch(
      new RegExp(`"group":"${GROUP}".*"retryInMs":\\d+.*"msg":"projection ${GROUP} could not start; retrying"`),
    );

    const closing = performance.now();
    await app.close();
    expect(performance.now() - closing).toBeLessThan(35_000);
    expect(dataSource.isInitialized).toBe(false);
  });
});
