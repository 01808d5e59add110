import { MessageKeys, Topics } from '@push/contracts';
import { DeviceRef, deliveryEvents, deviceEvents, serviceUnderTest } from '@push/testing';
import { tokenRegistryService } from '../service';

const WS = 'ws-a';
const at = (minute: number) => Date.parse('2026-11-01T10:00:00Z') + minute * 60_000;
const phone: DeviceRef = { workspace_id: WS, app_id: 'ios-app', device_id: 'shared-phone' };
const tablet: DeviceRef = { workspace_id: WS, app_id: 'android-app', device_id: 'tablet' };
const old: DeviceRef = { workspace_id: WS, app_id: 'ios-app', device_id: 'old-phone' };
const PHONE_TOKEN = 'apns-phone-0123456789abcdef';
const TABLET_TOKEN = 'fcm-tablet-0123456789abcdef';
const OLD_TOKEN = 'apns-old-0123456789abcdef';

/** GET /users/{user_id}/devices: the devices a support agent sees on a user's profile, from real events. */
describe('token-registry GET /users/{user_id}/devices', () => {
  const service = serviceUnderTest(tokenRegistryService, {
    topics: [Topics.DeviceEvents, Topics.DeviceDelivery, Topics.DeviceTokens],
    partitions: 1,
    env: { API_KEYS: 'key-a=ws-a,key-b=ws-b' },
  });
  const asA = { Authorization: 'Bearer key-a' };

  beforeAll(async () => {
    const device = (ref: DeviceRef) => MessageKeys.device(ref.workspace_id, ref.app_id, ref.device_id);
    await service.publish(Topics.DeviceEvents, [
      { key: device(phone), event: deviceEvents.tokenRegistered(phone, at(0), PHONE_TOKEN, { user_id: 'alex' }) },
      { key: device(phone), event: deviceEvents.changeUser(phone, at(5), 'kim', 'alex') },
      {
        key: device(tablet),
        event: deviceEvents.tokenRegistered(tablet, at(1), TABLET_TOKEN, {
          platform: 'ANDROID',
          os_version: '14',
          user_id: 'kim',
        }),
      },
      {
        key: device(tablet),
        event: deviceEvents.pushPermissionChanged(tablet, at(7), 'DENIED', {
          platform: 'ANDROID',
          os_version: '14',
          prompted: false,
        }),
      },
      { key: device(old), event: deviceEvents.tokenRegistered(old, at(2), OLD_TOKEN, { user_id: 'kim' }) },
    ]);
    await service.publish(Topics.DeviceDelivery, [
      { key: device(old), event: deliveryEvents.tokenInvalidated(old, at(9), OLD_TOKEN) },
    ]);
    await service.waitUntilApplied('token-registry.devices');
  });

  it("T3: lists the user's devices now, not the shared phone's previous user, tokens masked", async () => {
    const kim = await service.http().get('/users/kim/devices').set(asA);
    const alex = await service.http().get('/users/alex/devices').set(asA);

    expect(kim.status).toBe(200);
    expect(kim.body.devices.map((d: { device_id: string }) => d.device_id).sort()).toEqual([
      'old-phone',
      'shared-phone',
      'tablet',
    ]);
    expect(alex.body).toEqual({ user_id: 'alex', devices: [] });
    expect(JSON.stringify(kim.body)).not.toContain(PHONE_TOKEN);
    expect(kim.body.devices.find((d: { device_id: string }) => d.device_id === 'shared-phone').token).toBe(
      '*'.repeat(PHONE_TOKEN.length - 6) + PHONE_TOKEN.slice(-6),
    );
  });

  it('T6: a device whose notifications were turned off in the OS settings is background-only, with the permission and when it was seen', async () => {
    const kim = await service.http().get('/users/kim/devices').set(asA);
    const tablet = kim.body.devices.find((d: { device_id: string }) => d.device_id === 'tablet');

    expect(tablet).toMatchObject({
      platform: 'android',
      os_version: '14',
      token_status: 'active',
      foreground_enabled: false,
      background_enabled: true,
      push_permission: 'denied',
      permission_seen_at: new Date(at(7)).toISOString(),
      invalidated: null,
    });
  });

  it("T8: an invalidated token carries the provider's reason and when it was invalidated", async () => {
    const kim = await service.http().get('/users/kim/devices').set(asA);
    const oldPhone = kim.body.devices.find((d: { device_id: string }) => d.device_id === 'old-phone');

    expect(oldPhone.token_status).toBe('invalidated');
    expect(oldPhone.invalidated).toEqual({
      provider_reason: 'Unregistered',
      provider_timestamp: null,
      at: new Date(at(9)).toISOString(),
    });
  });

  it("never shows another workspace's devices; 401 without a key; 400 naming the parameter for a NUL", async () => {
    const inB = await service.http().get('/users/kim/devices').set({ Authorization: 'Bearer key-b' });
    const noKey = await service.http().get('/users/kim/devices');
    const nul = await service.http().get('/users/a%00b/devices').set(asA);

    expect(inB.body).toEqual({ user_id: 'kim', devices: [] });
    expect(noKey.status).toBe(401);
    expect(nul.status).toBe(400);
    expect(nul.body.issues).toEqual([{ field: 'user_id', problem: 'must not contain NUL characters' }]);
  });
});
