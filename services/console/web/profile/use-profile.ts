import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, segment, serviceUrl } from '../api';
import type { ChangelogEntry, DeliveryView, DeviceView, SubscriptionView } from './reasons';

export interface Profile {
  userId: string;
  subscription: SubscriptionView | null;
  devices: { device: DeviceView; delivery: DeliveryView | null }[];
  changelog: ChangelogEntry[];
}

/** A 404 is an answer here (never seen; no outcome yet), not an error. */
const orNull = <T>(promise: Promise<T>): Promise<T | null> =>
  promise.catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  });

export async function loadProfile(userId: string): Promise<Profile> {
  const user = segment(userId);
  const [subscription, devices, changelog] = await Promise.all([
    orNull(getJson<SubscriptionView>(serviceUrl('subscription-state', `/users/${user}/subscription`))),
    getJson<{ devices: DeviceView[] }>(serviceUrl('token-registry', `/users/${user}/devices`)),
    getJson<{ entries: ChangelogEntry[] }>(serviceUrl('token-registry', `/users/${user}/token-changelog`)),
  ]);
  const deliveries = await Promise.all(
    devices.devices.map((d) =>
      orNull(
        getJson<DeliveryView>(
          serviceUrl('bounce-processor', `/devices/${segment(d.app_id)}/${segment(d.device_id)}/delivery`),
        ),
      ),
    ),
  );
  return {
    userId,
    subscription,
    devices: devices.devices.map((device, i) => ({ device, delivery: deliveries[i] })),
    changelog: changelog.entries,
  };
}

export type ProfileState =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'loaded'; profile: Profile }
  | { status: 'failed'; message: string };

export function useProfile(userId: string | null) {
  const [state, setState] = useState<ProfileState>({ status: userId ? 'loading' : 'idle' });
  const reload = useCallback(async () => {
    if (!userId) return setState({ status: 'idle' });
    try {
      setState({ status: 'loaded', profile: await loadProfile(userId) });
    } catch (error) {
      setState({ status: 'failed', message: (error as Error).message });
    }
  }, [userId]);
  useEffect(() => {
    setState({ status: userId ? 'loading' : 'idle' });
    void reload();
  }, [reload]);
  return { state, reload };
}
