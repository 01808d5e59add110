import type { DeviceDeliveryEvent } from '@push/contracts';
import { deliveryEvents, deviceEvents, givenWhenThen } from '@push/testing';
import { TokenRegistry } from './token-registry';
import { inputProblem } from './validation';

const phone = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'phone' };
const refOf = (d: typeof phone) => ({ workspaceId: d.workspace_id, appId: d.app_id, deviceId: d.device_id });
const given = givenWhenThen(
  () => new TokenRegistry(),
  (registry) => ({ device: (d: typeof phone) => registry.device(refOf(d)) }),
);

const header = (type: string) => ({ event_id: `${type}-1`, ...phone, occurred_at: 5000 });
const window = {
  provider: 'APNS' as const,
  provider_reason: 'DeviceTokenNotForTopic',
  window_shard: 0,
  window_start: 0,
  window_end: 5000,
  reason_count: 40,
  outcome_count: 50,
};

/** bounce-processor's records other than TokenInvalidated, each as it publishes them on the device's key. */
const otherDeliveryRecords: DeviceDeliveryEvent[] = [
  {
    type: 'DeliveryStatusChanged',
    data: {
      ...header('status'),
      cause_event_id: 'bounce-1',
      platform: 'IOS',
      user_id: 'ann',
      status: 'SUPPRESSED',
      previous_status: 'BOUNCED',
      consecutive_bounces: 2,
      cause: 'PUSH_BOUNCED',
      provider_reason: 'Unregistered',
      dispatch_id: null,
    },
  },
  {
    type: 'UninstallDetected',
    data: {
      ...header('uninstall'),
      bounce_event_id: 'bounce-1',
      platform: 'IOS',
      user_id: null,
      provider_reason: 'Unregistered',
      provider_timestamp: 4000,
      dispatch_id: 'd1',
    },
  },
  {
    type: 'AppProviderFlagged',
    data: { ...header('flagged'), cause_event_id: 'bounce-2', ...window, threshold_share: 0.2, min_count: 10 },
  },
  { type: 'AppProviderCleared', data: { ...header('cleared'), cause_event_id: 'sent-3', ...window } },
];

describe('bounce-processor records other than TokenInvalidated (issue 12)', () => {
  it.each(otherDeliveryRecords.map((record) => [record.type, record] as const))(
    'T8: %s is neither dead-lettered nor applied: the device keeps its token',
    (_type, record) => {
      expect(inputProblem(record)).toBeNull();
      expect(inputProblem({ ...record, data: { ...record.data, device_id: '' } } as DeviceDeliveryEvent)).toBeNull();

      const { events, device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-token')).when(record);

      expect(events).toEqual([]);
      expect(device(phone)).toMatchObject({ token: 'apns-token', tokenStatus: 'active' });
    },
  );

  it('T8: TokenInvalidated still invalidates the token', () => {
    const { device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-token'), ...otherDeliveryRecords).when(
      deliveryEvents.tokenInvalidated(phone, 6000, 'apns-token'),
    );

    expect(device(phone)).toMatchObject({ tokenStatus: 'invalidated' });
  });
});
