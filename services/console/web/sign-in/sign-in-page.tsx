import { useState } from 'preact/hooks';
import { ApiError, sendJson } from '../api';

interface Props {
  onSignedIn: (session: { workspace_id: string | null; csrf_token: string }) => void;
}

/** The API key is sent once, to the console's server, which keeps it in an HttpOnly cookie: the page never stores it. */
export function SignInPage({ onSignedIn }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('api_key') as HTMLInputElement;
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await sendJson('POST', '/session', { api_key: input.value }));
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? 'This API key is not accepted. Check it and try again.'
          : (failure as Error).message,
      );
      input.value = '';
      input.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>Push console</h1>
      <form onSubmit={submit} aria-describedby={error ? 'sign-in-error' : undefined}>
        <label for="api_key">API key</label>
        <input id="api_key" name="api_key" type="password" autocomplete="off" required aria-invalid={error !== null} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="hint">The key is kept by the console's server for this browser session only.</p>
    </main>
  );
}
