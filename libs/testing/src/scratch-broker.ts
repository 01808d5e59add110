import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const kafkaScript = join(__dirname, '../../../deploy/local/kafka.sh');

export interface ScratchBroker {
  brokers: string[];
  stop(): Promise<void>;
}

/**
 * Starts a second, throwaway real Kafka broker (same jars and configuration as the local one, by default the same
 * fixed cluster id — as a reset local broker has) in a new data directory: tests of a replaced or reset broker.
 */
export async function startScratchBroker(options: {
  port: number;
  controllerPort: number;
  clusterId?: string;
}): Promise<ScratchBroker> {
  const data = await mkdtemp(join(tmpdir(), 'scratch-kafka-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_DATA_DIR: data,
    KAFKA_PORT: String(options.port),
    KAFKA_CONTROLLER_PORT: String(options.controllerPort),
  };
  delete env.KAFKA_BROKERS;
  if (options.clusterId) env.KAFKA_CLUSTER_ID = options.clusterId;
  await run('bash', [kafkaScript, 'start'], { env, timeout: 120_000 });
  return {
    brokers: [`127.0.0.1:${options.port}`],
    async stop() {
      await run('bash', [kafkaScript, 'stop'], { env, timeout: 60_000 }).catch(() => undefined);
      await rm(data, { recursive: true, force: true });
    },
  };
}
