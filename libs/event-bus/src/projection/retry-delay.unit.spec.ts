import { retryDelayMs } from './retry-delay';

describe('retryDelayMs', () => {
  const middle = () => 0.5;

  it('doubles from the initial wait and stops growing at the maximum', () => {
    const retry = { initialMs: 100, maxMs: 1000 };

    expect([1, 2, 3, 4, 5, 50].map((failures) => retryDelayMs(failures, retry, middle))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads retries by ±20 % so that replicas do not hammer the database in step', () => {
    const retry = { initialMs: 1000, maxMs: 1000 };

    expect(retryDelayMs(1, retry, () => 0)).toBe(800);
    expect(retryDelayMs(1, retry, () => 0.999999)).toBe(1200);
  });
});
