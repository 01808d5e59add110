import { z } from 'zod';

/** HTTP ports of the five services (DESIGN §2); `PORT` overrides. */
export const SERVICE_PORTS = {
  'token-registry': 3001,
  'subscription-state': 3002,
  segmentation: 3003,
  dispatcher: 3004,
  'bounce-processor': 3005,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

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
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  topicPartitions: number;
}

const brokerList = z
  .string()
  .trim()
  .min(1, 'expected host:port[,host:port…]')
  .transform((value) => value.split(',').map((b) => b.trim()))
  .refine((brokers) => brokers.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), 'expected host:port[,host:port…]');

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

const apiKeyPairs = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const keys = new Map<string, string>();
    for (const pair of value.split(',').map((p) => p.trim()).filter(Boolean)) {
      const match = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected key=workspace_id pairs separated by commas, got a malformed pair` });
        return z.NEVER;
      }
      keys.set(match[1], match[2]);
    }
    return keys;
  });

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected an integer ${min}-${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected an integer ${min}-${max}`);

function baseSchema(serviceName: ServiceName) {
  return z.object({
    PORT: integer(1, 65535).prefault(String(SERVICE_PORTS[serviceName])),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    KAFKA_BROKERS: brokerList.prefault('127.0.0.1:9092'),
    DATABASE_URL: postgresUrl.prefault(`postgres://postgres@127.0.0.1:5432/${serviceName.replace(/-/g, '_')}`),
    API_KEYS: apiKeyPairs.prefault(''),
    APPS_CONFIG: z.string().trim().min(1).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    KAFKA_TOPIC_PARTITIONS: integer(1, 1000).prefault('6'),
  });
}

/**
 * The one configuration loader of every service: validates the environment and fails fast with a message that
 * names each bad variable. `extra` adds service-specific variables (zod shape over the raw strings).
 * Values are never echoed in errors: a malformed DATABASE_URL or API_KEYS may hold a secret.
 */
export function loadConfig<Extra extends z.ZodRawShape = Record<never, never>>(
  serviceName: ServiceName,
  env: NodeJS.ProcessEnv = process.env,
  extra?: Extra,
): ServiceConfig & { extra: z.infer<z.ZodObject<Extra>> } {
  const base = baseSchema(serviceName).safeParse(emptyAsUnset(env));
  const more = z.object(extra ?? ({} as Extra)).safeParse(emptyAsUnset(env));
  const problems = [...(base.success ? [] : describe(base.error)), ...(more.success ? [] : describe(more.error))];
  if (!base.success || !more.success) throw new ConfigError(problems);

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
