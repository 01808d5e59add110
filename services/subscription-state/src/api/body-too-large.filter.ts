import { ArgumentsHost, Catch, HttpException, HttpStatus } from '@nestjs/common';
import { HttpErrorFilter, InvalidInputException } from '@push/service-kit';

/** Express's JSON body limit, which the service kit keeps at its default. */
export const BODY_LIMIT = '100 kB';

/**
 * The kit's error filter, except that a body over the JSON parser's limit (the parser's 413) is a 400 naming the
 * problem, as `/users/track`'s contract wants for every bad request. Registered as this service's global filter; it
 * answers everything else exactly as `HttpErrorFilter` does (it is one), so whichever of the two Nest picks, only the
 * 413 differs. The broker test of `/users/track` proves that this one is picked.
 */
@Catch()
export class BodyTooLargeFilter extends HttpErrorFilter {
  override catch(error: unknown, host: ArgumentsHost): void {
    const tooLarge = error instanceof HttpException && error.getStatus() === HttpStatus.PAYLOAD_TOO_LARGE;
    super.catch(
      tooLarge ? new InvalidInputException([{ field: '(body)', problem: `is larger than ${BODY_LIMIT}` }]) : error,
      host,
    );
  }
}
