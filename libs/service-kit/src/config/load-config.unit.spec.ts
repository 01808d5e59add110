import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config';

function problemsOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig('token-registry', undefined, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the contract defaults (DESIGN §2)', () => {
    const config = loadConfig('subscription-state', undefined, {});

    expect(config.port).toBe(3002);
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/subscription_state');
    expect(config.apiKeys.size).toBe(0);
    expect(config.topicPartitions).toBe(6);
    expect(config.appsConfigPath).toBeNull();
  });

  it('parses API_KEYS into key → workspace pairs and brokers into a list', () => {
    const config = loadConfig('dispatcher', undefined, {
      API_KEYS: 'k1=ws-a, k2=ws-b',
      KAFKA_BROKERS: 'a:9092,b:9093',
      PORT: '4000',
    });

    expect([...config.apiKeys]).toEqual([
      ['k1', 'ws-a'],
      ['k2', 'ws-b'],
    ]);
    expect(config.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
    expect(config.port).toBe(4000);
  });

  it('rejects a non-numeric PORT naming the variable and the value read', () => {
    expect(problemsOf({ PORT: 'abc' })).toContain('PORT: expected an integer 1-65535, got "abc"');
  });

  it('rejects a PORT out of range', () => {
    expect(problemsOf({ PORT: '70000' })).toContain('PORT: expected an integer 1-65535, got "70000"');
  });

  it('rejects a malformed API_KEYS pair by position, without echoing the keys', () => {
    const message = problemsOf({ API_KEYS: 'good=ws,secret-key-without-workspace' });

    expect(message).toContain('API_KEYS: expected key=workspace_id pairs separated by commas; pair 2 is malformed');
    expect(message).not.toContain('secret-key-without-workspace');
  });

  it('rejects an API key given to two workspaces', () => {
    expect(problemsOf({ API_KEYS: 'shared=ws-a,shared=ws-b' })).toMatch(
      /API_KEYS: .*pair 2 gives a key to a second workspace/,
    );
  });

  it('rejects a DATABASE_URL that is not a postgres URL without echoing it', () => {
    const message = problemsOf({ DATABASE_URL: 'mysql://root:hunter2@db/x' });

    expect(message).toMatch(/DATABASE_URL: expected postgres:\/\//);
    expect(message).not.toContain('hunter2');
  });

  it('rejects KAFKA_BROKERS without ports and an unknown LOG_LEVEL, reporting both', () => {
    const message = problemsOf({ KAFKA_BROKERS: 'localhost', LOG_LEVEL: 'loud' });

    expect(message).toContain('KAFKA_BROKERS: expected host:port[,host:port…], got "localhost"');
    expect(message).toMatch(/LOG_LEVEL: expected one of fatal\|error\|warn\|info\|debug\|trace\|silent, got "loud"/);
  });

  it('reads the consumer settings, with defaults, and names a bad one', () => {
    expect(loadConfig('token-registry', undefined, {}).consumer).toEqual({
      partitionsConsumedConcurrently: 2,
      maxEventsPerTransaction: 1500,
      maxBytesPerPartition: 1048576,
      maxWaitTimeInMs: 500,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
    });
    expect(
      loadConfig('token-registry', undefined, {
        CONSUMER_CONCURRENCY: '3',
        CONSUMER_MAX_EVENTS_PER_TRANSACTION: '20000',
      }).consumer,
    ).toMatchObject({
      partitionsConsumedConcurrently: 3,
      maxEventsPerTransaction: 20000,
    });
    expect(problemsOf({ CONSUMER_CONCURRENCY: '0' })).toBe(
      'invalid configuration: CONSUMER_CONCURRENCY: expected an integer 1-64, got "0"',
    );
  });

  it('reads the consumer timing (max wait, session timeout, heartbeat) under the names the projection runner takes', () => {
    const config = loadConfig('token-registry', undefined, {
      CONSUMER_MAX_WAIT_MS: '250',
      CONSUMER_SESSION_TIMEOUT_MS: '10000',
      CONSUMER_HEARTBEAT_INTERVAL_MS: '3000',
    });

    expect(config.consumer).toMatchObject({ maxWaitTimeInMs: 250, sessionTimeoutMs: 10000, heartbeatIntervalMs: 3000 });
    expect(
      loadConfig('token-registry', undefined, { CONSUMER_MAX_WAIT_MS: '', CONSUMER_SESSION_TIMEOUT_MS: '' }).consumer,
    ).toMatchObject({ maxWaitTimeInMs: 500, sessionTimeoutMs: 6000 });
  });

  it('rejects a session timeout the broker would refuse and a malformed max wait, naming each', () => {
    const message = problemsOf({
      CONSUMER_SESSION_TIMEOUT_MS: '3000',
      CONSUMER_MAX_WAIT_MS: '0.5s',
      CONSUMER_HEARTBEAT_INTERVAL_MS: '50',
    });

    expect(message).toContain('CONSUMER_SESSION_TIMEOUT_MS: expected an integer 6000-1800000, got "3000"');
    expect(message).toContain('CONSUMER_MAX_WAIT_MS: expected an integer 1-10000, got "0.5s"');
    expect(message).toContain('CONSUMER_HEARTBEAT_INTERVAL_MS: expected an integer 100-600000, got "50"');
  });

  it('rejects a heartbeat and max wait that leave the session timeout less than half as a margin', () => {
    expect(
      problemsOf({
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
        CONSUMER_HEARTBEAT_INTERVAL_MS: '2000',
        CONSUMER_MAX_WAIT_MS: '1500',
      }),
    ).toBe(
      'invalid configuration: CONSUMER_HEARTBEAT_INTERVAL_MS + CONSUMER_MAX_WAIT_MS: expected at most half of CONSUMER_SESSION_TIMEOUT_MS (an idle consumer heartbeats only between fetches), got 2000 + 1500 with a session timeout of 6000',
    );
    expect(
      loadConfig('token-registry', undefined, {
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
        CONSUMER_HEARTBEAT_INTERVAL_MS: '2000',
        CONSUMER_MAX_WAIT_MS: '1000',
      }).consumer.heartbeatIntervalMs,
    ).toBe(2000);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig('segmentation', undefined, { PORT: '', API_KEYS: '' }).port).toBe(3003);
  });

  it('validates service-specific variables passed as an extra schema', () => {
    const extra = { BATCH_SIZE: z.string().regex(/^\d+$/, 'expected digits').transform(Number) };

    expect(loadConfig('token-registry', extra, { BATCH_SIZE: '50' }).extra.BATCH_SIZE).toBe(50);
    expect(() => loadConfig('token-registry', extra, { BATCH_SIZE: 'many' })).toThrow(/BATCH_SIZE: expected digits/);
  });
  it('replay mode (the replay CLI): off by default; the bound file and the replay id go together', () => {
    expect(loadConfig('token-registry', undefined, {}).replay).toBeNull();
    expect(
      loadConfig('token-registry', undefined, { EVENT_BUS_REPLAY_BOUND_FILE: '/tmp/b.json', EVENT_BUS_REPLAY_ID: 'r1' })
        .replay,
    ).toEqual({ boundFile: '/tmp/b.json', id: 'r1' });
    expect(() => loadConfig('token-registry', undefined, { EVENT_BUS_REPLAY_BOUND_FILE: '/tmp/b.json' })).toThrow(
      'EVENT_BUS_REPLAY_BOUND_FILE and EVENT_BUS_REPLAY_ID: expected both or neither',
    );
    expect(() =>
      loadConfig('token-registry', undefined, {
        EVENT_BUS_REPLAY_BOUND_FILE: '/tmp/b.json',
        EVENT_BUS_REPLAY_ID: 'a b',
      }),
    ).toThrow(/EVENT_BUS_REPLAY_ID: expected letters/);
  });
});
