import { type DeviceTokenEvent, unreachable } from '@push/contracts';

/** T3: one move of a token to or from a user. */
export interface ChangelogEntry {
  /** Unique per entry: the published event's id and the entry's position in it, so replays add nothing. */
  entryId: string;
  workspaceId: string;
  appId: string;
  deviceId: string;
  token: string;
  fromUserId: string | null;
  toUserId: string | null;
  at: number;
}

/** The changelog entries a published event stands for: every change of which user a sendable token belongs to. */
export function changelogEntriesOf(event: DeviceTokenEvent): ChangelogEntry[] {
  const { data } = event;
  const entry = (i: number, token: string, fromUserId: string | null, toUserId: string | null): ChangelogEntry => ({
    entryId: `${data.event_id}:${i}`,
    workspaceId: data.workspace_id,
    appId: data.app_id,
    deviceId: data.device_id,
    token,
    fromUserId,
    toUserId,
    at: data.occurred_at,
  });
  switch (event.type) {
    case 'TokenAssigned':
      return event.data.user_id === null ? [] : [entry(0, event.data.token, null, event.data.user_id)];
    case 'TokenReplaced':
      return event.data.user_id === null
        ? []
        : [
            entry(0, event.data.previous_token, event.data.user_id, null),
            entry(1, event.data.token, null, event.data.user_id),
          ];
    case 'TokenRemoved':
      return event.data.user_id === null ? [] : [entry(0, event.data.token, event.data.user_id, null)];
    case 'DeviceUserChanged':
      return event.data.token === null
        ? []
        : [entry(0, event.data.token, event.data.previous_user_id, event.data.user_id)];
    case 'TokenRenewed':
    case 'PushCapabilityChanged':
    case 'DeviceSessionRecorded':
    case 'UserFirstSeen':
      return [];
    default:
      return unreachable(event);
  }
}
