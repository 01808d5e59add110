import { join } from 'node:path';
import { Type } from 'avsc';
import { SCHEMA_VERSIONS } from '../generated/schemas';
import {
  DispatchOutcomeEvent,
  DispatchRequestEvent,
  EventOf,
  RECORDS_BY_TOPIC,
  SdkDeviceEvent,
  SdkUserEvent,
} from '../generated/types';
import { loadSchemaVersions } from '../schema-files';
import { TopicName, Topics } from '../topics';
import { decodeEvent, encodeEvent } from './codec';
import {
  BadMagicError,
  CodecError,
  InvalidBodyError,
  TruncatedMessageError,
  UnencodableEventError,
  UnknownFingerprintError,
  WrongTopicError,
} from './errors';
import { fingerprintOf } from './fingerprint';
import { SchemaRegistry } from './registry';
import { singleObjectHeader } from './single-object';

const device = { workspace_id: 'ws-1', app_id: 'ios-app', device_id: 'device-1' };
const at = Date.UTC(2026, 10, 1, 12, 30);
const apnsToken = 'a1'.repeat(32);

const deviceEvents: SdkDeviceEvent[] = [
  {
    type: 'TokenRegistered',
    data: {
      event_id: 'e1',
      ...device,
      occurred_at: at,
      platform: 'IOS',
      token: apnsToken,
      os_version: '17.4',
      push_permission: 'AUTHORIZED',
      user_id: 'u1',
    },
  },
  {
    type: 'SessionStarted',
    data: {
      event_id: 'e2',
      ...device,
      occurred_at: at,
      platform: 'ANDROID',
      os_version: null,
      push_permission: 'DENIED',
      user_id: null,
    },
  },
  { type: 'ChangeUser', data: { event_id: 'e3', ...device, occurred_at: at, user_id: 'u2', previous_user_id: 'u1' } },
  { type: 'UserLoggedOut', data: { event_id: 'e4', ...device, occurred_at: at, user_id: null } },
  {
    type: 'PushPermissionChanged',
    data: {
      event_id: 'e5',
      ...device,
      occurred_at: at,
      platform: 'IOS',
      os_version: '18.0',
      push_permission: 'PROVISIONAL',
      prompted: false,
    },
  },
  { type: 'AppUninstalled', data: { event_id: 'e6', ...device, occurred_at: at } },
];
const userEvents: SdkUserEvent[] = [
  {
    type: 'PushSubscriptionSet',
    data: { event_id: 'e7', workspace_id: 'ws-1', user_id: 'u1', occurred_at: at, state: 'OPTED_IN', source: 'REST' },
  },
];
const message = {
  title: 'Hi',
  body: null,
  data: { deep_link: 'app://sale' },
  silent: false,
  ttl_seconds: 3600,
  collapse_key: null,
  priority: 'HIGH',
} as const;
const options = {
  include_unsubscribed: false,
  transactional: false,
  last_active_device_only: true,
  app_ids: ['ios-app'],
};
const dispatchRequests: DispatchRequestEvent[] = [
  {
    type: 'DispatchRequested',
    data: {
      dispatch_id: 'd1',
      workspace_id: 'ws-1',
      campaign_id: 'c1',
      occurred_at: at,
      audience: { 'push.dispatch.UserAudience': { user_ids: ['u1', 'u2'] } },
      message,
      options,
    },
  },
  {
    type: 'DispatchRequested',
    data: {
      dispatch_id: 'd2',
      workspace_id: 'ws-1',
      campaign_id: null,
      occurred_at: at,
      audience: { 'push.dispatch.SegmentAudience': { filter_json: '{"push_enabled":true}' } },
      message,
      options,
    },
  },
  {
    type: 'DispatchRequested',
    data: {
      dispatch_id: 'd3',
      workspace_id: 'ws-1',
      campaign_id: null,
      occurred_at: at,
      audience: { 'push.dispatch.DeviceAudience': { app_id: 'ios-app', device_id: 'device-1' } },
      message: {
        ...message,
        title: null,
        data: {},
        silent: true,
        ttl_seconds: null,
        collapse_key: 'c',
        priority: 'NORMAL',
      },
      options: { ...options, transactional: true, app_ids: [] },
    },
  },
];
const outcome = { dispatch_id: 'd1', ...device, user_id: 'u1', platform: 'IOS', occurred_at: at } as const;
const dispatchOutcomes: DispatchOutcomeEvent[] = [
  { type: 'PushSent', data: { event_id: 'o1', ...outcome, provider_message_id: 'apns-id-1' } },
  {
    type: 'PushBounced',
    data: {
      event_id: 'o2',
      ...outcome,
      dispatch_id: null,
      user_id: null,
      token: apnsToken,
      provider_reason: 'Unregistered',
      provider_timestamp: at - 1000,
    },
  },
  {
    type: 'PushFailed',
    data: {
      event_id: 'o3',
      ...outcome,
      platform: 'ANDROID',
      reason: 'HTTP 503 after 5 attempts',
      category: 'RETRY_EXHAUSTED',
    },
  },
  {
    type: 'DispatchCompleted',
    data: {
      dispatch_id: 'd1',
      workspace_id: 'ws-1',
      occurred_at: at,
      targeted: 7,
      sent: 1,
      bounced: 1,
      failed: 1,
      skipped_unsubscribed: 2,
      skipped_not_push_enabled: 1,
      skipped_suppressed: 1,
    },
  },
];
const samples: [TopicName, EventOf<TopicName>][] = [
  ...deviceEvents.map((e) => [Topics.DeviceEvents, e] as [TopicName, EventOf<TopicName>]),
  ...userEvents.map((e) => [Topics.UserEvents, e] as [TopicName, EventOf<TopicName>]),
  ...dispatchRequests.map((e) => [Topics.DispatchRequests, e] as [TopicName, EventOf<TopicName>]),
  ...dispatchOutcomes.map((e) => [Topics.DispatchOutcomes, e] as [TopicName, EventOf<TopicName>]),
];

/** Decoded records are avsc record instances; compare their data. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value));

/** The error `decode` throws. */
function decodeError(decode: () => unknown): CodecError {
  try {
    decode();
  } catch (error) {
    if (error instanceof CodecError) return error;
    throw error;
  }
  throw new Error('decoded without an error');
}

describe('Avro single-object codec', () => {
  it.each(samples.map(([topic, event]) => [topic, event.type, event] as const))(
    'round-trips %s %s',
    (topic, _type, event) => {
      const bytes = encodeEvent(topic, event);

      expect(plain(decodeEvent(topic, bytes))).toEqual(event);
    },
  );

  it('has a realistic sample for every record of the DESIGN §3 topics', () => {
    const sampled = (topic: TopicName) =>
      [...new Set(samples.filter(([t]) => t === topic).map(([, e]) => e.type))].sort();

    for (const topic of [Topics.DeviceEvents, Topics.UserEvents, Topics.DispatchRequests, Topics.DispatchOutcomes])
      expect(sampled(topic)).toEqual(RECORDS_BY_TOPIC[topic]);
  });

  it.each(SCHEMA_VERSIONS.map((v) => [v.topic, v.record] as const))(
    'round-trips random valid values of every record: %s %s',
    (topic, record) => {
      const type = Type.forSchema(SCHEMA_VERSIONS.filter((v) => v.record === record).at(-1)!.schema as never);
      for (let i = 0; i < 20; i++) {
        const event = { type: record, data: type.random() as unknown } as EventOf<TopicName>;

        expect(plain(decodeEvent(topic, encodeEvent(topic, event)))).toEqual(plain(event));
      }
    },
  );

  it('writes C3 01, then the writer schema fingerprint little-endian, then the Avro binary body', () => {
    const event = deviceEvents[5];
    const schema = SCHEMA_VERSIONS.find((v) => v.record === 'AppUninstalled')!.schema;

    const bytes = encodeEvent(Topics.DeviceEvents, event);

    expect(bytes.subarray(0, 10)).toEqual(singleObjectHeader(fingerprintOf(schema)));
    expect(bytes.subarray(10)).toEqual(Type.forSchema(schema as never).toBuffer(event.data));
  });

  it("encodes records of any size, each message its own bytes (larger than the encoder's buffer, then small again)", () => {
    const registration = deviceEvents.find((e) => e.type === 'TokenRegistered')!;
    const huge = { ...registration, data: { ...registration.data, token: 'x'.repeat(200_000) } } as SdkDeviceEvent;

    const small = encodeEvent(Topics.DeviceEvents, registration);
    const large = encodeEvent(Topics.DeviceEvents, huge);
    const againSmall = encodeEvent(Topics.DeviceEvents, registration);

    expect(plain(decodeEvent(Topics.DeviceEvents, large))).toEqual(huge);
    expect(againSmall).toEqual(small);
    expect(plain(decodeEvent(Topics.DeviceEvents, small))).toEqual(registration);
  });

  it('reads timestamps as epoch milliseconds (numbers), not Date', () => {
    const decoded = decodeEvent(Topics.DispatchOutcomes, encodeEvent(Topics.DispatchOutcomes, dispatchOutcomes[1]));

    expect(decoded.type === 'PushBounced' && decoded.data.provider_timestamp).toBe(at - 1000);
    expect(typeof decoded.data.occurred_at).toBe('number');
  });

  describe('rejects poison with a typed CodecError', () => {
    const good = () => encodeEvent(Topics.DeviceEvents, deviceEvents[0]);

    it('BAD_MAGIC: bytes that are not single-object encoded', () => {
      const json = decodeError(() => decodeEvent(Topics.DeviceEvents, Buffer.from('{"event_id":"e1"}')));
      const wrongSecondByte = good();
      wrongSecondByte[1] = 0x02;

      expect(json).toBeInstanceOf(BadMagicError);
      expect(json.code).toBe('BAD_MAGIC');
      expect(decodeError(() => decodeEvent(Topics.DeviceEvents, wrongSecondByte)).code).toBe('BAD_MAGIC');
    });

    it('UNKNOWN_FINGERPRINT: a writer schema that is not under schemas/', () => {
      const bytes = good();
      bytes.writeBigUInt64LE(0x0123456789abcdefn, 2);

      const error = decodeError(() => decodeEvent(Topics.DeviceEvents, bytes));

      expect(error).toBeInstanceOf(UnknownFingerprintError);
      expect(error.code).toBe('UNKNOWN_FINGERPRINT');
      expect(error.message).toContain('0123456789abcdef');
    });

    it('TRUNCATED: a message cut in its header or in its body, or empty', () => {
      const bytes = good();

      for (const cut of [
        Buffer.alloc(0),
        bytes.subarray(0, 1),
        bytes.subarray(0, 9),
        bytes.subarray(0, bytes.length - 1),
      ]) {
        const error = decodeError(() => decodeEvent(Topics.DeviceEvents, cut));
        expect(error).toBeInstanceOf(TruncatedMessageError);
        expect(error.code).toBe('TRUNCATED');
      }
    });

    it('INVALID_BODY: an enum index the writer schema does not have', () => {
      // A producer with its own idea of PushPermission writes symbol #4 under the contract's fingerprint.
      const contract = SCHEMA_VERSIONS.find((v) => v.record === 'PushPermissionChanged')!.schema;
      const forged = Type.forSchema(
        JSON.parse(JSON.stringify(contract).replace('"NOT_DETERMINED"]', '"NOT_DETERMINED","BANANA"]')),
      );
      const header = encodeEvent(Topics.DeviceEvents, deviceEvents[4]).subarray(0, 10);
      const body = forged.toBuffer({ ...deviceEvents[4].data, push_permission: 'BANANA' });

      const error = decodeError(() => decodeEvent(Topics.DeviceEvents, Buffer.concat([header, body])));

      expect(error).toBeInstanceOf(InvalidBodyError);
      expect(error.code).toBe('INVALID_BODY');
      expect(error.message).toMatch(/enum index/);
    });

    it('INVALID_BODY: trailing bytes after the record', () => {
      const error = decodeError(() =>
        decodeEvent(Topics.DeviceEvents, Buffer.concat([good(), Buffer.from([0x02, 0x00])])),
      );

      expect(error).toBeInstanceOf(InvalidBodyError);
      expect(error.message).toMatch(/2 trailing bytes/);
    });

    it('WRONG_TOPIC: a valid record of another topic', () => {
      const error = decodeError(() => decodeEvent(Topics.UserEvents, good()));

      expect(error).toBeInstanceOf(WrongTopicError);
      expect(error.code).toBe('WRONG_TOPIC');
      expect(error.message).toBe('TokenRegistered is a record of sdk.device-events.v1, not of sdk.user-events.v1');
    });
  });

  describe('refuses to encode what breaks the contract', () => {
    const violation = (encode: () => unknown): UnencodableEventError => {
      try {
        encode();
      } catch (error) {
        if (error instanceof UnencodableEventError) return error;
        throw error;
      }
      throw new Error('encoded without an error');
    };

    it('names every offending field path, never the values (they may be tokens)', () => {
      const data = { ...deviceEvents[0].data, event_id: undefined, token: 42, platform: 'SYMBIAN', os_version: 17 };

      const error = violation(() => encodeEvent(Topics.DeviceEvents, { type: 'TokenRegistered', data } as never));

      expect(error.problems).toEqual([
        'event_id: expected string, got undefined',
        'platform: expected one of IOS, ANDROID, WEB, got a string of length 7',
        'token: expected string, got an integer',
        'os_version: expected null or string, got an integer',
      ]);
      expect(error.message).toMatch(/^TokenRegistered on sdk.device-events.v1 violates the contract: event_id: /);
      expect(error.message).not.toContain('SYMBIAN');
    });

    it('names nested paths, undeclared fields and a union value that is not wrapped', () => {
      const request = dispatchRequests[0].data;
      const data = {
        ...request,
        audience: { user_ids: ['u1'] },
        message: { ...request.message, priority: 'URGENT', sound: 'ding' },
      };

      const error = violation(() => encodeEvent(Topics.DispatchRequests, { type: 'DispatchRequested', data } as never));

      expect(error.problems).toEqual([
        'audience: expected push.dispatch.UserAudience or push.dispatch.SegmentAudience or push.dispatch.DeviceAudience, got an object',
        'message.sound: not a field of push.dispatch.PushMessage',
      ]);
    });

    it('a record that the topic does not carry', () => {
      const error = violation(() => encodeEvent(Topics.UserEvents, deviceEvents[0] as never));

      expect(error.problems).toEqual([
        'type: TokenRegistered is not a record of sdk.user-events.v1 (it carries PushSubscriptionSet)',
      ]);
    });
  });
});

describe('schema evolution in the registry', () => {
  // A realistic next version of TokenRegistered (adds optional sdk_version), kept as a test fixture, not published.
  const withV2 = [...SCHEMA_VERSIONS, ...loadSchemaVersions(join(__dirname, '../fixtures/compatible'))];
  const future = new SchemaRegistry(withV2);
  const registered = deviceEvents[0];

  it('decodes a message written with the published v1 into the v2 reader, with the new field at its default', () => {
    const writtenToday = encodeEvent(Topics.DeviceEvents, registered);

    expect(future.writerVersionOf(writtenToday).version).toBe(1);
    expect(plain(future.decode(Topics.DeviceEvents, writtenToday))).toEqual({
      type: 'TokenRegistered',
      data: { ...registered.data, sdk_version: null },
    });
  });

  it('writes the newest version, which a registry without it does not know yet (deploy readers before writers)', () => {
    const v2 = withV2.find((v) => v.record === 'TokenRegistered' && v.version === 2)!;

    const writtenTomorrow = future.encode(Topics.DeviceEvents, {
      type: 'TokenRegistered',
      data: { ...registered.data, sdk_version: '5.1.0' },
    } as never);

    expect(future.currentVersionOf('TokenRegistered')).toBe(v2);
    expect(writtenTomorrow.readBigUInt64LE(2)).toBe(fingerprintOf(v2.schema));
    expect(decodeError(() => decodeEvent(Topics.DeviceEvents, writtenTomorrow)).code).toBe('UNKNOWN_FINGERPRINT');
  });
});
