/** The console server's API: the session, the apps, and `/api/<service>/…` forwarded with the session's key. */
export type Service = 'token-registry' | 'subscription-state' | 'segmentation' | 'dispatcher' | 'bounce-processor';

/** Kept in this module's memory only: never in localStorage or a URL. A reload reads it again from GET /session. */
let csrfToken: string | null = null;
export const setCsrfToken = (token: string | null): void => {
  csrfToken = token;
};
export const currentCsrfToken = (): string | null => csrfToken;

/** A service's (or the console's) error answer: `message`, and `issues` naming each field of a 400. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { message?: string | string[]; issues?: { field: string; problem: string }[] } | null,
  ) {
    super(
      Array.isArray(body?.message) ? body.message.join('; ') : (body?.message ?? `the request failed (HTTP ${status})`),
    );
  }
}

export async function request(path: string, init: { method?: string; body?: unknown; accept?: string } = {}) {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { Accept: init.accept ?? 'application/json' };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'same-origin',
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(response.status, body);
  }
  return response;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await request(path)).json() as Promise<T>;
}

export async function sendJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await request(path, { method, body });
  return (response.status === 204 ? null : await response.json()) as T;
}

export const serviceUrl = (service: Service, path: string): string => `/api/${service}${path}`;

/** The value as a path segment: ids are arbitrary UTF-8 (DESIGN), so every one is encoded. */
export const segment = (id: string): string => encodeURIComponent(id);
