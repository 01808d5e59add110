import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What the session cookie holds: the signed-in API key and, when the console knows it, the key's workspace. */
export interface Session {
  apiKey: string;
  workspaceId: string | null;
  /** Epoch ms after which the cookie is refused. */
  expiresAt: number;
}

export const SESSION_COOKIE = 'console_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/**
 * The session lives in its cookie, sealed (AES-256-GCM: the key is unreadable and the cookie unforgeable without the
 * secret), so that the console keeps no state and any replica with the same `CONSOLE_SESSION_SECRET` serves it. The
 * CSRF token is an HMAC of the sealed cookie: the page reads it from `GET /session` (same origin only) and sends it
 * back in a header, which a page of another origin can neither read nor forge.
 */
export class SessionSeal {
  private readonly encryptionKey: Buffer;
  private readonly csrfKey: Buffer;

  constructor(secret: string | Buffer) {
    const digest = (label: string) => createHmac('sha256', secret).update(label).digest();
    this.encryptionKey = digest('console session encryption');
    this.csrfKey = digest('console csrf');
  }

  seal(session: Session): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(session), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The session of a cookie value, or null when it is not one this secret sealed, is malformed or has expired. */
  open(sealed: string | undefined, now = Date.now()): Session | null {
    if (!sealed) return null;
    try {
      const bytes = Buffer.from(sealed, 'base64url');
      if (bytes.length < 29) return null;
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      const json = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
      const session = JSON.parse(json) as Session;
      if (typeof session.apiKey !== 'string' || typeof session.expiresAt !== 'number') return null;
      return session.expiresAt > now ? session : null;
    } catch {
      return null;
    }
  }

  csrfTokenOf(sealed: string): string {
    return createHmac('sha256', this.csrfKey).update(sealed).digest('base64url');
  }

  csrfMatches(sealed: string, token: string | undefined): boolean {
    if (!token) return false;
    const expected = Buffer.from(this.csrfTokenOf(sealed));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** The value of one cookie of a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}
