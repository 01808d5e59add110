import pino, { DestinationStream, Logger, LoggerOptions } from 'pino';

const CENSOR = '[redacted]';

/** Field names whose values are push tokens, keys or secrets: never written to a log. */
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
  'private_key',
  'privateKey',
  'vapid_private_key',
  'vapidPrivateKey',
  'password',
  'secret',
  'databaseUrl',
  'DATABASE_URL',
  'API_KEYS',
];

/** pino paths are explicit (one `*` per level): cover these fields at the top and up to three levels deep. */
export const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.*.${f}`),
  'req.headers.authorization',
  'req.headers.cookie',
];

export function loggerOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** The same redacting JSON logger the HTTP layer uses, for code outside Nest (Kafka runner, CLIs). */
export function createLogger(name: string, level = 'info', destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(name, level), destination) : pino(loggerOptions(name, level));
}

/** DESIGN §4: tokens in API responses show only their last 6 characters. */
export function maskToken(token: string): string;
export function maskToken(token: string | null): string | null;
export function maskToken(token: string | null): string | null {
  if (token === null) return null;
  const visible = 6;
  return token.length <= visible ? token : '*'.repeat(token.length - visible) + token.slice(-visible);
}
