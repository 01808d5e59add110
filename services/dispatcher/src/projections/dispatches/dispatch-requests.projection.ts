import { DispatchRequested, Topics } from '@push/contracts';
import { type ConsumedEvent, RejectedEventError } from '@push/event-bus';
import {
  BulkRows,
  ProjectionContext,
  ProjectionController,
  ProjectionHandler,
  ProjectionValidator,
} from '@push/service-kit';
import type { EntityManager } from 'typeorm';
import { type PlannedTarget, type SkipReason, audienceOf, planDispatch } from '../../domain/dispatch-plan';
import type { DispatchCounts } from '../../domain/outcomes';
import { requestProblem } from '../../domain/validation';
import { DispatcherMetrics } from '../../dispatcher-metrics';
import { AUDIENCE_PAGE_DEVICES, forEachAudiencePage } from '../eligibility/audience-facts';
import { lockDispatches } from './dispatch-locks';
import { LOGGED } from './logged-outcomes.projection';

type Requests = typeof Topics.DispatchRequests;

export const REQUESTS_GROUP = 'dispatcher.requests';
/** The channel a committed dispatch with pending targets is announced on: the workers wake without polling. */
export const WORK_CHANNEL = 'dispatcher_work';

interface TargetRow {
  dispatch_id: string;
  app_id: string;
  device_id: string;
  workspace_id: string;
  user_id: string | null;
  platform: string;
  token: string | null;
  state: 'pending' | 'skipped' | 'sent' | 'bounced' | 'failed';
  reason: string | null;
  failure_category: string | null;
  provider_message_id: string | null;
  outcome_at_ms: number | null;
}

const TARGETS = new BulkRows<TargetRow>({
  dispatch_id: 'text',
  app_id: 'text',
  device_id: 'text',
  workspace_id: 'text',
  user_id: 'text',
  platform: 'text',
  token: 'text',
  state: 'text',
  reason: 'text',
  failure_category: 'text',
  provider_message_id: 'text',
  outcome_at_ms: 'bigint',
});
/** How many rows an insert added, by state and reason: what the dispatch's counts are made of. */
type Tally = { state: TargetRow['state']; reason: string | null; n: number }[];
const tallyOf = (insert: string) =>
  `with inserted as (${insert} returning state, reason) select state, reason, count(*)::int as n from inserted
   group by state, reason`;
/** A device with an outcome on `dispatch.outcomes.v1` is inserted first and keeps it: the plan skips its row. */
const INSERT_TARGETS = tallyOf(
  `${TARGETS.insert('dispatch_targets', TARGETS.unnest())} on conflict (dispatch_id, app_id, device_id) do nothing`,
);
const INSERT_LOGGED = tallyOf(
  `insert into dispatch_targets (${LOGGED.columns()}) select ${LOGGED.columns()} from logged_outcomes
   where dispatch_id = $1`,
);
/** Targets per insert statement: bounded parameter sizes whatever the page (a page may hold one user's many devices). */
const TARGETS_PER_INSERT = 10_000;

/**
 * `dispatch.requests.v1` into `dispatches` and `dispatch_targets`, in the transaction that stores the offset: the
 * audience is resolved against the read model of eligible devices as it is when the request is applied, and every
 * device the dispatch considers is recorded — skipped with its reason, or `pending` for the sending worker, which
 * sends outside this transaction. A request whose `dispatch_id` is recorded already (a redelivery, or the same request
 * published twice) records nothing and sends nothing (D5). Nothing is published here: the worker completes a dispatch
 * once it has caught up on `dispatch.outcomes.v1` (a rebuilt read model may learn there that it completed long ago).
 */
@ProjectionController(REQUESTS_GROUP)
export class DispatchRequestsProjection {
  /** Devices of the audience read into memory at once (`forEachAudiencePage`); tests make pages small. */
  audiencePageDevices = AUDIENCE_PAGE_DEVICES;

  constructor(private readonly metrics: DispatcherMetrics) {}

  @ProjectionValidator()
  validate({ event }: ConsumedEvent<Requests>): string | null {
    return requestProblem(event.data);
  }

  @ProjectionHandler(Topics.DispatchRequests)
  async apply(consumed: ConsumedEvent<Requests>[], { tx }: ProjectionContext): Promise<void> {
    const recorded: DispatchCounts['skipped'][] = [];
    await lockDispatches(
      tx,
      consumed.map((c) => c.event.data.dispatch_id),
    );
    for (const item of consumed) {
      const request = item.event.data;
      const [existing]: { workspace_id: string }[] = await tx.query(
        'select workspace_id from dispatches where dispatch_id = $1',
        [request.dispatch_id],
      );
      if (existing) {
        if (existing.workspace_id !== request.workspace_id)
          throw new RejectedEventError(item, `dispatch_id ${request.dispatch_id} is another workspace's dispatch`);
        continue;
      }
      const dispatch = await recordDispatch(tx, request, Date.now(), this.audiencePageDevices);
      recorded.push(dispatch.counts.skipped);
    }
    // Delivered to the listening workers when this transaction commits, never before.
    if (recorded.length > 0) await tx.query(`select pg_notify('${WORK_CHANNEL}', '')`);
    // Counted when applied (as bounce-processor counts): a batch rolled back and applied again counts again.
    for (const skipped of recorded) this.metrics.recorded(skipped);
  }
}

interface RecordedDispatch {
  counts: DispatchCounts;
  /** Devices left to send. */
  remaining: number;
}

/**
 * The dispatch row and its targets, all in the request's transaction (its offset commits with its targets: D5). What
 * `dispatch.outcomes.v1` already says of the dispatch (a rebuild that applies the request after its outcomes:
 * `LoggedOutcomesProjection`) is the truth: a published completion records the dispatch completed with the published
 * counts and its published device outcomes, and resolves nothing; otherwise a device with a published outcome takes
 * that outcome instead of being sent or skipped. The audience is resolved and planned a page of whole users at a time
 * (`forEachAudiencePage`: bounded memory for any audience), each page's targets inserted before the next is read; the
 * counts are those of the rows inserted. Then the dispatch's `logged_*` and `accepted_dispatches` notes go.
 */
async function recordDispatch(
  tx: EntityManager,
  request: DispatchRequested,
  now: number,
  audiencePageDevices: number,
): Promise<RecordedDispatch> {
  const id = request.dispatch_id;
  const [completion]: (Omit<DispatchCounts, 'skipped'> & {
    skipped_unsubscribed: number;
    skipped_not_push_enabled: number;
    skipped_suppressed: number;
    completed_at_ms: string;
  })[] = await tx.query('select * from logged_completions where dispatch_id = $1', [id]);
  const counts: DispatchCounts = {
    targeted: 0,
    sent: 0,
    bounced: 0,
    failed: 0,
    skipped: { unsubscribed: 0, not_push_enabled: 0, suppressed: 0 },
  };
  let remaining = 0;
  const count = (tally: Tally) => {
    for (const { state, reason, n } of tally) {
      counts.targeted += n;
      if (state === 'pending') remaining += n;
      else if (state === 'skipped') counts.skipped[reason as SkipReason] += n;
      else counts[state] += n;
    }
  };
  count(await tx.query(INSERT_LOGGED, [id]));
  const logged = counts.targeted;
  if (!completion)
    await forEachAudiencePage(
      tx,
      request.workspace_id,
      audienceOf(request.audience),
      async (facts) => {
        const rows = planDispatch(request, facts).targets.map((target) => targetRow(request, target, now));
        for (let i = 0; i < rows.length; i += TARGETS_PER_INSERT)
          count(await tx.query(INSERT_TARGETS, TARGETS.arrays(rows.slice(i, i + TARGETS_PER_INSERT))));
      },
      audiencePageDevices,
    );
  const final: DispatchCounts = completion
    ? {
        targeted: completion.targeted,
        sent: completion.sent,
        bounced: completion.bounced,
        failed: completion.failed,
        skipped: {
          unsubscribed: completion.skipped_unsubscribed,
          not_push_enabled: completion.skipped_not_push_enabled,
          suppressed: completion.skipped_suppressed,
        },
      }
    : counts;
  await tx.query(
    `insert into dispatches (dispatch_id, workspace_id, campaign_id, requested_at_ms, recorded_at_ms, message, status,
       targeted, skipped_unsubscribed, skipped_not_push_enabled, skipped_suppressed, sent, bounced, failed, remaining,
       completed_at_ms)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [
      id,
      request.workspace_id,
      request.campaign_id,
      request.occurred_at,
      now,
      JSON.stringify(request.message),
      completion ? 'completed' : logged > 0 ? 'running' : 'pending',
      final.targeted,
      final.skipped.unsubscribed,
      final.skipped.not_push_enabled,
      final.skipped.suppressed,
      final.sent,
      final.bounced,
      final.failed,
      remaining,
      completion ? Number(completion.completed_at_ms) : null,
    ],
  );
  await tx.query('delete from logged_outcomes where dispatch_id = $1', [id]);
  await tx.query('delete from logged_completions where dispatch_id = $1', [id]);
  await tx.query('delete from accepted_dispatches where dispatch_id = $1', [id]);
  return { counts: final, remaining };
}

/** A planned device as its `dispatch_targets` row: `pending` with the token to send to, or `skipped` with its reason. */
function targetRow(request: DispatchRequested, { device, skip }: PlannedTarget, now: number): TargetRow {
  return {
    dispatch_id: request.dispatch_id,
    app_id: device.app_id,
    device_id: device.device_id,
    workspace_id: request.workspace_id,
    user_id: device.user_id,
    platform: device.platform,
    token: skip === null ? device.token : null,
    state: skip === null ? 'pending' : 'skipped',
    reason: skip,
    failure_category: null,
    provider_message_id: null,
    outcome_at_ms: skip === null ? null : now,
  };
}
