import { Module } from '@nestjs/common';
import { LogCapture } from '@push/testing';
import { loadConfig } from '../config/load-config';
import { createDataSource } from '../database/database';
import { createServiceApp } from './run-service';
import { startRetryDelayMs } from './event-bus.provider';

@Module({})
class BrokenModule {
  constructor() {
    throw new Error('the projection could not be built');
  }
}

describe('service start-up', () => {
  it('writes Nest’s start-up logs as JSON as they happen, and throws a failed build to the caller instead of aborting', async () => {
    const logs = new LogCapture();
    const config = loadConfig('token-registry', undefined, { LOG_LEVEL: 'info' });
    const dataSource = createDataSource({ url: config.databaseUrl }); // never connected: the build fails first

    await expect(
      createServiceApp(
        { name: 'token-registry', description: 'spec', imports: [BrokenModule] },
        config,
        dataSource,
        logs,
      ),
    ).rejects.toThrow('the projection could not be built');

    const lines = logs
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'info',
        name: 'token-registry',
        context: 'NestFactory',
        msg: 'Starting Nest application...',
      }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'the projection could not be built' }));
  });

  it('retries a failed Kafka start after 1 s doubling to 30 s, ±20 %', () => {
    expect(startRetryDelayMs(1, () => 0.5)).toBe(1000);
    expect(startRetryDelayMs(2, () => 0.5)).toBe(2000);
    expect(startRetryDelayMs(6, () => 0.5)).toBe(30_000);
    expect(startRetryDelayMs(40, () => 0.5)).toBe(30_000);
    expect(startRetryDelayMs(1, () => 0)).toBe(800);
    expect(startRetryDelayMs(1, () => 1)).toBe(1200);
  });
});
