import http2 from 'node:http2';
import { Agent, AgentOptions } from 'node:https';
import { Socket, isIP } from 'node:net';
import tls from 'node:tls';

/** firebase-admin's FCM host (hard-coded in `FCM_SEND_HOST`). */
export const FCM_HOST = 'fcm.googleapis.com';

/**
 * An `https.Agent` that connects every request to `target` (e.g. the fake FCM's origin) whatever host the URL names,
 * checking the certificate against `target`'s host with `ca`: for firebase-admin's `cert(serviceAccount, agent)`,
 * whose token request goes to the hard-coded oauth2.googleapis.com.
 */
export function redirectingAgent(target: string, ca: string, options: AgentOptions = {}): Agent {
  const url = new URL(target);
  const host = url.hostname;
  const port = Number(url.port || 443);
  class RedirectingAgent extends Agent {
    override createConnection(): Socket {
      return tls.connect({
        host,
        port,
        ca,
        servername: isIP(host) ? undefined : host,
        ALPNProtocols: ['http/1.1'],
        checkServerIdentity: (_, cert) => tls.checkServerIdentity(host, cert),
      });
    }
  }
  return new RedirectingAgent({ keepAlive: true, ...options });
}

/**
 * Sends firebase-admin's FCM HTTP/2 sessions (`http2.connect('https://fcm.googleapis.com')`, one per `sendEach`) to
 * `target` with `ca`, rewriting the `:scheme` pseudo-header firebase-admin 14 sends as `https:` (Node's HTTP/2 server
 * refuses it) to `https`. Only connections to fcm.googleapis.com are touched. Returns the function that undoes it.
 */
export function redirectFirebaseAdmin(target: string, ca: string): () => void {
  const original = http2.connect;
  const url = new URL(target);
  const patched = ((authority: string | URL, ...rest: unknown[]) => {
    const host = typeof authority === 'string' ? new URL(authority).hostname : authority.hostname;
    if (host !== FCM_HOST) return (original as (...args: unknown[]) => http2.ClientHttp2Session)(authority, ...rest);
    const options = (
      typeof rest[0] === 'object' && rest[0] !== null ? rest[0] : {}
    ) as http2.SecureClientSessionOptions;
    const session = original(url.origin, {
      ...options,
      ca,
      servername: isIP(url.hostname) ? undefined : url.hostname,
    });
    const request = session.request.bind(session);
    session.request = ((headers?: http2.OutgoingHttpHeaders, requestOptions?: http2.ClientSessionRequestOptions) =>
      request(
        headers && headers[':scheme'] === 'https:' ? { ...headers, ':scheme': 'https' } : headers,
        requestOptions,
      )) as typeof session.request;
    return session;
  }) as typeof http2.connect;
  http2.connect = patched;
  return () => {
    if (http2.connect === patched) http2.connect = original;
  };
}
