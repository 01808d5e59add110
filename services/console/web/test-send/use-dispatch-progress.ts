import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, segment, serviceUrl } from '../api';

export interface Progress {
  dispatch_id: string;
  status: 'pending' | 'running' | 'completed';
  targeted: number;
  sent: number;
  bounced: number;
  failed: number;
  skipped: Record<string, number>;
}

export interface DeviceOutcome {
  app_id: string;
  device_id: string;
  user_id: string | null;
  platform: 'ios' | 'android' | 'web';
  outcome: 'sent' | 'bounced' | 'failed' | 'skipped' | null;
  reason: string | null;
  at: string | null;
}

const POLL_MS = 500;

/**
 * Every device of the dispatch: the dispatcher answers a page at a time (`next` null on the last). A test send names
 * one user, so this is one page of at most 1,000 devices but for a user with more.
 */
async function allDevices(id: string): Promise<DeviceOutcome[]> {
  const devices: DeviceOutcome[] = [];
  let after: string | null = null;
  do {
    const query: string = after === null ? '?limit=1000' : `?limit=1000&after=${encodeURIComponent(after)}`;
    const page: { devices: DeviceOutcome[]; next: string | null } = await getJson(
      serviceUrl('dispatcher', `/dispatches/${id}/devices${query}`),
    );
    devices.push(...page.devices);
    after = page.next;
  } while (after !== null);
  return devices;
}

/** A dispatch's progress and each device's outcome, asked again every 500 ms until the dispatch is completed. */
export function useDispatchProgress(dispatchId: string) {
  const [progress, setProgress] = useState<Progress | null>(null);
  const [devices, setDevices] = useState<DeviceOutcome[]>([]);
  const [error, setError] = useState<string | null>(null);
  const stopped = useRef(false);

  useEffect(() => {
    stopped.current = false;
    const poll = async () => {
      try {
        const id = segment(dispatchId);
        const [p, d] = await Promise.all([
          getJson<Progress>(serviceUrl('dispatcher', `/dispatches/${id}`)),
          allDevices(id),
        ]);
        if (stopped.current) return;
        setProgress(p);
        setDevices(d);
        setError(null);
        if (p.status === 'completed') return;
      } catch (failure) {
        // A dispatch the dispatcher has not recorded yet answers 404 for a moment: keep asking.
        if (stopped.current) return;
        setError((failure as Error).message);
      }
      setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped.current = true;
    };
  }, [dispatchId]);

  return { progress, devices, error };
}
