import { SessionSeal, cookieValue } from './session-seal';

const seal = new SessionSeal('a'.repeat(32));
const session = { apiKey: 'demo-key', workspaceId: 'demo', expiresAt: Date.now() + 60_000 };

describe('the sealed session cookie', () => {
  it('opens to the session it sealed, and the API key is not readable in the cookie', () => {
    const sealed = seal.seal(session);

    expect(seal.open(sealed)).toEqual(session);
    expect(sealed).not.toContain('demo-key');
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain('demo-key');
  });

  it('refuses a cookie another secret sealed, a tampered one, garbage and an expired one', () => {
    const sealed = seal.seal(session);
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');

    expect(new SessionSeal('b'.repeat(32)).open(sealed)).toBeNull();
    expect(seal.open(tampered)).toBeNull();
    expect(seal.open('not-a-session')).toBeNull();
    expect(seal.open(undefined)).toBeNull();
    expect(seal.open(seal.seal({ ...session, expiresAt: Date.now() - 1 }))).toBeNull();
  });

  it("accepts the session's own CSRF token only", () => {
    const sealed = seal.seal(session);
    const other = seal.seal(session);

    expect(seal.csrfMatches(sealed, seal.csrfTokenOf(sealed))).toBe(true);
    expect(seal.csrfMatches(sealed, seal.csrfTokenOf(other))).toBe(false);
    expect(seal.csrfMatches(sealed, undefined)).toBe(false);
    expect(seal.csrfMatches(sealed, '')).toBe(false);
  });

  it('reads one cookie of a Cookie header', () => {
    expect(cookieValue('a=1; console_session=x=y; b=2', 'console_session')).toBe('x=y');
    expect(cookieValue('a=1', 'console_session')).toBeUndefined();
    expect(cookieValue(undefined, 'console_session')).toBeUndefined();
  });
});
