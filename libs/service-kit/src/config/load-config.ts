import { z } from 'zod';
import { ConsumerSettings, DEFAULT_CONSUMER_SETTINGS } from '@push/event-bus';

/** HTTP ports of the five services (DESIGN §2); `PORT` overrides. */
export const SERVICE_PORTS = {
  'token-registry': 3001,
  'subscription-state': 3002,
  segmentation: 3003,
  dispatcher: 3004,
  'bounce-processor': 3005,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A configuration variable is missing or malformed; the message names the variable and the problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export interface ServiceConfig {
  serviceName: ServiceName;
  port: number;
  host: string;
  kafkaBrokers: string[];
  databaseUrl: string;
  /** API key → workspace id. */
  apiKeys: ReadonlyMap<string, string>;
  appsConfigPath: string | null;
  logLevel: (typeof LOG_LEVELS)[number];
  topicPartitions: number;
  /** Prepended to every contract topic name: several deployments (or test runs) on one cluster. Default none. */
  topicPrefix: string;
  /** How the service's projections consume: the `CONSUMER_*` variables (see `ConsumerSettings` in @push/event-bus). */
  consumer: ServiceConsumerSettings;
  /**
   * Replay mode (`EVENT_BUS_REPLAY_BOUND_FILE` and `EVENT_BUS_REPLAY_ID`, set by the replay CLI's rebuild and verify,
   * never by hand): the projections publish nothing and apply nothing beyond the bound file's offsets. Null normally.
   */
  replay: { boundFile: string; id: string } | null;
}

/** The consumer settings a service takes from its environment; the others keep event-bus's defaults. */
export type ServiceConsumerSettings = Pick<
  ConsumerSettings,
  | 'partitionsConsumedConcurrently'
  | 'maxEventsPerTransaction'
  | 'maxBytesPerPartition'
  | 'maxWaitTimeInMs'
  | 'sessionTimeoutMs'
  | 'heartbeatIntervalMs'
>;

/** A variable's default as the string the environment would hold. */
const consumerDefault = (setting: keyof ServiceConsumerSettings) => String(DEFAULT_CONSUMER_SETTINGS[setting]);

const brokerList = z
  .string()
  .trim()
  .min(1, 'expected host:port[,host:port…]')
  .transform((value) => value.split(',').map((b) => b.trim()))
  .superRefine((brokers, ctx) => {
    const bad = brokers.find((b) => !/^[^\s:]+:\d{1,5}$/.test(b));
    if (bad !== undefined)
      ctx.addIssue({ code: 'custom', message: `expected host:port[,host:port…], got ${JSON.stringify(bad)}` });
  });

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.pathname.length > 1;
    } catch {
      return false;
    }
  }, 'expected postgres://user@host:port/database');

/** Keys are secrets: a problem names the pair's position, never its text. */
const apiKeyPairs = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const keys = new Map<string, string>();
    for (const [index, pair] of value
      .split(',')
      .map((p) => p.trim())
      .entries()) {
      if (pair === '') continue;
      const match = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
      const problem = !match
        ? 'is malformed'
        : keys.has(match[1]) && keys.get(match[1]) !== match[2]
          ? 'gives a key to a second workspace'
          : null;
      if (!match || problem) {
        ctx.addIssue({
          code: 'custom',
          message: `expected key=workspace_id pairs separated by commas; pair ${index + 1} ${problem}`,
        });
        return z.NEVER;
      }
      keys.set(match[1], match[2]);
    }
    return keys;
  });

/** Values that hold no secret are echoed in the error, so that the operator sees what was read. */
const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .transform((raw, ctx) => {
      const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (value >= min && value <= max) return value;
      ctx.addIssue({ code: 'custom', message: `expected an integer ${min}-${max}, got ${JSON.stringify(raw)}` });
      return z.NEVER;
    });

function baseSchema(serviceName: ServiceName) {
  return z.object({
    PORT: integer(1, 65535).prefault(String(SERVICE_PORTS[serviceName])),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    KAFKA_BROKERS: brokerList.prefault('127.0.0.1:9092'),
    DATABASE_URL: postgresUrl.prefault(`postgres://postgres@127.0.0.1:5432/${serviceName.replace(/-/g, '_')}`),
    API_KEYS: apiKeyPairs.prefault(''),
    APPS_CONFIG: z.string().trim().min(1).optional(),
    LOG_LEVEL: z
      .enum(LOG_LEVELS, {
        error: (issue) => `expected one of ${LOG_LEVELS.join('|')}, got ${JSON.stringify(issue.input)}`,
      })
      .default('info'),
    KAFKA_TOPIC_PARTITIONS: integer(1, 1000).prefault('6'),
    KAFKA_TOPIC_PREFIX: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"')
      .default(''),
    CONSUMER_CONCURRENCY: integer(1, 64).prefault(consumerDefault('partitionsConsumedConcurrently')),
    CONSUMER_MAX_EVENTS_PER_TRANSACTION: integer(1, 1_000_000).prefault(consumerDefault('maxEventsPerTransaction')),
    CONSUMER_MAX_BYTES_PER_PARTITION: integer(1024, 256 * 1024 * 1024).prefault(
      consumerDefault('maxBytesPerPartition'),
    ),
    CONSUMER_MAX_WAIT_MS: integer(1, 10_000).prefault(consumerDefault('maxWaitTimeInMs')),
    // Kafka refuses a session timeout outside group.min/max.session.timeout.ms (defaults 6000 and 1800000).
    CONSUMER_SESSION_TIMEOUT_MS: integer(6000, 1_800_000).prefault(consumerDefault('sessionTimeoutMs')),
    CONSUMER_HEARTBEAT_INTERVAL_MS: integer(100, 600_000).prefault(consumerDefault('heartbeatIntervalMs')),
    EVENT_BUS_REPLAY_BOUND_FILE: z.string().trim().min(1).optional(),
    EVENT_BUS_REPLAY_ID: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"')
      .optional(),
  });
}

/**
 * An idle consumer heartbeats only between fetches, so a heartbeat can be up to heartbeat interval + max wait late;
 * both together must leave the session timeout a margin of at least half (kafkajs itself only refuses
 * heartbeat ≥ session). Problems name the three variables and the values read.
 */
function consumerTimingProblems(v: {
  CONSUMER_MAX_WAIT_MS: number;
  CONSUMER_SESSION_TIMEOUT_MS: number;
  CONSUMER_HEARTBEAT_INTERVAL_MS: number;
}): string[] {
  const {
    CONSUMER_MAX_WAIT_MS: wait,
    CONSUMER_SESSION_TIMEOUT_MS: session,
    CONSUMER_HEARTBEAT_INTERVAL_MS: heartbeat,
  } = v;
  if (heartbeat + wait <= session / 2) return [];
  return [
    `CONSUMER_HEARTBEAT_INTERVAL_MS + CONSUMER_MAX_WAIT_MS: expected at most half of CONSUMER_SESSION_TIMEOUT_MS (an idle consumer heartbeats only between fetches), got ${heartbeat} + ${wait} with a session timeout of ${session}`,
  ];
}

/** The replay variables go together: half a replay mode would publish, or consume in the live service's group. */
function replayProblems(v: { EVENT_BUS_REPLAY_BOUND_FILE?: string; EVENT_BUS_REPLAY_ID?: string }): string[] {
  if ((v.EVENT_BUS_REPLAY_BOUND_FILE === undefined) === (v.EVENT_BUS_REPLAY_ID === undefined)) return [];
  return ['EVENT_BUS_REPLAY_BOUND_FILE and EVENT_BUS_REPLAY_ID: expected both or neither (the replay CLI sets them)'];
}

/**
 * The one configuration loader of every service: validates the environment and fails fast with a message that
 * names each bad variable. `extra` adds service-specific variables (zod shape over the raw strings); `env` is for
 * tests. DATABASE_URL and API_KEYS values are never echoed in errors: they hold secrets.
 */
export function loadConfig<Extra extends z.ZodRawShape = Record<never, never>>(
  serviceName: ServiceName,
  extra?: Extra,
  env: NodeJS.ProcessEnv = process.env,
): ServiceConfig & { extra: z.infer<z.ZodObject<Extra>> } {
  const base = baseSchema(serviceName).safeParse(emptyAsUnset(env));
  const more = z.object(extra ?? ({} as Extra)).safeParse(emptyAsUnset(env));
  const problems = [
    ...(base.success ? [...consumerTimingProblems(base.data), ...replayProblems(base.data)] : describe(base.error)),
    ...(more.success ? [] : describe(more.error)),
  ];
  if (!base.success || !more.success || problems.length > 0) throw new ConfigError(problems);

  const v = base.data;
  return {
    serviceName,
    port: v.PORT,
    host: v.HOST,
    kafkaBrokers: v.KAFKA_BROKERS,
    databaseUrl: v.DATABASE_URL,
    apiKeys: v.API_KEYS,
    appsConfigPath: v.APPS_CONFIG ?? null,
    logLevel: v.LOG_LEVEL,
    topicPartitions: v.KAFKA_TOPIC_PARTITIONS,
    topicPrefix: v.KAFKA_TOPIC_PREFIX,
    consumer: {
      partitionsConsumedConcurrently: v.CONSUMER_CONCURRENCY,
      maxEventsPerTransaction: v.CONSUMER_MAX_EVENTS_PER_TRANSACTION,
      maxBytesPerPartition: v.CONSUMER_MAX_BYTES_PER_PARTITION,
      maxWaitTimeInMs: v.CONSUMER_MAX_WAIT_MS,
      sessionTimeoutMs: v.CONSUMER_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: v.CONSUMER_HEARTBEAT_INTERVAL_MS,
    },
    replay:
      v.EVENT_BUS_REPLAY_BOUND_FILE !== undefined && v.EVENT_BUS_REPLAY_ID !== undefined
        ? { boundFile: v.EVENT_BUS_REPLAY_BOUND_FILE, id: v.EVENT_BUS_REPLAY_ID }
        : null,
    extra: more.data as z.infer<z.ZodObject<Extra>>,
  };
}

function describe(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`);
}

/** `FOO=` in a shell or compose file means "not set", so that the default applies. */
function emptyAsUnset(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') result[key] = value;
  return result;
}
