import { type DispatchCompleted, type DispatchOutcomeEvent, Topics } from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import { BulkRows, ProjectionContext, ProjectionController, ProjectionHandler } from '@push/service-kit';
import type { EntityManager } from 'typeorm';
import type { DeviceOutcomeEvent } from '../../domain/outcomes';
import { lockDispatches } from './dispatch-locks';

type Outcomes = typeof Topics.DispatchOutcomes;

export const OUTCOMES_GROUP = 'dispatcher.outcomes';

/** A device outcome as the read model stores it. */
export interface LoggedOutcome {
  dispatch_id: string;
  app_id: string;
  device_id: string;
  workspace_id: string;
  user_id: string | null;
  platform: string;
  state: 'sent' | 'bounced' | 'failed';
  reason: string | null;
  failure_category: string | null;
  provider_message_id: string | null;
  outcome_at_ms: number;
}

export const LOGGED = new BulkRows<LoggedOutcome>({
  dispatch_id: 'text',
  app_id: 'text',
  device_id: 'text',
  workspace_id: 'text',
  user_id: 'text',
  platform: 'text',
  state: 'text',
  reason: 'text',
  failure_category: 'text',
  provider_message_id: 'text',
  outcome_at_ms: 'bigint',
});

export function loggedOutcomeOf(event: DeviceOutcomeEvent): LoggedOutcome {
  const d = event.data;
  return {
    dispatch_id: d.dispatch_id!,
    app_id: d.app_id,
    device_id: d.device_id,
    workspace_id: d.workspace_id,
    user_id: d.user_id,
    platform: d.platform,
    state: event.type === 'PushSent' ? 'sent' : event.type === 'PushBounced' ? 'bounced' : 'failed',
    reason:
      event.type === 'PushBounced'
        ? event.data.provider_reason
        : event.type === 'PushFailed'
          ? event.data.reason
          : null,
    failure_category: event.type === 'PushFailed' ? event.data.category : null,
    provider_message_id: event.type === 'PushSent' ? event.data.provider_message_id : null,
    outcome_at_ms: d.occurred_at,
  };
}

const key = (o: { dispatch_id: string; app_id: string; device_id: string }) =>
  `${o.dispatch_id}\u0000${o.app_id}\u0000${o.device_id}`;

/**
 * The dispatcher's own `dispatch.outcomes.v1`, read back: the topic is the durable record of what was sent. While the
 * read model is the one that published them, every outcome is already recorded (the worker records before it
 * publishes) and a batch costs one lookup. When the read model is rebuilt from the topics, a request may be applied
 * before or after its outcomes: an outcome of a recorded dispatch's device takes its place (a pending device is not
 * sent), an outcome of a dispatch not recorded yet waits in `logged_outcomes` for it, and a `DispatchCompleted`
 * completes the dispatch with the published counts (its devices still pending are not sent). Completing a dispatch
 * whose devices all have outcomes is left to the worker or to the published completion. The worker starts sending only once
 * this projection has applied the topic up to where it ended at the worker's start (`OutcomesCatchUp`), so no device
 * with an outcome on the topic is sent again (D5).
 */
@ProjectionController(OUTCOMES_GROUP)
export class LoggedOutcomesProjection {
  @ProjectionHandler(Topics.DispatchOutcomes)
  async apply(consumed: ConsumedEvent<Outcomes>[], { tx }: ProjectionContext): Promise<void> {
    const events = consumed.map((c) => c.event).filter((e) => e.data.dispatch_id !== null);
    await lockDispatches(
      tx,
      events.map((e) => e.data.dispatch_id!),
    );
    const devices = events.filter((e): e is DeviceOutcomeEvent => e.type !== 'DispatchCompleted').map(loggedOutcomeOf);
    const completions = events
      .filter((e): e is Extract<DispatchOutcomeEvent, { type: 'DispatchCompleted' }> => e.type === 'DispatchCompleted')
      .map((e) => e.data);
    if (devices.length > 0) await applyDeviceOutcomes(tx, devices);
    for (const completion of completions) await applyCompletion(tx, completion);
  }
}

async function applyDeviceOutcomes(tx: EntityManager, outcomes: LoggedOutcome[]): Promise<void> {
  const known: { dispatch_id: string; app_id: string; device_id: string; state: string; reason: string | null }[] =
    await tx.query(
      `select t.dispatch_id, t.app_id, t.device_id, t.state, t.reason from dispatch_targets t
       join ${LOGGED.unnest()} on t.dispatch_id = r.dispatch_id and t.app_id = r.app_id and t.device_id = r.device_id`,
      LOGGED.arrays(outcomes),
    );
  const targets = new Map(known.map((k) => [key(k), k]));
  // The common case: the outcomes of this read model's own sends, all recorded already.
  if (known.length === outcomes.length && known.every((k) => FINAL.has(k.state))) return;
  const recorded: { dispatch_id: string }[] = await tx.query(
    'select dispatch_id from dispatches where dispatch_id = any($1::text[])',
    [[...new Set(outcomes.map((o) => o.dispatch_id))]],
  );
  const dispatches = new Set(recorded.map((r) => r.dispatch_id));
  const waiting = outcomes.filter((o) => !targets.has(key(o)) && !dispatches.has(o.dispatch_id));
  if (waiting.length > 0)
    await tx.query(
      `${LOGGED.insert('logged_outcomes', LOGGED.unnest())} on conflict do nothing`,
      LOGGED.arrays(waiting),
    );
  for (const outcome of outcomes) {
    const target = targets.get(key(outcome));
    if (target ? !FINAL.has(target.state) : dispatches.has(outcome.dispatch_id))
      await takeOutcome(tx, outcome, target ?? null);
  }
}

const FINAL = new Set(['sent', 'bounced', 'failed', 'in_flight']);

/**
 * A published outcome of a recorded dispatch's device that has none here (pending, skipped by this read model's own
 * resolution, or not among its targets): the log is the truth, so the device takes it, counted in its dispatch, and is
 * not sent.
 */
async function takeOutcome(
  tx: EntityManager,
  o: LoggedOutcome,
  target: { state: string; reason: string | null } | null,
): Promise<void> {
  await tx.query('select 1 from dispatches where dispatch_id = $1 for update', [o.dispatch_id]);
  await tx.query(
    `insert into dispatch_targets (dispatch_id, app_id, device_id, workspace_id, user_id, platform, token, state,
       reason, failure_category, provider_message_id, outcome_at_ms)
     values ($1, $2, $3, $4, $5, $6, null, $7, $8, $9, $10, $11)
     on conflict (dispatch_id, app_id, device_id) do update set state = excluded.state, reason = excluded.reason,
       failure_category = excluded.failure_category, provider_message_id = excluded.provider_message_id,
       outcome_at_ms = excluded.outcome_at_ms, token = null`,
    [
      o.dispatch_id,
      o.app_id,
      o.device_id,
      o.workspace_id,
      o.user_id,
      o.platform,
      o.state,
      o.reason,
      o.failure_category,
      o.provider_message_id,
      o.outcome_at_ms,
    ],
  );
  const skipped = target?.state === 'skipped' ? target.reason : null;
  await tx.query(
    `update dispatches set sent = sent + $2, bounced = bounced + $3, failed = failed + $4,
       targeted = targeted + $5, remaining = remaining - $6,
       skipped_unsubscribed = skipped_unsubscribed - $7, skipped_not_push_enabled = skipped_not_push_enabled - $8,
       skipped_suppressed = skipped_suppressed - $9
     where dispatch_id = $1`,
    [
      o.dispatch_id,
      o.state === 'sent' ? 1 : 0,
      o.state === 'bounced' ? 1 : 0,
      o.state === 'failed' ? 1 : 0,
      target === null ? 1 : 0,
      target?.state === 'pending' ? 1 : 0,
      skipped === 'unsubscribed' ? 1 : 0,
      skipped === 'not_push_enabled' ? 1 : 0,
      skipped === 'suppressed' ? 1 : 0,
    ],
  );
}

/** A published completion: the dispatch is completed with its published counts; devices still pending are not sent. */
async function applyCompletion(tx: EntityManager, c: DispatchCompleted): Promise<void> {
  const [dispatch]: { status: string }[] = await tx.query(
    'select status from dispatches where dispatch_id = $1 for update',
    [c.dispatch_id],
  );
  if (!dispatch) {
    await tx.query(
      `insert into logged_completions (dispatch_id, workspace_id, targeted, sent, bounced, failed, skipped_unsubscribed,
         skipped_not_push_enabled, skipped_suppressed, completed_at_ms)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict do nothing`,
      completionValues(c),
    );
    return;
  }
  if (dispatch.status === 'completed') return;
  await tx.query(`delete from dispatch_targets where dispatch_id = $1 and state = 'pending'`, [c.dispatch_id]);
  await tx.query(
    `update dispatches set status = 'completed', targeted = $3, sent = $4, bounced = $5, failed = $6,
       skipped_unsubscribed = $7, skipped_not_push_enabled = $8, skipped_suppressed = $9, remaining = 0,
       completed_at_ms = $10
     where dispatch_id = $1 and workspace_id = $2`,
    completionValues(c),
  );
}

const completionValues = (c: DispatchCompleted) => [
  c.dispatch_id,
  c.workspace_id,
  c.targeted,
  c.sent,
  c.bounced,
  c.failed,
  c.skipped_unsubscribed,
  c.skipped_not_push_enabled,
  c.skipped_suppressed,
  c.occurred_at,
];
