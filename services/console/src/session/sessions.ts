import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { CSRF_HEADER, SESSION_COOKIE, SESSION_TTL_MS, Session, SessionSeal, cookieValue } from './session-seal';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The signed-in session of a request, the cookie that carries it, and the checks of a state-changing request. */
@Injectable()
export class Sessions {
  private readonly seal: SessionSeal;

  constructor(secret: string | null) {
    this.seal = new SessionSeal(secret ?? randomBytes(32));
  }

  start(request: Request, response: Response, apiKey: string, workspaceId: string | null): { csrf_token: string } {
    const sealed = this.seal.seal({ apiKey, workspaceId, expiresAt: Date.now() + SESSION_TTL_MS });
    response.cookie(SESSION_COOKIE, sealed, {
      httpOnly: true,
      sameSite: 'strict',
      secure: request.secure,
      path: '/',
      maxAge: SESSION_TTL_MS,
    });
    return { csrf_token: this.seal.csrfTokenOf(sealed) };
  }

  end(response: Response): void {
    response.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/' });
  }

  /**
   * The request's session (401 without one); a state-changing request also needs the session's CSRF token (403): in
   * its header, or — for a form the browser submits itself, which cannot set headers — the one given.
   */
  require(request: Request, formCsrfToken?: string): Session & { csrfToken: string } {
    const sealed = cookieValue(request.headers.cookie, SESSION_COOKIE);
    const session = this.seal.open(sealed);
    if (!session || !sealed) throw new UnauthorizedException('not signed in: sign in with an API key');
    if (!SAFE_METHODS.has(request.method)) {
      refuseOtherOrigin(request);
      const header = request.headers[CSRF_HEADER];
      if (!this.seal.csrfMatches(sealed, typeof header === 'string' ? header : formCsrfToken))
        throw new ForbiddenException(`${CSRF_HEADER}: missing or not this session's; reload the console`);
    }
    return { ...session, csrfToken: this.seal.csrfTokenOf(sealed) };
  }
}

/** A state-changing request sent by a page of another origin names it in `Origin`: refused whatever it carries. */
export function refuseOtherOrigin(request: Request): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = request.headers.host;
  if (!host || (origin !== `http://${host}` && origin !== `https://${host}`))
    throw new ForbiddenException('origin: a request from another origin is refused');
}
