import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, Service, getJson, request, segment, sendJson, serviceUrl } from '../api';

const SERVICES: Service[] = ['token-registry', 'subscription-state', 'segmentation', 'dispatcher', 'bounce-processor'];

export interface Health {
  service: Service;
  up: boolean;
  /** The checks that are down, by name (a 503's `error` section), or why the service did not answer. */
  problems: string[];
}

export interface HeldApp {
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

/**
 * Each service's health and the apps burst safety (B4) holds bounces of, loaded together, and the operator's
 * release / discard, after which both are loaded again. `describe` names an app in the message of a decision.
 */
export function useOperations(describe: (appId: string) => string) {
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
            ? `${describe(app.app_id)}: released ${answer.released} bounces, ${answer.tokens_invalidated} tokens invalidated.`
            : `${describe(app.app_id)}: discarded ${answer.discarded} bounces; no token invalidated.`,
      });
      await load();
    } catch (error) {
      setMessage({ error: true, text: (error as Error).message });
    }
  };

  return { health, held, message, decide };
}
