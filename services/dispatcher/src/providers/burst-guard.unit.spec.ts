import { BurstGuard } from './burst-guard';

describe('BurstGuard (B4 in the sender)', () => {
  it('B4: names the reason once it is at least minCount and more than the share of the last window results', () => {
    const guard = new BurstGuard(10, 4, 0.5);
    const seen = ['r', null, 'r', null, 'r'].map((reason) => guard.record(reason));
    expect(seen).toEqual([null, null, null, null, null]); // 3 of 5: fewer than minCount
    expect(guard.record('r')).toBe('r'); // 4 of 6: minCount reached, and more than half
  });

  it('B4: a single one, or scattered ones among sent pushes, is never a burst', () => {
    const guard = new BurstGuard(100, 5, 0.5);
    const results = Array.from({ length: 1000 }, (_, i) =>
      guard.record(i % 10 === 0 ? 'messaging/mismatched-credential' : null),
    );
    expect(results.every((r) => r === null)).toBe(true);
  });

  it('B4: a run of one reason is a burst; other reasons count apart; old results leave the window', () => {
    const guard = new BurstGuard(20, 10, 0.5);
    for (let i = 0; i < 20; i++) guard.record(null);
    const first = Array.from({ length: 15 }, () => guard.record('DeviceTokenNotForTopic'));
    expect(first.indexOf('DeviceTokenNotForTopic')).toBe(10); // the 11th: 11 of 20 > half
    const other = new BurstGuard(20, 10, 0.5);
    for (let i = 0; i < 20; i++) other.record(i % 2 === 0 ? 'a' : 'b');
    expect(other.record('a')).toBeNull(); // 10 of 20 'a' (one evicted, one added): not more than half
  });
});
