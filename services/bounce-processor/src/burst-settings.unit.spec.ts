import { burstSettingsFrom } from './burst-settings';
import { DEFAULT_BURST_SETTINGS } from './domain/burst-window';

describe('B4 settings from the environment', () => {
  it('B4: defaults apply when nothing is set (an empty variable counts as unset)', () => {
    expect(burstSettingsFrom({ B4_SHARE: '' })).toEqual(DEFAULT_BURST_SETTINGS);
  });

  it('B4: every parameter can be set', () => {
    expect(
      burstSettingsFrom({
        B4_WINDOW_MS: '120000',
        B4_BUCKET_MS: '500',
        B4_SETTLE_MS: '150000',
        B4_MIN_COUNT: '25',
        B4_SHARE: '0.5',
      }),
    ).toEqual({ windowMs: 120_000, bucketMs: 500, settleMs: 150_000, minCount: 25, share: 0.5 });
  });

  it('B4: a bad value is refused naming the variable', () => {
    expect(() => burstSettingsFrom({ B4_SHARE: '1.5' })).toThrow(/B4_SHARE: expected a share between 0 and 1/);
    expect(() => burstSettingsFrom({ B4_MIN_COUNT: '0' })).toThrow(/B4_MIN_COUNT: expected a positive integer/);
    expect(() => burstSettingsFrom({ B4_WINDOW_MS: '1500', B4_BUCKET_MS: '1000' })).toThrow(
      /B4_WINDOW_MS: expected a multiple of B4_BUCKET_MS/,
    );
    expect(() => burstSettingsFrom({ B4_WINDOW_MS: '120000', B4_SETTLE_MS: '60000' })).toThrow(
      /B4_SETTLE_MS: expected at least B4_WINDOW_MS/,
    );
  });
});
