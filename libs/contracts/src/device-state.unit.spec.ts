import { applyDeviceStateRecord, isDeviceStateRecord, type PublishedDeviceState } from './device-state';
import type { DeviceDeliveryEvent, DeviceTokenEvent } from './generated/types';

const base = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'phone', event_id: 'e', occurred_at: 1 };
const record = (type: string, data: object) => ({ type, data: { ...base, ...data } }) as unknown as DeviceTokenEvent;
const fresh = (): PublishedDeviceState => ({
  platform: null,
  user_id: null,
  token: null,
  foreground_enabled: false,
  background_enabled: false,
  delivery_status: 'UNUSED',
});

describe("a device's state from its owners' published records", () => {
  it('T1/T3/T5: the latest token, user and capability of token-registry records; B1: the delivery status', () => {
    const device = fresh();
    applyDeviceStateRecord(device, record('TokenAssigned', { platform: 'IOS', user_id: 'kim', token: 'tok-1' }));
    applyDeviceStateRecord(
      device,
      record('PushCapabilityChanged', {
        platform: null,
        user_id: 'kim',
        foreground_enabled: true,
        background_enabled: true,
      }),
    );
    applyDeviceStateRecord(device, record('DeviceUserChanged', { platform: 'IOS', user_id: 'lee' }));
    applyDeviceStateRecord(device, {
      type: 'DeliveryStatusChanged',
      data: { ...base, status: 'SUPPRESSED' },
    } as unknown as Extract<DeviceDeliveryEvent, { type: 'DeliveryStatusChanged' }>);
    expect(device).toEqual({
      platform: 'IOS', // kept when a record names none
      user_id: 'lee',
      token: 'tok-1',
      foreground_enabled: true,
      background_enabled: true,
      delivery_status: 'SUPPRESSED',
    });
    applyDeviceStateRecord(device, record('TokenRemoved', { platform: 'IOS', user_id: 'lee', token: 'tok-1' }));
    expect(device.token).toBeNull();
  });

  it('T8: TokenInvalidated is not a device-state record (token-registry publishes the TokenRemoved); the user state neither', () => {
    expect(isDeviceStateRecord({ type: 'TokenInvalidated', data: base } as unknown as DeviceDeliveryEvent)).toBe(false);
    expect(isDeviceStateRecord({ type: 'SubscriptionStateChanged', data: base } as never)).toBe(false);
    expect(isDeviceStateRecord(record('TokenAssigned', {}))).toBe(true);
    expect(isDeviceStateRecord({ type: 'DeliveryStatusChanged', data: base } as unknown as DeviceDeliveryEvent)).toBe(
      true,
    );
  });
});
