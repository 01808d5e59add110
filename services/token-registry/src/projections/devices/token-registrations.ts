import type { EntityManager } from 'typeorm';
import { BulkRows } from '@push/service-kit';
import type { RegisteredToken } from '../../domain/token-registry';
import { TOKEN_KEYS, TokenKey } from './token-holders';

/** A `token_registrations` row (T2): a token string's latest registration, by any device of the app. */
interface RegistrationRecord extends TokenKey {
  device_id: string;
  /** `occurred_at` in epoch milliseconds, as the domain compares it; pg gives bigint back as a string. */
  registered_at_ms: string;
  event_id: string;
}

const REGISTRATIONS = new BulkRows<RegistrationRecord>({
  workspace_id: 'text',
  app_id: 'text',
  token: 'text',
  device_id: 'text',
  registered_at_ms: 'bigint',
  event_id: 'text',
});

const REGISTRATIONS_OF = `select ${REGISTRATIONS.columns()} from token_registrations
  where (${TOKEN_KEYS.columns()}) in (select * from ${TOKEN_KEYS.unnest()})`;
const UPSERT = `${REGISTRATIONS.insert('token_registrations', REGISTRATIONS.unnest())}
  ${REGISTRATIONS.onConflictUpdate(['workspace_id', 'app_id', 'token'])}`;

/**
 * The latest registrations of the batch's tokens. Read after the claims and the device locks: a concurrent batch
 * registering one of these tokens has committed by then (it held the claim or the holder's lock), so its registration
 * is seen here.
 */
export async function loadRegistrations(tx: EntityManager, tokens: readonly TokenKey[]): Promise<RegisteredToken[]> {
  if (!tokens.length) return [];
  const rows: RegistrationRecord[] = await tx.query(REGISTRATIONS_OF, TOKEN_KEYS.arrays(tokens));
  return rows.map((row) => ({
    workspaceId: row.workspace_id,
    appId: row.app_id,
    token: row.token,
    registration: { deviceId: row.device_id, at: Number(row.registered_at_ms), eventId: row.event_id },
  }));
}

/** Writes the registrations the batch made the latest of their tokens (each replaces the token's previous one). */
export async function saveRegistrations(tx: EntityManager, registered: readonly RegisteredToken[]): Promise<void> {
  if (!registered.length) return;
  const records = registered.map(({ workspaceId, appId, token, registration }) => ({
    workspace_id: workspaceId,
    app_id: appId,
    token,
    device_id: registration.deviceId,
    registered_at_ms: String(registration.at),
    event_id: registration.eventId,
  }));
  await tx.query(UPSERT, REGISTRATIONS.arrays(records));
}
