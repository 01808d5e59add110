import { isConcurrencyConflict, retryDelayMs } from './retry-delay';

describe('retryDelayMs', () => {
  const middle = () => 0.5;

  it('doubles from the initial wait and stops growing at the maximum', () => {
    const retry = { initialMs: 100, maxMs: 1000 };

    expect([1, 2, 3, 4, 5, 50].map((failures) => retryDelayMs(failures, retry, middle))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('spreads retries by ±20 % so that replicas do not hammer the database in step', () => {
    const retry = { initialMs: 1000, maxMs: 1000 };

    expect(retryDelayMs(1, retry, () => 0)).toBe(800);
    expect(retryDelayMs(1, retry, () => 0.999999)).toBe(1200);
  });
});

describe('isConcurrencyConflict', () => {
  it('recognises deadlocks, serialization failures and unique-key races, as TypeORM or pg report them', () => {
    expect(isConcurrencyConflict({ driverError: { code: '40P01' } })).toBe(true);
    expect(isConcurrencyConflict({ code: '40001' })).toBe(true);
    expect(isConcurrencyConflict({ driverError: { code: '23505' } })).toBe(true);
  });

  it('treats anything else as a failure that backs off', () => {
    expect(isConcurrencyConflict({ driverError: { code: '57P01' } })).toBe(false);
    expect(isConcurrencyConflict(new Error('connection refused'))).toBe(false);
    expect(isConcurrencyConflict(null)).toBe(false);
  });
});
