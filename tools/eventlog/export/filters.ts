/** A device as analysts name it: `app_id:device_id` (the app may be left out: `device_id` alone matches every app). */
export interface DeviceRef {
  app_id: string | null;
  device_id: string;
}

/** Which decoded events an export keeps; an absent field keeps everything. */
export interface EventFilter {
  workspace?: string;
  user?: string;
  device?: DeviceRef;
  /** Record names (`TokenRegistered`, `PushBounced`, …). */
  types?: ReadonlySet<string>;
}

/** The decoded event as the codec gives it: the record name and its fields. */
export interface DecodedEvent {
  type: string;
  data: object;
}

/** `app:device` → both; `device` → any app. The first `:` separates them (app ids have none: they are in keys). */
export function parseDeviceRef(text: string): DeviceRef {
  const at = text.indexOf(':');
  const ref = at < 0 ? { app_id: null, device_id: text } : { app_id: text.slice(0, at), device_id: text.slice(at + 1) };
  if (ref.device_id === '' || ref.app_id === '')
    throw new Error(`expected app_id:device_id (or device_id alone), got ${JSON.stringify(text)}`);
  return ref;
}

type Fields = Record<string, unknown>;

/** The users an event names: its `user_id`, the `previous_user_id` it moved from, a user audience's ids. */
function usersOf(data: Fields): string[] {
  const users: string[] = [];
  for (const field of ['user_id', 'previous_user_id'])
    if (typeof data[field] === 'string') users.push(data[field] as string);
  const audience = data.audience as Fields | undefined;
  const userAudience = audience?.['push.dispatch.UserAudience'] as { user_ids?: string[] } | undefined;
  if (userAudience?.user_ids) users.push(...userAudience.user_ids);
  return users;
}

/** The devices an event names: its own, the one a token moved from or to (T2), a device audience's. */
function devicesOf(data: Fields): DeviceRef[] {
  const devices: DeviceRef[] = [];
  const app = typeof data.app_id === 'string' ? data.app_id : null;
  for (const field of ['device_id', 'moved_from_device_id', 'moved_to_device_id'])
    if (typeof data[field] === 'string') devices.push({ app_id: app, device_id: data[field] as string });
  const audience = data.audience as Fields | undefined;
  const deviceAudience = audience?.['push.dispatch.DeviceAudience'] as DeviceRef | undefined;
  if (deviceAudience) devices.push({ app_id: deviceAudience.app_id, device_id: deviceAudience.device_id });
  return devices;
}

/** True when the event passes every condition of the filter. */
export function matchesFilter(filter: EventFilter, event: DecodedEvent): boolean {
  if (filter.types && !filter.types.has(event.type)) return false;
  const data = event.data as Fields;
  if (filter.workspace !== undefined && data.workspace_id !== filter.workspace) return false;
  if (filter.user !== undefined && !usersOf(data).includes(filter.user)) return false;
  if (filter.device !== undefined) {
    const wanted = filter.device;
    const named = devicesOf(data).some(
      (d) => d.device_id === wanted.device_id && (wanted.app_id === null || d.app_id === wanted.app_id),
    );
    if (!named) return false;
  }
  return true;
}

/** True when the filter keeps everything (so the export need not look at fields). */
export const isEmptyFilter = (filter: EventFilter): boolean =>
  filter.workspace === undefined && filter.user === undefined && filter.device === undefined && !filter.types;
