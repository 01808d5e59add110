import { DispatchRequested, MessageKeys, Topics } from '@push/contracts';
import { type ConsumedEvent, type OutgoingEvent, RejectedEventError } from '@push/event-bus';
import {
  BulkRows,
  ProjectionContext,
  ProjectionController,
  ProjectionHandler,
  ProjectionValidator,
} from '@push/service-kit';
import type { EntityManager } from 'typeorm';
import { type DispatchPlan, audienceOf, planDispatch } from '../../domain/dispatch-plan';
import { dispatchCompletedOf } from '../../domain/outcomes';
import { requestProblem } from '../../domain/validation';
import { DispatcherMetrics } from '../../dispatcher-metrics';
import { loadAudienceFacts } from '../eligibility/audience-facts';

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
  state: 'pending' | 'skipped';
  reason: string | null;
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
  outcome_at_ms: 'bigint',
});
const INSERT_TARGETS = TARGETS.insert('dispatch_targets', TARGETS.unnest());
/** Targets per insert statement: bounded parameter sizes for audiences of any size. */
const TARGETS_PER_INSERT = 10_000;

/**
 * `dispatch.requests.v1` into `dispatches` and `dispatch_targets`, in the transaction that stores the offset: the
 * audience is resolved against the read model of eligible devices as it is when the request is applied, and every
 * device the dispatch considers is recorded — skipped with its reason, or `pending` for the sending worker, which
 * sends outside this transaction. A request whose `dispatch_id` is recorded already (a redelivery, or the same request
 * published twice) records nothing and sends nothing (D5). A dispatch with nothing to send completes here.
 */
@ProjectionController(REQUESTS_GROUP)
export class DispatchRequestsProjection {
  constructor(private readonly metrics: DispatcherMetrics) {}

  @ProjectionValidator()
  validate({ event }: ConsumedEvent<Requests>): string | null {
    return requestProblem(event.data);
  }

  @ProjectionHandler(Topics.DispatchRequests)
  async apply(consumed: ConsumedEvent<Requests>[], { tx }: ProjectionContext): Promise<OutgoingEvent[]> {
    const outputs: OutgoingEvent[] = [];
    const recorded: DispatchPlan[] = [];
    let completed = 0;
    let pending = false;
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
      const plan = planDispatch(
        request,
        await loadAudienceFacts(tx, request.workspace_id, audienceOf(request.audience)),
      );
      const now = Date.now();
      await recordDispatch(tx, request, plan, now);
      recorded.push(plan);
      if (plan.targets.some((t) => t.skip === null)) pending = true;
      else {
        completed++;
        outputs.push({
          topic: Topics.DispatchOutcomes,
          key: MessageKeys.dispatch(request.dispatch_id),
          event: dispatchCompletedOf(
            request,
            { targeted: plan.targets.length, sent: 0, bounced: 0, failed: 0, skipped: plan.skipped },
            now,
          ),
        });
      }
    }
    // Delivered to the listening workers when this transaction commits, never before.
    if (pending) await tx.query(`select pg_notify('${WORK_CHANNEL}', '')`);
    // Counted when applied (as bounce-processor counts): a batch rolled back and applied again counts again.
    for (const plan of recorded) this.metrics.recorded(plan.skipped);
    this.metrics.completed(completed);
    return outputs;
  }
}

/** The dispatch row, its targets and the end of its `accepted_dispatches` note. */
async function recordDispatch(tx: EntityManager, request: DispatchRequested, plan: DispatchPlan, now: number) {
  const toSend = plan.targets.filter((t) => t.skip === null).length;
  await tx.query(
    `insert into dispatches (dispatch_id, workspace_id, campaign_id, requested_at_ms, recorded_at_ms, message, status,
       targeted, skipped_unsubscribed, skipped_not_push_enabled, skipped_suppressed, remaining, completed_at_ms)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      request.dispatch_id,
      request.workspace_id,
      request.campaign_id,
      request.occurred_at,
      now,
      JSON.stringify(request.message),
      toSend === 0 ? 'completed' : 'pending',
      plan.targets.length,
      plan.skipped.unsubscribed,
      plan.skipped.not_push_enabled,
      plan.skipped.suppressed,
      toSend,
      toSend === 0 ? now : null,
    ],
  );
  const rows: TargetRow[] = plan.targets.map(({ device, skip }) => ({
    dispatch_id: request.dispatch_id,
    app_id: device.app_id,
    device_id: device.device_id,
    workspace_id: request.workspace_id,
    user_id: device.user_id,
    platform: device.platform,
    token: skip === null ? device.token : null,
    state: skip === null ? 'pending' : 'skipped',
    reason: skip,
    outcome_at_ms: skip === null ? null : now,
  }));
  for (let i = 0; i < rows.length; i += TARGETS_PER_INSERT)
    await tx.query(INSERT_TARGETS, TARGETS.arrays(rows.slice(i, i + TARGETS_PER_INSERT)));
  await tx.query('delete from accepted_dispatches where dispatch_id = $1', [request.dispatch_id]);
}
