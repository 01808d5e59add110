import { z } from 'zod';
import { InvalidInputException, ZodValidationPipe } from './http-errors';

const rejection = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputException);
    return (error as InvalidInputException).getResponse();
  }
  throw new Error('expected a 400');
};

describe('ZodValidationPipe: a 400 names the field (DESIGN §4 HTTP API)', () => {
  const id = new ZodValidationPipe(z.string().min(1, 'must not be empty'));

  it('names the path parameter it validates, not "(body)"', () => {
    expect(rejection(() => id.transform('', { type: 'param', data: 'device_id' }))).toMatchObject({
      statusCode: 400,
      message: 'device_id: must not be empty',
      issues: [{ field: 'device_id', problem: 'must not be empty' }],
    });
  });

  it('names a query parameter the same way', () => {
    expect(rejection(() => id.transform('', { type: 'query', data: 'cursor' }))).toMatchObject({
      issues: [{ field: 'cursor', problem: 'must not be empty' }],
    });
  });

  it('names a field of the body by its path, and the body itself as "(body)"', () => {
    const body = new ZodValidationPipe(z.object({ attributes: z.array(z.object({ external_id: z.string() })) }));

    expect(rejection(() => body.transform({ attributes: [{}] }, { type: 'body' }))).toMatchObject({
      issues: [{ field: 'attributes.0.external_id' }],
    });
    expect(rejection(() => body.transform('nope', { type: 'body' }))).toMatchObject({ issues: [{ field: '(body)' }] });
  });
});
