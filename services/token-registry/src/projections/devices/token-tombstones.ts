import type { EntityManager } from 'typeorm';
import { BulkRows } from '@push/service-kit';
import type { TombstonedToken } from '../../domain/token-registry';
import { TOKEN_KEYS, TokenKey } from './token-holders';

/** A `token_tombstones` row (T8) as written: times as ISO-8601 strings, which Postgres reads as timestamptz. */
interface TombstoneRecord extends TokenKey {
  provider_reason: string;
  provider_timestamp: string | null;
  invalidated_at: string;
}

/** …and as read back: pg gives timestamptz as `Date`. */
type StoredTombstone = Omit<TombstoneRecord, 'provider_timestamp' | 'invalidated_at'> & {
  provider_timestamp: Date | null;
  invalidated_at: Date;
};

const TOMBSTONES = new BulkRows<TombstoneRecord>({
  workspace_id: 'text',
  app_id: 'text',
  token: 'text',
  provider_reason: 'text',
  provider_timestamp: 'timestamptz',
  invalidated_at: 'timestamptz',
});

const TOMBSTONES_OF = `select ${TOMBSTONES.columns()} from token_tombstones
  where (${TOKEN_KEYS.columns()}) in (select * from ${TOKEN_KEYS.unnest()})`;
const UPSERT = `${TOMBSTONES.insert('token_tombstones', TOMBSTONES.unnest())}
  ${TOMBSTONES.onConflictUpdate(['workspace_id', 'app_id', 'token'])}`;

/** The tombstones of the batch's tokens. */
export async function loadTombstones(tx: EntityManager, tokens: readonly TokenKey[]): Promise<TombstonedToken[]> {
  if (!tokens.length) return [];
  const rows: StoredTombstone[] = await tx.query(TOMBSTONES_OF, TOKEN_KEYS.arrays(tokens));
  return rows.map((row) => ({
    workspaceId: row.workspace_id,
    appId: row.app_id,
    token: row.token,
    tombstone: {
      providerReason: row.provider_reason,
      providerTimestamp: row.provider_timestamp?.getTime() ?? null,
      invalidatedAt: row.invalidated_at.getTime(),
    },
  }));
}

/** Writes the tombstones the batch set (each replaces the token's previous one). */
export async function saveTombstones(tx: EntityManager, tombstoned: readonly TombstonedToken[]): Promise<void> {
  if (!tombstoned.length) return;
  const records = tombstoned.map(({ workspaceId, appId, token, tombstone }) => ({
    workspace_id: workspaceId,
    app_id: appId,
    token,
    provider_reason: tombstone.providerReason,
    provider_timestamp:
      tombstone.providerTimestamp === null ? null : new Date(tombstone.providerTimestamp).toISOString(),
    invalidated_at: new Date(tombstone.invalidatedAt).toISOString(),
  }));
  await tx.query(UPSERT, TOMBSTONES.arrays(records));
}
