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
});
