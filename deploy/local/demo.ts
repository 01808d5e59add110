// `npm start -- --demo`: a workspace with people in it, and numbers that move. Publishes through the topics, as the
// SDK gateway and an outside sender would, to workspace `demo` (apps ios-app and android-app of the demo apps file):
// once, a population of 120 users and the support agent's cases — kim on a phone alex used first, her tablet with
// notifications turned off in the settings, lee's token that bounced Unregistered — then, every second until stopped,
// a few new sessions, registrations, permission changes and preference changes, so segment sizes change as one looks.
import { createHash, randomUUID } from 'node:crypto';
import { MessageKeys, Platform, PushPermission, SdkDeviceEvent, SdkUserEvent, Topics } from '@push/contracts';
import { EventProducer } from '@push/event-bus';

const WS = 'demo';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const producer = new EventProducer({
  brokers,
  clientId: 'demo',
  topicPrefix: process.env.KAFKA_TOPIC_PREFIX ?? '',
});

const hex = (seed: string, length: number) =>
  createHash('sha256').update(seed).digest('hex').repeat(3).slice(0, length);
const tokenOf = (platform: Platform, seed: string) =>
  platform === 'IOS' ? hex(seed, 64) : `${hex(seed, 22)}:APA91b${hex(`${seed}f`, 134)}`;
const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)];

interface DemoDevice {
  app_id: string;
  device_id: string;
  platform: Platform;
  os_version: string;
}
const deviceOf = (n: number): DemoDevice =>
  n % 2 === 0
    ? { app_id: 'ios-app', device_id: `iphone-${n}`, platform: 'IOS', os_version: pick(['16.7', '17.4', '18.1']) }
    : { app_id: 'android-app', device_id: `android-${n}`, platform: 'ANDROID', os_version: pick(['12', '13', '14']) };

const base = (d: DemoDevice, at: number) => ({
  event_id: randomUUID(),
  workspace_id: WS,
  app_id: d.app_id,
  device_id: d.device_id,
  occurred_at: at,
});
const registered = (d: DemoDevice, at: number, user_id: string | null, permission: PushPermission): SdkDeviceEvent => ({
  type: 'TokenRegistered',
  data: {
    ...base(d, at),
    platform: d.platform,
    token: tokenOf(d.platform, `${d.device_id}`),
    os_version: d.os_version,
    push_permission: permission,
    user_id,
  },
});
const session = (d: DemoDevice, at: number, user_id: string, permission: PushPermission): SdkDeviceEvent => ({
  type: 'SessionStarted',
  data: { ...base(d, at), platform: d.platform, os_version: d.os_version, push_permission: permission, user_id },
});
const permissionChanged = (d: DemoDevice, at: number, permission: PushPermission): SdkDeviceEvent => ({
  type: 'PushPermissionChanged',
  data: {
    ...base(d, at),
    platform: d.platform,
    os_version: d.os_version,
    push_permission: permission,
    prompted: false,
  },
});
const preference = (user_id: string, at: number, state: 'SUBSCRIBED' | 'OPTED_IN' | 'UNSUBSCRIBED'): SdkUserEvent => ({
  type: 'PushSubscriptionSet',
  data: { event_id: randomUUID(), workspace_id: WS, user_id, occurred_at: at, state, source: 'SDK' },
});

const publishDevices = (events: SdkDeviceEvent[]) =>
  producer.publish(
    Topics.DeviceEvents,
    events.map((event) => ({ key: MessageKeys.device(WS, event.data.app_id, event.data.device_id), event })),
  );
const publishUsers = (events: SdkUserEvent[]) =>
  producer.publish(
    Topics.UserEvents,
    events.map((event) => ({ key: MessageKeys.user(WS, event.data.user_id), event })),
  );

const userOf = (n: number) => `user-${String(n).padStart(3, '0')}`;
const PERMISSIONS: PushPermission[] = [
  'AUTHORIZED',
  'AUTHORIZED',
  'AUTHORIZED',
  'DENIED',
  'NOT_DETERMINED',
  'PROVISIONAL',
];

async function seed() {
  const hourAgo = Date.now() - 3_600_000;
  const population: SdkDeviceEvent[] = [];
  for (let n = 1; n <= 120; n++)
    population.push(registered(deviceOf(n), hourAgo + n * 1000, userOf(n), pick(PERMISSIONS)));
  const shared: DemoDevice = { app_id: 'ios-app', device_id: 'shared-iphone', platform: 'IOS', os_version: '17.4' };
  const tablet: DemoDevice = { app_id: 'android-app', device_id: 'kim-tablet', platform: 'ANDROID', os_version: '14' };
  const leePhone: DemoDevice = { app_id: 'ios-app', device_id: 'lee-iphone', platform: 'IOS', os_version: '17.4' };
  population.push(
    registered(shared, hourAgo, 'alex', 'AUTHORIZED'),
    { type: 'ChangeUser', data: { ...base(shared, hourAgo + 600_000), user_id: 'kim', previous_user_id: 'alex' } },
    registered(tablet, hourAgo + 60_000, 'kim', 'AUTHORIZED'),
    permissionChanged(tablet, hourAgo + 1_200_000, 'DENIED'),
    registered(leePhone, hourAgo, 'lee', 'AUTHORIZED'),
  );
  await publishDevices(population);
  // An outside sender's bounce: lee's app was deleted (B3 → T8 in token-registry).
  await producer.publish(Topics.DispatchOutcomes, [
    {
      key: MessageKeys.device(WS, leePhone.app_id, leePhone.device_id),
      event: {
        type: 'PushBounced',
        data: {
          ...base(leePhone, hourAgo + 1_800_000),
          dispatch_id: null,
          user_id: 'lee',
          platform: 'IOS',
          token: tokenOf('IOS', leePhone.device_id),
          provider_reason: 'Unregistered',
          provider_timestamp: hourAgo + 1_800_000,
        },
      },
    },
  ]);
}

let next = 121;
async function tick() {
  const now = Date.now();
  const device: SdkDeviceEvent[] = [];
  const users: SdkUserEvent[] = [];
  for (let k = 0; k < 3; k++) {
    const n = 1 + Math.floor(Math.random() * (next - 1));
    const roll = Math.random();
    if (roll < 0.5) device.push(session(deviceOf(n), now, userOf(n), pick(PERMISSIONS)));
    else if (roll < 0.75) device.push(permissionChanged(deviceOf(n), now, pick(PERMISSIONS)));
    else users.push(preference(userOf(n), now, pick(['SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED'] as const)));
  }
  if (Math.random() < 0.3) {
    device.push(registered(deviceOf(next), now, userOf(next), pick(PERMISSIONS)));
    next++;
  }
  if (device.length) await publishDevices(device);
  if (users.length) await publishUsers(users);
}

let stopped = false;
async function main() {
  await seed();
  console.log('demo: 120 users and kim, alex and lee published to workspace demo; live events every second');
  while (!stopped) {
    await tick().catch((error: unknown) => console.error(`demo: ${(error as Error).message}`));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await producer.disconnect();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stopped = true));
main().catch((error: unknown) => {
  console.error(`demo: ${(error as Error).message}`);
  process.exit(1);
});
