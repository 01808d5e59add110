import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'avsc';
import { deviceEvents } from '@push/testing';
import { EventOf, SCHEMA_VERSIONS } from '../generated/contracts';
import { Topics } from '../topics';
import { CodecError, ContractViolationError } from './errors';
import { fingerprintOf } from './fingerprint';
import { SchemaRegistry, decodeEvent, encodeEvent } from './registry';

const device = { workspace_id: 'ws', app_id: 'ios-app', device_id: 'd1' };
const at = Date.UTC(2026, 10, 1);

const samples: { [T in keyof typeof Topics]: EventOf<(typeof Topics)[T]>[] } = {
  DeviceEvents: [
    deviceEvents.tokenRegistered(device, at, 'apns-token-1', { user_id: 'u1' }),
    deviceEvents.sessionStarted(device, at, { permission: 'DENIED' }),
    deviceEvents.changeUser(device, at, 'u2', 'u1'),
    deviceEvents.userLoggedOut(device, at),
    deviceEvents.pushPermissionChanged(device, at, 'PROVISIONAL', { prompted: false }),
    deviceEvents.appUninstalled(device, at),
  ],
  UserEvents: [{ type: 'PushSubscriptionSet', data: { event_id: 'e1', workspace_id: 'ws', user_id: 'u1', occurred_at: at, state: 'OPTED_IN', source: 'REST' } }],
  DispatchRequests: [
    {
      type: 'DispatchRequested',
      data: {
        dispatch_id: 'dsp-1',
        workspace_id: 'ws',
        campaign_id: null,
        occurred_at: at,
        audience: { 'push.dispatch.UserAudience': { user_ids: ['u1', 'u2'] } },
        message: { title: 'Hi', body: null, data: { k: 'v' }, silent: false, ttl_seconds: 60, collapse_key: null, priority: 'HIGH' },
        options: { include_unsubscribed: false, transactional: true, last_active_device_only: false, app_ids: [] },
      },
    },
  ],
  DispatchOutcomes: [
    { type: 'PushSent', data: { event_id: 'o1', dispatch_id: 'dsp-1', ...device, user_id: 'u1', platform: 'IOS', occurred_at: at, provider_message_id: 'apns-id' } },
    {
      type: 'PushBounced',
      data: { event_id: 'o2', dispatch_id: null, ...device, user_id: null, platform: 'IOS', occurred_at: at, token: 't', provider_reason: 'Unregistered', provider_timestamp: at - 1 },
    },
    { type: 'PushFailed', data: { event_id: 'o3', dispatch_id: 'dsp-1', ...device, user_id: 'u1', platform: 'ANDROID', occurred_at: at, reason: '503', category: 'RETRY_EXHAUSTED' } },
    {
      type: 'DispatchCompleted',
      data: { dispatch_id: 'dsp-1', workspace_id: 'ws', occurred_at: at, targeted: 3, sent: 1, bounced: 1, failed: 1, skipped_unsubscribed: 0, skipped_not_push_enabled: 0, skipped_suppressed: 0 },
    },
  ],
  DeviceTokens: [],
  UserSubscriptions: [],
  DeviceDelivery: [],
};

function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

describe('Avro single-object codec', () => {
  const cases = (Object.keys(samples) as (keyof typeof Topics)[]).flatMap((key) =>
    samples[key].map((event) => [Topics[key], event.type, event] as const),
  );

  it.each(cases)('round-trips %s %s', (topic, _type, event) => {
    const bytes = encodeEvent(topic, event as never);

    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(plain(decodeEvent(topic, bytes))).toEqual(plain(event));
  });

  it('writes the little-endian CRC-64-AVRO fingerprint of the writer schema after the marker', () => {
    const schema = SCHEMA_VERSIONS.find((v) => v.record === 'AppUninstalled')?.schema;
    const bytes = encodeEvent(Topics.DeviceEvents, samples.DeviceEvents[5]);

    expect(bytes.readBigUInt64LE(2)).toBe(fingerprintOf(schema));
  });

  describe('rejects poison with a typed error', () => {
    const good = () => encodeEvent(Topics.DeviceEvents, samples.DeviceEvents[0]);
    const codeOf = (bytes: Buffer, topic: (typeof Topics)[keyof typeof Topics] = Topics.DeviceEvents) => {
      try {
        decodeEvent(topic, bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(CodecError);
        return (error as CodecError).code;
      }
      throw new Error('expected a CodecError');
    };

    it('bad magic bytes', () => {
      const bytes = good();
      bytes[0] = 0x7b;
      expect(codeOf(bytes)).toBe('BAD_MAGIC');
      expect(codeOf(Buffer.from('{"json":true}'))).toBe('BAD_MAGIC');
    });

    it('an unknown fingerprint', () => {
      const bytes = good();
      bytes.writeBigUInt64LE(42n, 2);
      expect(codeOf(bytes)).toBe('UNKNOWN_FINGERPRINT');
    });

    it('a truncated header or body', () => {
      expect(codeOf(good().subarray(0, 6))).toBe('TRUNCATED');
      expect(codeOf(good().subarray(0, 20))).toBe('TRUNCATED');
    });

    it('a wrong enum symbol (an index the schema does not have)', () => {
      // A producer with its own idea of PushPermission writes symbol #4 under the contract's fingerprint.
      const contract = SCHEMA_VERSIONS.find((v) => v.record === 'PushPermissionChanged')!.schema;
      const forged = JSON.parse(JSON.stringify(contract).replace('"NOT_DETERMINED"]', '"NOT_DETERMINED","BANANA"]'));
      const header = encodeEvent(Topics.DeviceEvents, samples.DeviceEvents[4]).subarray(0, 10);
      const body = Type.forSchema(forged).toBuffer({ ...samples.DeviceEvents[4].data, push_permission: 'BANANA' });

      expect(codeOf(Buffer.concat([header, body]))).toBe('INVALID_BODY');
    });

    it('trailing bytes after the record', () => {
      expect(codeOf(Buffer.concat([good(), Buffer.from([0x02])]))).toBe('INVALID_BODY');
    });

    it('a record of another topic', () => {
      expect(codeOf(good(), Topics.UserEvents)).toBe('WRONG_TOPIC');
    });
  });

  describe('refuses to encode what breaks the contract', () => {
    it('a field of the wrong type or a missing field, naming the fields but not their values', () => {
      const bad = { type: 'TokenRegistered', data: { ...samples.DeviceEvents[0].data, token: 42, platform: 'SYMBIAN', user_id: undefined } };

      expect(() => encodeEvent(Topics.DeviceEvents, bad as never)).toThrow(ContractViolationError);
      try {
        encodeEvent(Topics.DeviceEvents, bad as never);
      } catch (error) {
        expect((error as ContractViolationError).problems.join(' ')).toMatch(/token/);
        expect((error as ContractViolationError).problems.join(' ')).toMatch(/platform/);
        expect((error as Error).message).not.toContain('SYMBIAN');
      }
    });

    it('a record on a topic that does not carry it', () => {
      expect(() => encodeEvent(Topics.UserEvents, samples.DeviceEvents[0] as never)).toThrow(/not a record of sdk.user-events.v1/);
    });
  });

  it('reads a message written with an older schema version into the current record', () => {
    const older = JSON.parse(readFileSync(join(__dirname, 'fixtures/TokenRegistered.v0.avsc'), 'utf8'));
    const current = SCHEMA_VERSIONS.find((v) => v.record === 'TokenRegistered')!;
    const registry = new SchemaRegistry([{ ...current, version: 0, schema: older }, current]);
    const oldType = Type.forSchema(older);
    const data = { event_id: 'e0', ...device, occurred_at: at, platform: 'ANDROID', token: 'fcm-token', push_permission: 'DENIED' };
    const header = Buffer.alloc(10);
    header[0] = 0xc3;
    header[1] = 0x01;
    header.writeBigUInt64LE(fingerprintOf(older), 2);

    const decoded = registry.decode(Topics.DeviceEvents, Buffer.concat([header, oldType.toBuffer(data)]));

    expect(decoded.type).toBe('TokenRegistered');
    expect(plain(decoded.data)).toEqual({ ...data, os_version: null, user_id: null });
  });
});
