import { unreachable } from '@push/contracts';
import { type TokenRegistryInput, isIgnoredInput } from './token-registry';

/**
 * The longest token and ids (UTF-8 bytes) the read model can index. Postgres's btree entries hold at most 2704 bytes
 * (8 kB pages), and the widest keys are (workspace_id, app_id, token) in `token_holders` and `token_tombstones`: with
 * these limits at most 256 + 256 + 2048 bytes of data plus a few bytes of headers (about 2,590 in all), which fits; a
 * longer value would fail its batch every time (SQLSTATE 54000) instead of being dead-lettered. Real tokens are far
 * shorter: APNs 64 hex digits, FCM about 160 characters, a Web Push subscription a few hundred bytes.
 */
export const MAX_TOKEN_BYTES = 2048;
export const MAX_ID_BYTES = 256;

const isBlank = (value: string) => value.trim().length === 0;

function tooLong(field: string, value: string, max: number): string | null {
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes > max ? `${field} is longer than ${max} bytes (UTF-8): ${bytes} bytes` : null;
}

/** The problem with the user an event names as its device's user (stored and indexed), or null. */
function userProblem(userId: string | null, blank: string): string | null {
  if (userId === null) return null;
  return isBlank(userId) ? blank : tooLong('user_id', userId, MAX_ID_BYTES);
}

function tokenProblem(token: string): string | null {
  return isBlank(token) ? 'token is empty' : tooLong('token', token, MAX_TOKEN_BYTES);
}
const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && !isBlank(value);

/** Why a web token is not the JSON PushSubscription `{"endpoint","keys":{"p256dh","auth"}}` the contract requires; null if it is. */
export function pushSubscriptionProblem(token: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(token);
  } catch {
    return 'token of a WEB device is not JSON (expected a PushSubscription {"endpoint","keys":{"p256dh","auth"}})';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'token of a WEB device is not a PushSubscription object';
  const { endpoint, keys } = parsed as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
  if (!isNonEmptyString(endpoint)) return 'token of a WEB device has no endpoint';
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'token of a WEB device has an endpoint that is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `token of a WEB device has an endpoint with scheme ${url.protocol} (expected https:)`;
  if (typeof keys !== 'object' || keys === null) return 'token of a WEB device has no keys';
  if (!isNonEmptyString(keys.p256dh)) return 'token of a WEB device has no keys.p256dh';
  if (!isNonEmptyString(keys.auth)) return 'token of a WEB device has no keys.auth';
  return null;
}

/**
 * Contract checks the schema cannot express: ids and tokens must not be empty nor longer than the read model can index,
 * a WEB token must be a PushSubscription. A problem sends the event to the dead-letter topic with this reason; the
 * partition goes on.
 */
export function inputProblem(input: TokenRegistryInput): string | null {
  if (isIgnoredInput(input)) return null;
  const { data } = input;
  for (const field of ['event_id', 'workspace_id', 'app_id', 'device_id'] as const) {
    if (isBlank(data[field])) return `${field} is empty`;
  }
  for (const field of ['workspace_id', 'app_id', 'device_id'] as const) {
    const problem = tooLong(field, data[field], MAX_ID_BYTES);
    if (problem) return problem;
  }
  switch (input.type) {
    case 'TokenRegistered':
      return (
        userProblem(input.data.user_id, 'user_id is empty (an anonymous device has user_id null)') ??
        tokenProblem(input.data.token) ??
        (input.data.platform === 'WEB' ? pushSubscriptionProblem(input.data.token) : null)
      );
    case 'SessionStarted':
      return userProblem(input.data.user_id, 'user_id is empty (an anonymous device has user_id null)');
    case 'ChangeUser':
      return userProblem(input.data.user_id, 'user_id is empty');
    case 'TokenInvalidated':
      return tokenProblem(input.data.token);
    case 'UserLoggedOut':
    case 'PushPermissionChanged':
    case 'AppUninstalled':
    case 'DeliveryStatusChanged':
    case 'UninstallDetected':
    case 'AppProviderFlagged':
    case 'AppProviderCleared':
      return null;
    default:
      return unreachable(input);
  }
}
