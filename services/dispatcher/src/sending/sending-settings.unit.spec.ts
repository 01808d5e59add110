import { ConfigError } from '@push/service-kit';
import { DEFAULT_SENDING_SETTINGS, sendingSettingsFrom } from './sending-settings';

describe('the worker settings (DISPATCH_*)', () => {
  it('defaults when unset or empty', () => {
    expect(sendingSettingsFrom({})).toEqual(DEFAULT_SENDING_SETTINGS);
    expect(sendingSettingsFrom({ DISPATCH_BATCH_SIZE: '' })).toEqual(DEFAULT_SENDING_SETTINGS);
  });

  it('reads each variable', () => {
    expect(
      sendingSettingsFrom({
        DISPATCH_BATCH_SIZE: '50',
        DISPATCH_CONCURRENCY: '8',
        DISPATCH_POLL_MS: '250',
        DISPATCH_RECOVERY_MS: '2000',
      }),
    ).toEqual({ batchSize: 50, concurrency: 8, pollMs: 250, recoveryMs: 2000 });
  });

  it('a bad value is a ConfigError naming the variable', () => {
    expect(() => sendingSettingsFrom({ DISPATCH_CONCURRENCY: '0' })).toThrow(ConfigError);
    expect(() => sendingSettingsFrom({ DISPATCH_BATCH_SIZE: 'many' })).toThrow(/DISPATCH_BATCH_SIZE/);
  });
});
