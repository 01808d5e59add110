import { deviceTokenEvents, userEvents } from '@push/testing';
import { MAX_ID_BYTES, inputProblem } from './validation';

const kim = { workspace_id: 'acme', user_id: 'kim' };
const phone = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'phone' };

describe('input validation (contract checks the schema cannot express)', () => {
  it('accepts valid events', () => {
    expect(inputProblem(userEvents.pushSubscriptionSet(kim, 1, 'UNSUBSCRIBED'))).toBeNull();
    expect(inputProblem(deviceTokenEvents.userFirstSeen(phone, 1, 'kim'))).toBeNull();
    expect(inputProblem(deviceTokenEvents.pushCapabilityChanged(phone, 1, { user_id: 'kim' }))).toBeNull();
  });

  it('refuses a PushSubscriptionSet of a blank user or workspace', () => {
    expect(inputProblem(userEvents.pushSubscriptionSet({ ...kim, user_id: ' ' }, 1, 'OPTED_IN'))).toBe(
      'user_id is empty',
    );
    expect(inputProblem(userEvents.pushSubscriptionSet({ ...kim, workspace_id: '' }, 1, 'OPTED_IN'))).toBe(
      'workspace_id is empty',
    );
  });

  it(`refuses a user id longer than ${MAX_ID_BYTES} bytes of UTF-8 (the read model's key)`, () => {
    const long = 'é'.repeat(129); // 258 bytes
    expect(inputProblem(userEvents.pushSubscriptionSet({ ...kim, user_id: long }, 1, 'OPTED_IN'))).toBe(
      'user_id is longer than 256 bytes (UTF-8): 258 bytes',
    );
    expect(inputProblem(deviceTokenEvents.userFirstSeen(phone, 1, long))).toContain('user_id is longer');
    expect(
      inputProblem(userEvents.pushSubscriptionSet({ ...kim, user_id: 'é'.repeat(128) }, 1, 'OPTED_IN')),
    ).toBeNull();
  });
});
