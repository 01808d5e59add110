import {
  ArgumentMetadata,
  ArgumentsHost,
  BadRequestException,
  Body,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  PipeTransform,
} from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';

export interface InputIssue {
  field: string;
  problem: string;
}

/** A 400 whose body names each bad field and what is wrong with it. */
export class InvalidInputException extends BadRequestException {
  constructor(readonly issues: InputIssue[]) {
    super({
      statusCode: 400,
      error: 'Bad Request',
      message: issues.map((i) => `${i.field}: ${i.problem}`).join('; '),
      issues,
    });
  }
}

/**
 * Validates (and parses) a body, query or param with a zod schema: `@Query(new ZodValidationPipe(schema))`. A 400 names
 * each bad field by its path, under the name of the parameter validated (`@Param('device_id', pipe)`: `device_id`);
 * a problem with the whole body is `(body)`.
 */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown, metadata?: ArgumentMetadata): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const name = metadata?.data ? [metadata.data] : [];
    throw new InvalidInputException(
      result.error.issues.map((issue) => ({
        field: [...name, ...issue.path.map(String)].join('.') || '(body)',
        problem: issue.message,
      })),
    );
  }
}

/**
 * The request body, validated with a zod schema (400 naming each bad field) and documented in the OpenAPI
 * document from the same schema: `create(@ZodBody(registration) body: z.infer<typeof registration>)`.
 */
export function ZodBody<S extends z.ZodType>(schema: S): ParameterDecorator {
  const documented = ApiBody({ schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as object });
  const validated = Body(new ZodValidationPipe(schema));
  return (target, method, index) => {
    validated(target, method, index);
    if (method !== undefined) documented(target, method, Object.getOwnPropertyDescriptor(target, method)!);
  };
}

/**
 * Every error leaves as JSON `{statusCode, error, message}`: HTTP exceptions as they are (Nest already turns a body
 * that is not JSON into a 400 naming the parse error), anything unexpected as a logged 500 that reveals nothing of
 * the internals.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    // Not a request (a projection handler): the caller classifies the error itself, so it gets it unchanged.
    if (host.getType() !== 'http') throw error;
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const body = error.getResponse();
      response
        .status(status)
        .json(typeof body === 'string' ? { statusCode: status, error: STATUS_CODES[status], message: body } : body);
      return;
    }
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    response
      .status(HttpStatus.INTERNAL_SERVER_ERROR)
      .json({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  }
}
