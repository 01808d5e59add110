import type { DataSource, EntityManager } from 'typeorm';
import type { DispatchOutcomeEvent, Platform, PushMessage } from '@push/contracts';
import { BulkRows } from '@push/service-kit';
import {
  type DispatchCounts,
  type SendTarget,
  type TargetOutcome,
  dispatchCompletedOf,
  outcomeEventOf,
} from '../domain/outcomes';

/** A batch of one dispatch's devices of one app, claimed: their attempts are committed, the provider not yet called. */
export interface ClaimedBatch {
  dispatchId: string;
  workspaceId: string;
  appId: string;
  message: PushMessage;
  targets: SendTarget[];
}

/**
 * Claims up to `size` pending devices of one (dispatch, app) for the worker `instance` and commits their attempts
 * (`in_flight`, `claimed_by`) before anything is sent: from then on no replica and no redelivery can claim them again
 * (D5). `FOR UPDATE SKIP LOCKED`: replicas claiming at once take different devices, none waits for another.
 */
export async function claimBatch(
  dataSource: DataSource,
  instance: number,
  size: number,
  now: number,
): Promise<ClaimedBatch | null> {
  return dataSource.transaction(async (tx) => {
    const [next]: { dispatch_id: string; app_id: string }[] = await tx.query(
      `select dispatch_id, app_id from dispatch_targets where state = 'pending' limit 1 for update skip locked`,
    );
    if (!next) return null;
    const rows: {
      device_id: string;
      workspace_id: string;
      user_id: string | null;
      platform: Platform;
      token: string;
    }[] = await tx.query(
      // As a SELECT: TypeORM answers a bare UPDATE … RETURNING with [rows, count] instead of the rows.
      `with claimed as (
         select dispatch_id, app_id, device_id from dispatch_targets
         where dispatch_id = $1 and app_id = $2 and state = 'pending'
         order by device_id limit $3 for update skip locked),
       attempted as (
         update dispatch_targets t set state = 'in_flight', claimed_by = $4, attempt_at_ms = $5
         from claimed c where t.dispatch_id = c.dispatch_id and t.app_id = c.app_id and t.device_id = c.device_id
         returning t.device_id, t.workspace_id, t.user_id, t.platform, t.token)
       select * from attempted`,
      [next.dispatch_id, next.app_id, size, instance, now],
    );
    await tx.query(`update dispatches set status = 'running' where dispatch_id = $1 and status = 'pending'`, [
      next.dispatch_id,
    ]);
    const [{ message }]: { message: PushMessage }[] = await tx.query(
      'select message from dispatches where dispatch_id = $1',
      [next.dispatch_id],
    );
    return {
      dispatchId: next.dispatch_id,
      workspaceId: rows[0].workspace_id,
      appId: next.app_id,
      message,
      targets: rows
        .sort((a, b) => (a.device_id < b.device_id ? -1 : 1))
        .map((r) => ({
          dispatch_id: next.dispatch_id,
          workspace_id: r.workspace_id,
          app_id: next.app_id,
          device_id: r.device_id,
          user_id: r.user_id,
          platform: r.platform,
          token: r.token,
        })),
    };
  });
}

interface OutcomeRow {
  app_id: string;
  device_id: string;
  state: 'sent' | 'bounced' | 'failed';
  reason: string | null;
  failure_category: string | null;
  provider_message_id: string | null;
}

const OUTCOMES = new BulkRows<OutcomeRow>({
  app_id: 'text',
  device_id: 'text',
  state: 'text',
  reason: 'text',
  failure_category: 'text',
  provider_message_id: 'text',
});

const stateOf = (o: TargetOutcome): OutcomeRow['state'] => o.kind;

/** What a committed record of outcomes publishes, and what it counted. */
export interface RecordedOutcomes {
  events: { key: string; event: DispatchOutcomeEvent; completion: boolean }[];
  counts: { sent: number; bounced: number; failed: number };
  completed: boolean;
}

/**
 * Records the outcomes of one dispatch's attempts by `instance`, in the caller's transaction: only attempts still
 * `in_flight` for that instance change (another replica may have declared them unknown meanwhile: then its outcome
 * stands), the dispatch's counts grow, and when no device is left the dispatch completes. The dispatch row is locked
 * first, so that of two batches finishing at once exactly one sees the last device done. Returns the records to
 * publish (one per device whose outcome this call recorded, and `DispatchCompleted`).
 */
export async function recordOutcomes(
  tx: EntityManager,
  dispatchId: string,
  instance: number,
  results: readonly { target: SendTarget; outcome: TargetOutcome }[],
  now: number,
): Promise<RecordedOutcomes> {
  await tx.query('select 1 from dispatches where dispatch_id = $1 for update', [dispatchId]);
  const rows: OutcomeRow[] = results.map(({ target, outcome }) => ({
    app_id: target.app_id,
    device_id: target.device_id,
    state: stateOf(outcome),
    reason: outcome.kind === 'bounced' ? outcome.providerReason : outcome.kind === 'failed' ? outcome.reason : null,
    failure_category: outcome.kind === 'failed' ? outcome.category : null,
    provider_message_id: outcome.kind === 'sent' ? outcome.providerMessageId : null,
  }));
  const changed: { app_id: string; device_id: string }[] = await tx.query(
    `with recorded as (
       update dispatch_targets t set state = r.state, reason = r.reason, failure_category = r.failure_category,
         provider_message_id = r.provider_message_id, outcome_at_ms = $${OUTCOMES.fields.length + 2}
       from ${OUTCOMES.unnest()}
       where t.dispatch_id = $${OUTCOMES.fields.length + 1} and t.app_id = r.app_id and t.device_id = r.device_id
         and t.state = 'in_flight' and t.claimed_by = $${OUTCOMES.fields.length + 3}
       returning t.app_id, t.device_id)
     select * from recorded`,
    [...OUTCOMES.arrays(rows), dispatchId, now, instance],
  );
  const recorded = new Set(changed.map((c) => `${c.app_id}\u0000${c.device_id}`));
  const kept = results.filter(({ target }) => recorded.has(`${target.app_id}\u0000${target.device_id}`));
  const counts = { sent: 0, bounced: 0, failed: 0 };
  for (const { outcome } of kept) counts[outcome.kind]++;
  const events: RecordedOutcomes['events'] = kept.map(({ target, outcome }) => ({
    key: `${target.workspace_id}:${target.app_id}:${target.device_id}`,
    event: outcomeEventOf(target, outcome, now),
    completion: false,
  }));
  if (kept.length === 0) return { events, counts, completed: false };
  const [dispatch]: (Omit<DispatchCounts, 'skipped'> & {
    workspace_id: string;
    remaining: number;
    skipped_unsubscribed: number;
    skipped_not_push_enabled: number;
    skipped_suppressed: number;
  })[] = await tx.query(
    `with counted as (
       update dispatches set sent = sent + $2, bounced = bounced + $3, failed = failed + $4,
         remaining = remaining - $5,
         status = case when remaining - $5 = 0 then 'completed' else 'running' end,
         completed_at_ms = case when remaining - $5 = 0 then $6::bigint end
       where dispatch_id = $1
       returning workspace_id, targeted, sent, bounced, failed, remaining, skipped_unsubscribed,
         skipped_not_push_enabled, skipped_suppressed)
     select * from counted`,
    [dispatchId, counts.sent, counts.bounced, counts.failed, kept.length, now],
  );
  const completed = dispatch.remaining === 0;
  if (completed)
    events.push({
      key: dispatchId,
      event: dispatchCompletedOf(
        { dispatch_id: dispatchId, workspace_id: dispatch.workspace_id },
        {
          targeted: dispatch.targeted,
          sent: dispatch.sent,
          bounced: dispatch.bounced,
          failed: dispatch.failed,
          skipped: {
            unsubscribed: dispatch.skipped_unsubscribed,
            not_push_enabled: dispatch.skipped_not_push_enabled,
            suppressed: dispatch.skipped_suppressed,
          },
        },
        now,
      ),
      completion: true,
    });
  return { events, counts, completed };
}

/** The attempts of `instance` still in flight, per dispatch: what a replica that died left without an outcome. */
export async function attemptsInFlight(tx: EntityManager, instance: number): Promise<Map<string, SendTarget[]>> {
  const rows: (SendTarget & { dispatch_id: string })[] = await tx.query(
    `select dispatch_id, workspace_id, app_id, device_id, user_id, platform, token from dispatch_targets
     where state = 'in_flight' and claimed_by = $1
     order by dispatch_id, app_id, device_id for update`,
    [instance],
  );
  const byDispatch = new Map<string, SendTarget[]>();
  for (const row of rows) {
    let list = byDispatch.get(row.dispatch_id);
    if (!list) byDispatch.set(row.dispatch_id, (list = []));
    list.push(row);
  }
  return byDispatch;
}

/** The worker instances with attempts in flight, other than `self`. */
export async function instancesInFlight(dataSource: DataSource, self: number): Promise<number[]> {
  const rows: { claimed_by: number }[] = await dataSource.query(
    `select distinct claimed_by from dispatch_targets where state = 'in_flight' and claimed_by <> $1`,
    [self],
  );
  return rows.map((r) => r.claimed_by);
}

/**
 * Completes dispatches that have nothing left to send and no completion yet — those whose every device was skipped
 * (or whose audience was empty) — in the caller's transaction, returning their `DispatchCompleted` records. Locked
 * `SKIP LOCKED`: of several replicas, one completes each.
 */
export async function completeFinished(
  tx: EntityManager,
  now: number,
  limit = 100,
): Promise<{ key: string; event: DispatchOutcomeEvent }[]> {
  const rows: (Omit<DispatchCounts, 'skipped'> & {
    dispatch_id: string;
    workspace_id: string;
    skipped_unsubscribed: number;
    skipped_not_push_enabled: number;
    skipped_suppressed: number;
  })[] = await tx.query(
    `select dispatch_id, workspace_id, targeted, sent, bounced, failed, skipped_unsubscribed, skipped_not_push_enabled,
       skipped_suppressed
     from dispatches where status <> 'completed' and remaining = 0 limit $1 for update skip locked`,
    [limit],
  );
  if (rows.length === 0) return [];
  await tx.query(
    `update dispatches set status = 'completed', completed_at_ms = $2 where dispatch_id = any($1::text[])`,
    [rows.map((r) => r.dispatch_id), now],
  );
  return rows.map((r) => ({
    key: r.dispatch_id,
    event: dispatchCompletedOf(
      r,
      {
        targeted: r.targeted,
        sent: r.sent,
        bounced: r.bounced,
        failed: r.failed,
        skipped: {
          unsubscribed: r.skipped_unsubscribed,
          not_push_enabled: r.skipped_not_push_enabled,
          suppressed: r.skipped_suppressed,
        },
      },
      now,
    ),
  }));
}
