import type { SubscriptionInput } from './facts';

/**
 * The longest `workspace_id` / `user_id` (UTF-8 bytes) subscription-state stores: the same limit as token-registry's,
 * for the same reason (the read model's primary key). `/users/track` refuses a longer `external_id` with it.
 */
export const MAX_ID_BYTES = 256;

/** Why an id cannot be a user's (or workspace's) id here, or null; `field` names it in the reason. */
export function idProblem(field: string, value: string): string | null {
  if (value.trim().length === 0) return `${field} is empty`;
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes > MAX_ID_BYTES ? `${field} is longer than ${MAX_ID_BYTES} bytes (UTF-8): ${bytes} bytes` : null;
}

/**
 * Contract checks the schema cannot express, for the events the rules read (a problem dead-letters the event with
 * this reason): the user and workspace of a PushSubscriptionSet — written by the SDK gateway and by `/users/track` —
 * must be ids the read model can hold. token-registry's records are checked by token-registry before it publishes
 * them; the ids of its UserFirstSeen are checked again here all the same, as they become a row.
 */
export function inputProblem(input: SubscriptionInput): string | null {
  switch (input.type) {
    case 'PushSubscriptionSet':
    case 'UserFirstSeen':
      return idProblem('workspace_id', input.data.workspace_id) ?? idProblem('user_id', input.data.user_id);
    default:
      return null;
  }
}
