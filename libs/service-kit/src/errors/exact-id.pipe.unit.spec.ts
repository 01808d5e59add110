import { ExactIdPipe } from './exact-id.pipe';
import { InvalidInputException } from './http-errors';

const pipe = new ExactIdPipe(8);
const asDeviceId = { type: 'param', data: 'device_id' } as const;

const problemsOf = (value: string): unknown => {
  try {
    pipe.transform(value, asDeviceId);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputException);
    return (error as InvalidInputException).getResponse();
  }
  throw new Error('expected a 400');
};

describe('ExactIdPipe', () => {
  it('passes an id on exactly as given, surrounding spaces included', () => {
    expect(pipe.transform(' d1 ', asDeviceId)).toBe(' d1 ');
    expect(pipe.transform('12345678', asDeviceId)).toBe('12345678');
  });

  it('refuses a blank id with a 400 naming the parameter', () => {
    expect(problemsOf('  ')).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'device_id: must not be blank',
      issues: [{ field: 'device_id', problem: 'must not be blank' }],
    });
  });

  it('refuses an id with a NUL character, which Postgres text cannot store', () => {
    expect(problemsOf('a\u0000b')).toMatchObject({
      issues: [{ field: 'device_id', problem: 'must not contain NUL characters' }],
    });
  });

  it('counts the limit in bytes of UTF-8, not characters', () => {
    expect(pipe.transform('éééé', asDeviceId)).toBe('éééé');
    expect(problemsOf('ééééé')).toMatchObject({
      issues: [{ field: 'device_id', problem: 'is longer than 8 bytes (UTF-8)' }],
    });
  });
});
