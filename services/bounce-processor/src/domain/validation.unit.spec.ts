import { deviceTokenEvents, outcomeEvents } from '@push/testing';
import { inputProblem } from './validation';

const phone = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'phone' };

describe('bad outcomes go to the dead-letter topic with a reason (issue 12)', () => {
  it('accepts valid outcomes and registrations, and the records it does not apply', () => {
    expect(inputProblem(outcomeEvents.pushSent(phone, 1000))).toBeNull();
    expect(inputProblem(outcomeEvents.pushBounced(phone, 1000, 'tok', 'Unregistered'))).toBeNull();
    expect(inputProblem(outcomeEvents.pushFailed(phone, 1000, 'TooManyRequests', 'RETRY_EXHAUSTED'))).toBeNull();
    expect(inputProblem(deviceTokenEvents.tokenRenewed(phone, 1000, 'tok'))).toBeNull();
    expect(
      inputProblem({
        type: 'DispatchCompleted',
        data: {
          dispatch_id: '',
          workspace_id: 'acme',
          occurred_at: 1000,
          targeted: 0,
          sent: 0,
          bounced: 0,
          failed: 0,
          skipped_unsubscribed: 0,
          skipped_not_push_enabled: 0,
          skipped_suppressed: 0,
        },
      }),
    ).toBeNull();
  });

  it('names the empty or too long field', () => {
    expect(inputProblem(outcomeEvents.pushSent({ ...phone, device_id: ' ' }, 1000))).toBe('device_id is empty');
    expect(inputProblem(outcomeEvents.pushBounced(phone, 1000, '', 'Unregistered'))).toBe('token is empty');
    expect(inputProblem(outcomeEvents.pushBounced(phone, 1000, 'tok', ''))).toBe('provider_reason is empty');
    expect(inputProblem(outcomeEvents.pushBounced(phone, 1000, 'x'.repeat(2049), 'Unregistered'))).toBe(
      'token is longer than 2048 bytes (UTF-8): 2049 bytes',
    );
    expect(inputProblem(outcomeEvents.pushFailed(phone, 1000, 'é'.repeat(129), 'PAYLOAD'))).toBe(
      'reason is longer than 256 bytes (UTF-8): 258 bytes',
    );
    expect(inputProblem(deviceTokenEvents.tokenRenewed({ ...phone, app_id: 'a'.repeat(257) }, 1000, 'tok'))).toBe(
      'app_id is longer than 256 bytes (UTF-8): 257 bytes',
    );
  });
});
