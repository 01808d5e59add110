import { RateLimiter, Semaphore } from './flow-control';

describe('Semaphore', () => {
  it('lets at most N through and serves waiters in order', async () => {
    const slots = new Semaphore(2);
    expect(slots.acquire()).toBeNull();
    expect(slots.acquire()).toBeNull();
    const order: number[] = [];
    const third = slots.acquire()!.then(() => order.push(3));
    const fourth = slots.acquire()!.then(() => order.push(4));
    slots.release();
    await third;
    expect(order).toEqual([3]);
    slots.release();
    await fourth;
    expect(order).toEqual([3, 4]);
  });
});

describe('RateLimiter', () => {
  it('gives a second’s worth at once, then paces at the rate', async () => {
    const limiter = new RateLimiter(600); // 10/s
    for (let i = 0; i < 10; i++) expect(limiter.take()).toBeNull();
    const started = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => limiter.take()));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(900);
  });
});
