import { unreachable } from './device-state';
import type { TokenRegistryInput } from './token-registry';

const isBlank = (value: string) => value.trim().length === 0;
const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && !isBlank(value);

/** Why a web token is not the JSON PushSubscription `{"endpoint","keys":{"p256dh","auth"}}` the contract requires; null if it is. */
export function pushSubscriptionProblem(token: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(token);
  } catch {
    return 'token of a WEB device is not JSON (expected a PushSubscription {"endpoint","keys":{"p256dh","auth"}})';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'token of a WEB device is not a PushSubscription object';
  const { endpoint, keys } = parsed as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
  if (!isNonEmptyString(endpoint)) return 'token of a WEB device has no endpoint';
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'token of a WEB device has an endpoint that is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `token of a WEB device has an endpoint with scheme ${url.protocol} (expected https:)`;
  if (typeof keys !== 'object' || keys === null) return 'token of a WEB device has no keys';
  if (!isNonEmptyString(keys.p256dh)) return 'token of a WEB device has no keys.p256dh';
  if (!isNonEmptyString(keys.auth)) return 'token of a WEB device has no keys.auth';
  return null;
}

/**
 * Contract checks the schema cannot express: ids and tokens must not be empty, a WEB token must be a PushSubscription.
 * A problem sends the event to the dead-letter topic with this reason; the partition goes on.
 */
export function inputProblem(input: TokenRegistryInput): string | null {
  const { data } = input;
  for (const field of ['event_id', 'workspace_id', 'app_id', 'device_id'] as const) {
    if (isBlank(data[field])) return `${field} is empty`;
  }
  switch (input.type) {
    case 'TokenRegistered':
      if (input.data.user_id !== null && isBlank(input.data.user_id)) return 'user_id is empty (an anonymous device has user_id null)';
      if (isBlank(input.data.token)) return 'token is empty';
      return input.data.platform === 'WEB' ? pushSubscriptionProblem(input.data.token) : null;
    case 'SessionStarted':
      return input.data.user_id !== null && isBlank(input.data.user_id) ? 'user_id is empty (an anonymous device has user_id null)' : null;
    case 'ChangeUser':
      return isBlank(input.data.user_id) ? 'user_id is empty' : null;
    case 'TokenInvalidated':
      return isBlank(input.data.token) ? 'token is empty' : null;
    case 'UserLoggedOut':
    case 'PushPermissionChanged':
    case 'AppUninstalled':
      return null;
    default:
      return unreachable(input);
  }
}
