import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/**
 * Nest's own logs (module initialisation, route mapping, errors while the application is built) written through the
 * process's pino logger as they happen. `NestFactory.create(…, { bufferLogs: true })` would hold them in memory until
 * the app is up, and a process that dies (or is killed) before that takes them with it. Once the app is up, nestjs-pino's
 * `Logger` (the same pino logger, plus the request context) replaces this one.
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest calls `log(message, context)` and `error(message, stack?, context)`; the context is the last plain string. */
  private write(level: Level, message: unknown, params: unknown[]): void {
    const rest = params.filter((p) => p !== undefined);
    const fields: Record<string, unknown> = {};
    const last = rest[rest.length - 1];
    if (typeof last === 'string' && !isStack(last)) fields.context = rest.pop();
    if (typeof rest[0] === 'string' && isStack(rest[0])) fields.stack = rest.shift();
    if (rest.length > 0) fields.params = rest;
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, message.message);
    else if (message !== null && typeof message === 'object')
      this.logger[level]({ ...fields, ...(message as Record<string, unknown>) });
    else this.logger[level](fields, String(message));
  }
}

const isStack = (text: string) => /\n\s+at /.test(text);
