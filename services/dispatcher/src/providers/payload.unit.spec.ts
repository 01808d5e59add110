import type { PushMessage } from '@push/contracts';
import { WEB_PUSH_DEFAULT_TTL_S, apnsRequest, fcmMessage, webPushRequest } from './payload';

const message = (overrides: Partial<PushMessage> = {}): PushMessage => ({
  title: 'T',
  body: 'B',
  data: { k: 'v' },
  silent: false,
  ttl_seconds: null,
  collapse_key: null,
  priority: 'HIGH',
  ...overrides,
});

describe('payload mapping', () => {
  it('D3: silent → APNs background, priority 5, content-available 1, no alert; FCM data-only', () => {
    const silent = message({ silent: true, title: 'ignored', body: 'ignored' });
    expect(apnsRequest(silent, 'topic', 0)).toEqual({
      pushType: 'background',
      priority: 5,
      expiry: null,
      collapseId: null,
      topic: 'topic',
      payload: { k: 'v', aps: { 'content-available': 1 } },
    });
    expect(fcmMessage(silent)).toEqual({ data: { k: 'v' }, android: { priority: 'HIGH' } });
  });

  it('APNs: alert with title/body, expiration from TTL, collapse id, priority by message priority', () => {
    expect(apnsRequest(message({ ttl_seconds: 60, collapse_key: 'c', priority: 'NORMAL' }), 't', 1_000_000)).toEqual({
      pushType: 'alert',
      priority: 5,
      expiry: 1060,
      collapseId: 'c',
      topic: 't',
      payload: { k: 'v', aps: { alert: { title: 'T', body: 'B' } } },
    });
    const long = apnsRequest(message({ collapse_key: 'x'.repeat(100) }), 't', 0).collapseId!;
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(64);
    expect(apnsRequest(message({ data: { aps: 'x', a: '1' } }), 't', 0).payload).toEqual({
      a: '1',
      aps: { alert: { title: 'T', body: 'B' } },
    });
  });

  it('FCM: notification, data, android ttl/collapse_key/priority', () => {
    expect(fcmMessage(message({ ttl_seconds: 30, collapse_key: 'c', priority: 'NORMAL' }))).toEqual({
      data: { k: 'v' },
      android: { priority: 'NORMAL', ttl: '30s', collapse_key: 'c' },
      notification: { title: 'T', body: 'B' },
    });
    expect(fcmMessage(message({ title: null, body: null }))).toEqual({
      data: { k: 'v' },
      android: { priority: 'HIGH' },
    });
  });

  it('Web Push: JSON payload, TTL (default 4 weeks), urgency, Topic (a digest when not base64url ≤ 32)', () => {
    expect(webPushRequest(message({ collapse_key: 'news' }))).toEqual({
      payload: JSON.stringify({ title: 'T', body: 'B', data: { k: 'v' } }),
      ttl: WEB_PUSH_DEFAULT_TTL_S,
      urgency: 'high',
      topic: 'news',
    });
    const topic = webPushRequest(message({ collapse_key: 'spring sale: 50%', priority: 'NORMAL', ttl_seconds: 5 }));
    expect(topic).toMatchObject({ ttl: 5, urgency: 'normal' });
    expect(topic.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});
