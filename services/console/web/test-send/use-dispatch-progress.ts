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
          getJson<{ devices: DeviceOutcome[] }>(serviceUrl('dispatcher', `/dispatches/${id}/devices`)),
        ]);
        if (stopped.current) return;
        setProgress(p);
        setDevices(d.devices);
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
