import { z } from 'zod';
import { ZodValidationPipe } from './http-errors';

/**
 * An id as stored: valid when the read model can hold it, and then passed on exactly as given (not trimmed, so that
 * `" d1"` is not `d1`). Blank, with a NUL character (Postgres text cannot store one) or longer than `maxBytes` bytes of
 * UTF-8 (what the service's validation lets in) is a 400 that names the parameter — never a 404 for an id that could
 * not exist, nor a 500 from the database: `@Param('device_id', new ExactIdPipe(256)) deviceId: string`.
 */
export class ExactIdPipe extends ZodValidationPipe<z.ZodType<string>> {
  constructor(readonly maxBytes: number) {
    super(
      z
        .string()
        .refine((value) => value.trim().length > 0, 'must not be blank')
        .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters')
        .refine((value) => Buffer.byteLength(value, 'utf8') <= maxBytes, `is longer than ${maxBytes} bytes (UTF-8)`),
    );
  }
}
