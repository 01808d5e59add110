import { useAppName } from '../app-names';
import { formatAt, formatCount } from '../format';
import { useOperations } from './use-operations';

export function OperationsPage() {
  const appName = useAppName();
  const { health, held, message, decide } = useOperations(appName);

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
