import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, request, segment, sendJson, serviceUrl, Service } from '../api';
import { useAppName } from '../app-names';
import { formatAt, formatCount } from '../format';

const SERVICES: Service[] = ['token-registry', 'subscription-state', 'segmentation', 'dispatcher', 'bounce-processor'];

interface Health {
  service: Service;
  up: boolean;
  /** The checks that are down, by name (a 503's `error` section), or why the service did not answer. */
  problems: string[];
}

interface HeldApp {
  app_id: string;
  count: number;
  first_at: string | null;
  last_at: string | null;
  reasons: { reason: string; count: number }[];
  flagged: boolean;
  flagged_reasons: string[];
}

async function healthOf(service: Service): Promise<Health> {
  try {
    const response = await request(serviceUrl(service, '/health'));
    await response.body?.cancel();
    return { service, up: true, problems: [] };
  } catch (error) {
    // A 503 from the kit's health check names the checks that are down in `error` (an object); other failures
    // (the console's 502 when the service does not answer) only have a message.
    const body = error instanceof ApiError ? (error.body as { error?: unknown } | null) : null;
    const checks = body?.error;
    const down = typeof checks === 'object' && checks !== null ? Object.keys(checks) : [];
    return { service, up: false, problems: down.length ? down : [(error as Error).message] };
  }
}

export function OperationsPage() {
  const appName = useAppName();
  const [health, setHealth] = useState<Health[] | null>(null);
  const [held, setHeld] = useState<HeldApp[] | null>(null);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);

  const load = useCallback(async () => {
    const [h, b] = await Promise.all([
      Promise.all(SERVICES.map(healthOf)),
      getJson<{ apps: HeldApp[] }>(serviceUrl('bounce-processor', '/held-bounces')).catch((error: unknown) => {
        setMessage({ error: true, text: `burst safety: ${(error as Error).message}` });
        return { apps: [] };
      }),
    ]);
    setHealth(h);
    setHeld(b.apps);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const decide = async (app: HeldApp, action: 'release' | 'discard') => {
    try {
      const answer = await sendJson<{ released?: number; discarded?: number; tokens_invalidated?: number }>(
        'POST',
        serviceUrl('bounce-processor', `/apps/${segment(app.app_id)}/held-bounces/${action}`),
      );
      setMessage({
        error: false,
        text:
          action === 'release'
            ? `${appName(app.app_id)}: released ${answer.released} bounces, ${answer.tokens_invalidated} tokens invalidated.`
            : `${appName(app.app_id)}: discarded ${answer.discarded} bounces; no token invalidated.`,
      });
      await load();
    } catch (error) {
      setMessage({ error: true, text: (error as Error).message });
    }
  };

  return (
    <>
      <h1>Operations</h1>
      <section aria-labelledby="health-title">
        <h2 id="health-title">Services</h2>
        {!health ? (
          <p class="loading">Asking each service…</p>
        ) : (
          <table data-testid="health">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Health</th>
                <th scope="col">Down</th>
              </tr>
            </thead>
            <tbody>
              {health.map((h) => (
                <tr key={h.service}>
                  <th scope="row">{h.service}</th>
                  <td class={h.up ? 'ok' : 'not'} data-testid={`health-${h.service}`}>
                    {h.up ? 'up' : 'down'}
                  </td>
                  <td>{h.problems.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="burst-title">
        <h2 id="burst-title">Burst safety (B4): held bounces</h2>
        {message && (
          <p class={message.error ? 'error' : 'note'} role="status">
            {message.text}
          </p>
        )}
        {held && held.length === 0 && <p>No app is flagged and no bounce is held.</p>}
        {held && held.length > 0 && (
          <table data-testid="held-bounces">
            <thead>
              <tr>
                <th scope="col">App</th>
                <th scope="col">Flagged for</th>
                <th scope="col">Held bounces</th>
                <th scope="col">Between</th>
                <th scope="col">Decide</th>
              </tr>
            </thead>
            <tbody>
              {held.map((app) => (
                <tr key={app.app_id}>
                  <th scope="row">{appName(app.app_id)}</th>
                  <td>{app.flagged ? app.flagged_reasons.join(', ') : 'no longer flagged'}</td>
                  <td>
                    {formatCount(app.count)}
                    {app.reasons.length > 0 && ` (${app.reasons.map((r) => `${r.reason}: ${r.count}`).join(', ')})`}
                  </td>
                  <td>{app.count > 0 ? `${formatAt(app.first_at)} – ${formatAt(app.last_at)}` : ''}</td>
                  <td>
                    <div class="actions">
                      <button type="button" disabled={app.count === 0} onClick={() => decide(app, 'release')}>
                        Release <span class="visually-hidden">{app.app_id}</span>
                      </button>
                      <button
                        type="button"
                        class="secondary"
                        disabled={app.count === 0}
                        onClick={() => decide(app, 'discard')}
                      >
                        Discard <span class="visually-hidden">{app.app_id}</span>
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p class="hint">
          Release applies the held bounces as permanent ones (tokens invalidated); discard forgets them (the credentials
          were wrong, the tokens are fine).
        </p>
      </section>
    </>
  );
}
