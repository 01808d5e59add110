import { LogCapture } from '@push/testing';
import { createLogger, maskToken } from './logger';

describe('createLogger (outside Nest)', () => {
  it('writes JSON with the service name and redacts tokens, keys and secrets at any depth up to four levels', () => {
    const logs = new LogCapture();
    const logger = createLogger('token-registry', 'info', logs);
    const secrets = {
      token: 'tok-top-level-111111',
      event: { push_token: 'tok-nested-222222', keys: { p256dh: 'p256dh-333333', auth: 'auth-444444' } },
      batch: [{ device: { token: 'tok-in-array-555555' } }],
      apns: { private_key: '-----BEGIN PRIVATE KEY-----666666' },
      webpush: { vapid_private_key: 'vapid-777777' },
      config: { databaseUrl: 'postgres://u:pw-888888@h/db', apiKeys: 'k-999999=ws' },
      user: { password: 'hunter2-000000' },
    };

    logger.info(secrets, 'applied');

    const [line] = logs.lines();
    expect(line).toMatchObject({ level: 'info', name: 'token-registry', msg: 'applied', token: '[redacted]' });
    for (const secret of [
      '111111',
      '222222',
      '333333',
      '444444',
      '555555',
      '666666',
      '777777',
      '888888',
      '999999',
      '000000',
    ]) {
      expect(logs.text()).not.toContain(secret);
    }
  });
});

describe('maskToken (DESIGN §4 HTTP API)', () => {
  it('replaces all but the last 6 characters with *', () => {
    expect(maskToken('abcdefghij123456')).toBe('**********123456');
  });

  it('leaves null and tokens of 6 characters or fewer as they are', () => {
    expect(maskToken(null)).toBeNull();
    expect(maskToken('123456')).toBe('123456');
  });
});
