import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { MessageKeys, Topics } from '@push/contracts';
import {
  deviceEvents,
  dropDatabase,
  eventually,
  outcomeEvents,
  serviceUnderTest,
  uniqueDatabaseUrl,
} from '@push/testing';
import { bounceProcessorService } from './service';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '../../..');
const WS = 'acme';
/** token-registry provisions the topics too: with another count it would add partitions the consumers learn late. */
const PARTITIONS = 2;
const phone = { workspace_id: WS, app_id: 'ios-app', device_id: 'chain-phone' };
const key = MessageKeys.device(WS, phone.app_id, phone.device_id);

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/**
 * The chain of two owners: bounce-processor (here, under test) decides B3 from a provider bounce, token-registry (its
 * own process, started from its main.ts as it runs in production, on the same topics) applies it (T8).
 */
describe('bounce-processor → token-registry (both running, real Kafka and Postgres)', () => {
  const service = serviceUnderTest(bounceProcessorService, {
    topics: [Topics.DeviceEvents, Topics.DispatchOutcomes, Topics.DeviceTokens, Topics.DeviceDelivery],
    partitions: PARTITIONS,
  });
  const tokenRegistryDatabase = uniqueDatabaseUrl('chain_token_registry');
  let tokenRegistry: ChildProcess;
  let port: number;

  const device = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/devices/${phone.app_id}/${phone.device_id}`, {
      headers: { Authorization: 'Bearer key-acme' },
    });
    return (await response.json()) as { token_status?: string; token?: string };
  };

  beforeAll(async () => {
    port = await freePort();
    tokenRegistry = spawn(process.execPath, ['-r', '@swc-node/register', 'services/token-registry/src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_OPTIONS: '',
        PORT: String(port),
        DATABASE_URL: tokenRegistryDatabase,
        KAFKA_TOPIC_PREFIX: service.topicPrefix,
        KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
        KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
        API_KEYS: 'key-acme=acme',
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status === 200,
      60_000,
      'token-registry healthy',
    );
  });

  afterAll(async () => {
    if (tokenRegistry.exitCode === null) {
      const exited = once(tokenRegistry, 'exit');
      tokenRegistry.kill('SIGTERM');
      await exited;
    }
    await dropDatabase(tokenRegistryDatabase);
  });

  it('B3/T8: a permanent bounce makes GET /devices/… on token-registry show the token invalidated', async () => {
    await service.publish(Topics.DeviceEvents, [
      { key, event: deviceEvents.tokenRegistered(phone, 1000, 'apns-chain-token-0123456789', { user_id: 'ann' }) },
    ]);
    await eventually(async () => (await device()).token_status === 'active', 30_000, 'the token registered');

    await service.publish(Topics.DispatchOutcomes, [
      { key, event: outcomeEvents.pushBounced(phone, 2000, 'apns-chain-token-0123456789', 'Unregistered') },
    ]);
    await eventually(
      async () => (await device()).token_status === 'invalidated',
      30_000,
      'the token invalidated on token-registry',
    );
    expect(await device()).toMatchObject({
      token_status: 'invalidated',
      token: expect.stringMatching(/456789$/),
    });
  });
});
