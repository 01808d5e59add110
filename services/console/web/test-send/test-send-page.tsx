import { useState } from 'preact/hooks';
import { sendJson, serviceUrl } from '../api';
import { useAppName } from '../app-names';
import { formatAt } from '../format';
import { hrefOf } from '../router';
import { useDispatchProgress } from './use-dispatch-progress';

/** A push to the user shown (a UserAudience dispatch), then each device's outcome as the dispatcher records it. */
export function TestSendPage({ userId }: { userId: string | null }) {
  const [dispatchId, setDispatchId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const send = async (event: Event) => {
    event.preventDefault();
    const fields = (event.currentTarget as HTMLFormElement).elements;
    const value = (name: string) => (fields.namedItem(name) as HTMLInputElement).value.trim();
    setBusy(true);
    setError(null);
    setDispatchId(null);
    try {
      const { dispatch_id } = await sendJson<{ dispatch_id: string }>('POST', serviceUrl('dispatcher', '/dispatches'), {
        audience: { user_ids: [value('to_user')] },
        message: { title: value('title') || null, body: value('body') || null },
      });
      setDispatchId(dispatch_id);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Test send</h1>
      <form onSubmit={send} class="test-send" aria-label="Test push">
        <div class="field">
          <label for="to_user">External user id</label>
          <input id="to_user" name="to_user" value={userId ?? ''} required />
        </div>
        <div class="field">
          <label for="title">Title</label>
          <input id="title" name="title" value="Test push" />
        </div>
        <div class="field">
          <label for="body">Message</label>
          <input id="body" name="body" value="Sent from the push console" />
        </div>
        <div class="actions">
          <button type="submit" disabled={busy}>
            Send test push
          </button>
          {userId && <a href={hrefOf('profile', { user: userId })}>Back to {userId}'s profile</a>}
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      {dispatchId && <Outcomes dispatchId={dispatchId} key={dispatchId} />}
    </>
  );
}

function Outcomes({ dispatchId }: { dispatchId: string }) {
  const appName = useAppName();
  const { progress, devices, error } = useDispatchProgress(dispatchId);

  return (
    <section aria-labelledby="outcomes-title" aria-live="polite">
      <h2 id="outcomes-title">Dispatch {dispatchId}</h2>
      <p data-testid="dispatch-status">
        {progress
          ? `${progress.status}: ${progress.sent} sent, ${progress.bounced} bounced, ${progress.failed} failed, ${Object.values(progress.skipped).reduce((a, b) => a + b, 0)} skipped of ${progress.targeted} devices`
          : 'waiting for the dispatcher…'}
      </p>
      {error && !progress && <p class="note">{error}</p>}
      {devices.length > 0 && (
        <table data-testid="outcomes">
          <thead>
            <tr>
              <th scope="col">App</th>
              <th scope="col">Device</th>
              <th scope="col">Platform</th>
              <th scope="col">Outcome</th>
              <th scope="col">Reason</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={`${d.app_id}/${d.device_id}`} data-testid="outcome-row">
                <td>{appName(d.app_id)}</td>
                <td>{d.device_id}</td>
                <td>{d.platform}</td>
                <td data-testid="outcome">{d.outcome ?? 'pending'}</td>
                <td>{d.reason ?? ''}</td>
                <td>{d.at ? formatAt(d.at) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
