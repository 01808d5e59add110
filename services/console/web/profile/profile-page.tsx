import { useState } from 'preact/hooks';
import { getJson, segment, sendJson, serviceUrl } from '../api';
import { useAppName } from '../app-names';
import { formatAt } from '../format';
import { hrefOf } from '../router';
import {
  PushSubscribe,
  SUBSCRIPTION_LABEL,
  SubscriptionView,
  changelogSentence,
  movedAway,
  movedSentence,
  reachabilityOf,
  registeredFor,
  sourceLabel,
} from './reasons';
import { Profile, useProfile } from './use-profile';

const PLATFORM_LABEL = { ios: 'iOS', android: 'Android', web: 'Web' } as const;

export function ProfilePage({ userId }: { userId: string | null }) {
  const { state, reload } = useProfile(userId);
  return (
    <>
      <h1>User profile</h1>
      <UserSearch userId={userId} />
      {state.status === 'loading' && <p class="loading">Loading {userId}…</p>}
      {state.status === 'failed' && (
        <p class="error" role="alert">
          {state.message}
        </p>
      )}
      {state.status === 'loaded' && <ProfileView profile={state.profile} onChanged={reload} />}
    </>
  );
}

function UserSearch({ userId }: { userId: string | null }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('user') as HTMLInputElement;
    if (input.value.trim() !== '') location.hash = hrefOf('profile', { user: input.value.trim() });
  };
  return (
    <form class="search" role="search" onSubmit={submit}>
      <label for="user">External user id</label>
      <input id="user" name="user" type="search" value={userId ?? ''} required />
      <button type="submit">Find user</button>
    </form>
  );
}

function ProfileView({ profile, onChanged }: { profile: Profile; onChanged: () => Promise<void> }) {
  const appName = useAppName();
  const { userId, subscription, devices, changelog } = profile;
  const moved = movedAway(
    userId,
    changelog,
    devices.map((d) => d.device),
  );
  const known = subscription !== null || devices.length > 0 || changelog.length > 0;

  return (
    <article aria-labelledby="profile-title" data-testid="profile" data-complete="true">
      <h2 id="profile-title">{userId}</h2>
      {!known && <p>This workspace has never seen user {userId}.</p>}
      <SubscriptionSection userId={userId} subscription={subscription} onChanged={onChanged} />

      <section aria-labelledby="registered-title">
        <h3 id="registered-title">Push Registered For</h3>
        {devices.length === 0 && moved.length === 0 && <p>No device of this user has a push registration.</p>}
        <ul class="devices">
          {devices.map(({ device, delivery }) => {
            const reach = reachabilityOf(device, delivery, subscription);
            return (
              <li key={`${device.app_id}/${device.device_id}`} class="device" data-testid="device">
                <p class="registered-for">
                  <strong>{registeredFor(device, appName(device.app_id))}</strong>
                </p>
                <dl class="facts">
                  <dt>Device</dt>
                  <dd>{device.device_id}</dd>
                  <dt>Platform</dt>
                  <dd>
                    {PLATFORM_LABEL[device.platform]}
                    {device.os_version ? ` ${device.os_version}` : ''}
                  </dd>
                  <dt>Last session</dt>
                  <dd>{device.last_session_at ? formatAt(device.last_session_at) : 'never'}</dd>
                  <dt>Token</dt>
                  <dd class="token">{device.token ?? 'none'}</dd>
                  <dt>Delivery status</dt>
                  <dd>{delivery?.last_status ?? 'unused'}</dd>
                  <dt>Consecutive bounces</dt>
                  <dd>{delivery?.consecutive_bounces ?? 0}</dd>
                </dl>
                <p class={reach.reachable ? 'reason ok' : 'reason not'} data-testid="reason">
                  {reach.sentence}
                </p>
              </li>
            );
          })}
          {moved.map((m) => (
            <li key={`moved/${m.app_id}/${m.device_id}`} class="device" data-testid="device">
              <p class="registered-for">
                <strong>--</strong>
              </p>
              <dl class="facts">
                <dt>Device</dt>
                <dd>{m.device_id}</dd>
                <dt>App</dt>
                <dd>{appName(m.app_id)}</dd>
                <dt>Token</dt>
                <dd class="token">{m.token}</dd>
              </dl>
              <p class="reason not" data-testid="reason">
                {movedSentence(m)}
              </p>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="changelog-title">
        <h3 id="changelog-title">Push token changelog</h3>
        {changelog.length === 0 ? (
          <p>No token has moved to or from this user.</p>
        ) : (
          <table data-testid="changelog">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">App</th>
                <th scope="col">Device</th>
              </tr>
            </thead>
            <tbody>
              {changelog.map((entry, i) => (
                <tr key={i}>
                  <td>{formatAt(entry.at)}</td>
                  <td>{changelogSentence(entry, userId)}</td>
                  <td>{appName(entry.app_id)}</td>
                  <td>{entry.device_id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <p>
        <a href={hrefOf('test-send', { user: userId })}>Send a test push to {userId}</a>
      </p>
    </article>
  );
}

function SubscriptionSection(props: {
  userId: string;
  subscription: SubscriptionView | null;
  onChanged: () => Promise<void>;
}) {
  const { userId, subscription, onChanged } = props;
  const [status, setStatus] = useState<{ error: boolean; text: string } | null>(null);

  const change = async (event: Event) => {
    event.preventDefault();
    const wanted = ((event.currentTarget as HTMLFormElement).elements.namedItem('push_subscribe') as HTMLSelectElement)
      .value as PushSubscribe;
    setStatus({ error: false, text: 'Saving…' });
    try {
      await sendJson('PUT', serviceUrl('subscription-state', `/users/${segment(userId)}/subscription`), {
        push_subscribe: wanted,
      });
      // Accepted once Kafka has it; the profile shows it once subscription-state has applied it, and its history once
      // the published change is read back (the history trails the state by one consume): both, so the page never shows
      // the new state above the old history.
      await waitFor(async () => {
        const now = await getJson<SubscriptionView>(
          serviceUrl('subscription-state', `/users/${segment(userId)}/subscription`),
        ).catch(() => null);
        return now?.push_subscribe === wanted && now.history.at(-1)?.to === wanted;
      });
      await onChanged();
      setStatus({ error: false, text: `Changed to ${SUBSCRIPTION_LABEL[wanted]}.` });
    } catch (error) {
      setStatus({ error: true, text: (error as Error).message });
    }
  };

  return (
    <section aria-labelledby="subscription-title">
      <h3 id="subscription-title">Push subscription</h3>
      <p>
        State:{' '}
        <strong data-testid="subscription-state">
          {subscription ? SUBSCRIPTION_LABEL[subscription.push_subscribe] : 'Not known'}
        </strong>
        {subscription?.push_opted_in_at && <> · opted in at {formatAt(subscription.push_opted_in_at)}</>}
      </p>
      <form class="inline" onSubmit={change}>
        <label for="push_subscribe">Change to</label>
        <select id="push_subscribe" name="push_subscribe" value={subscription?.push_subscribe ?? 'subscribed'}>
          <option value="subscribed">Subscribed</option>
          <option value="opted_in">Opted-In</option>
          <option value="unsubscribed">Unsubscribed</option>
        </select>
        <button type="submit">Save</button>
        {status && (
          <span class={status.error ? 'error' : 'note'} role="status">
            {status.text}
          </span>
        )}
      </form>
      {subscription && subscription.history.length > 0 && (
        <table data-testid="subscription-history">
          <caption>History, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Through</th>
            </tr>
          </thead>
          <tbody>
            {subscription.history.map((h, i) => (
              <tr key={i}>
                <td>{formatAt(h.at)}</td>
                <td>{h.from ? SUBSCRIPTION_LABEL[h.from] : '—'}</td>
                <td>{SUBSCRIPTION_LABEL[h.to]}</td>
                <td>{sourceLabel(h.source)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

async function waitFor(done: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > until) throw new Error('saved, but subscription-state has not applied it yet: reload later');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
