import { deviceEvents } from '@push/testing';
import { storageProblem } from './storable';

const device = { workspace_id: 'ws', app_id: 'app', device_id: 'd1' };

describe('storageProblem: valid Avro a read model still cannot store', () => {
  it('lets ordinary events through', () => {
    expect(
      storageProblem(deviceEvents.tokenRegistered(device, 1_700_000_000_000, 'token-1', { user_id: 'u1' })),
    ).toBeNull();
    expect(storageProblem(deviceEvents.sessionStarted(device, 0))).toBeNull();
  });

  it('rejects a NUL character in any string, naming the field', () => {
    expect(storageProblem(deviceEvents.tokenRegistered(device, 1, 'tok\u0000en'))).toMatch(
      /TokenRegistered\.token contains a NUL character/,
    );
    expect(storageProblem(deviceEvents.changeUser({ ...device, device_id: 'd\u00001' }, 1, 'u1'))).toMatch(/device_id/);
  });

  it('rejects a timestamp-millis before the epoch or beyond the JavaScript date range', () => {
    expect(storageProblem(deviceEvents.sessionStarted(device, -1))).toMatch(/occurred_at is -1/);
    expect(storageProblem(deviceEvents.sessionStarted(device, 8.64e15 + 1))).toMatch(/occurred_at/);
    expect(storageProblem(deviceEvents.sessionStarted(device, 8.64e15))).toBeNull();
  });
});
