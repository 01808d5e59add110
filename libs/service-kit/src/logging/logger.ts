import pino, { DestinationStream, Logger, LoggerOptions } from 'pino';
import type { Options as HttpLoggerOptions } from 'pino-http';

const CENSOR = '[redacted]';

/** Field names whose values are push tokens, keys or secrets: never written to a log, at any of four levels. */
const SECRET_FIELDS = [
  'token',
  'push_token',
  'push_tokens',
  'tokens',
  'authorization',
  'apiKey',
  'api_key',
  'apiKeys',
  'key',
  'keys',
  'private_key',
  'privateKey',
  'vapid_private_key',
  'vapidPrivateKey',
  'password',
  'secret',
  'databaseUrl',
  'DATABASE_URL',
  'API_KEYS',
  // pg and TypeORM errors: `detail` quotes the conflicting row ("Key (token)=(…)"), `parameters` the query's values
  'detail',
  'parameters',
];

/** pino paths are explicit (one `*` per level): cover these fields at the top and up to three levels deep. */
export const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.*.${f}`),
];

/**
 * Request headers worth logging. A whitelist rather than a blacklist: a token may arrive in any header a client
 * invents, and Authorization carries the API key.
 */
const LOGGED_HEADERS = ['host', 'user-agent', 'content-type', 'content-length', 'x-request-id'];

export function loggerOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** The one redacting JSON logger of a process: the HTTP layer logs through it, and so do the Kafka runner and CLIs. */
export function createLogger(name: string, level = 'info', destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(name, level), destination) : pino(loggerOptions(name, level));
}

/**
 * pino-http on top of the process logger. The request is logged without its query string and with whitelisted
 * headers only; health and metrics probes are not logged at all (they would drown the rest).
 */
export function httpLoggerOptions(logger: Logger): HttpLoggerOptions {
  return {
    logger,
    autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
    serializers: {
      req: (req: {
        id: unknown;
        method: string;
        url: string;
        headers: Record<string, unknown>;
        remoteAddress?: string;
      }) => ({
        id: req.id,
        method: req.method,
        url: req.url.split('?')[0],
        headers: Object.fromEntries(LOGGED_HEADERS.filter((h) => h in req.headers).map((h) => [h, req.headers[h]])),
        remoteAddress: req.remoteAddress,
      }),
    },
  };
}

/** DESIGN §4: tokens in API responses show only their last 6 characters. */
export function maskToken(token: string): string;
export function maskToken(token: string | null): string | null;
export function maskToken(token: string | null): string | null {
  if (token === null) return null;
  const visible = 6;
  return token.length <= visible ? token : '*'.repeat(token.length - visible) + token.slice(-visible);
}
