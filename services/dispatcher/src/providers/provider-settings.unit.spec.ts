import { availableParallelism } from 'node:os';
import { ConfigError } from '@push/service-kit';
import { DEFAULT_PROVIDER_SETTINGS, providerSettingsFrom } from './provider-settings';

describe('provider settings', () => {
  it("defaults: FCM's 600,000 messages a minute per app, 4 APNs connections, bounded attempts", () => {
    expect(providerSettingsFrom({})).toEqual(DEFAULT_PROVIDER_SETTINGS);
    expect(DEFAULT_PROVIDER_SETTINGS.ratePerMinute).toBe(600_000);
  });

  it('reads the PROVIDER_* variables through the kit loader and names a bad one', () => {
    expect(providerSettingsFrom({ PROVIDER_APNS_CONNECTIONS: '8', PROVIDER_RATE_PER_MINUTE: '1000' })).toMatchObject({
      apnsConnections: 8,
      ratePerMinute: 1000,
    });
    expect(() => providerSettingsFrom({ PROVIDER_MAX_ATTEMPTS: 'many' })).toThrow(ConfigError);
    expect(() => providerSettingsFrom({ PROVIDER_MAX_ATTEMPTS: 'many' })).toThrow(
      /PROVIDER_MAX_ATTEMPTS: expected an integer 1-20/,
    );
  });

  it('PROVIDER_WEBPUSH_ENCRYPTION_THREADS: 0-16, default a core less than the machine has (at least one)', () => {
    const cores = availableParallelism();
    expect(DEFAULT_PROVIDER_SETTINGS.webPushEncryptionThreads).toBe(Math.min(16, Math.max(1, cores - 1)));
    expect(providerSettingsFrom({ PROVIDER_WEBPUSH_ENCRYPTION_THREADS: '0' }).webPushEncryptionThreads).toBe(0);
    expect(providerSettingsFrom({ PROVIDER_WEBPUSH_ENCRYPTION_THREADS: '16' }).webPushEncryptionThreads).toBe(16);
    for (const bad of ['17', '-1', 'two', '1.5'])
      expect(() => providerSettingsFrom({ PROVIDER_WEBPUSH_ENCRYPTION_THREADS: bad })).toThrow(
        /PROVIDER_WEBPUSH_ENCRYPTION_THREADS: expected an integer 0-16/,
      );
  });
});
