import {
  type DispatchCompleted,
  type DispatchOutcomeEvent,
  type FailureCategory,
  type Platform,
  deterministicEventId,
} from '@push/contracts';
import type { SkipReason } from './dispatch-plan';

/** A device the dispatch sends to, as recorded with the dispatch (token as token-registry published it then). */
export interface SendTarget {
  dispatch_id: string;
  workspace_id: string;
  app_id: string;
  device_id: string;
  user_id: string | null;
  platform: Platform;
  token: string;
}

/** What became of one target (the adapters' `SendResult`, or the dispatcher's own verdict). */
export type TargetOutcome =
  | { kind: 'sent'; providerMessageId: string | null }
  | { kind: 'bounced'; providerReason: string; providerTimestamp: number | null }
  | { kind: 'failed'; category: FailureCategory; reason: string };

/**
 * A push whose attempt was committed but whose provider answer was never recorded: the process died while it was in
 * flight. It may or may not have reached the device; D5 forbids sending it again, so it is reported as failed, saying
 * the outcome is unknown (RETRY_EXHAUSTED: no retry is allowed, and the contract's categories have no "unknown").
 */
export const OUTCOME_UNKNOWN: TargetOutcome = {
  kind: 'failed',
  category: 'RETRY_EXHAUSTED',
  reason: 'OUTCOME_UNKNOWN: the dispatcher stopped while the push was in flight; not sent again (D5)',
};

/** The app is not in the apps file: nothing to send with. */
export const appNotConfigured = (appId: string): TargetOutcome => ({
  kind: 'failed',
  category: 'CONFIGURATION',
  reason: `APP_NOT_CONFIGURED: app ${appId} of this workspace is not in the apps file`,
});

/**
 * The id of a device's outcome in a dispatch. There is one outcome per (dispatch, device) whatever it is, so the id
 * names only those: publishing it again (an outbox re-drain) repeats the same event, which consumers drop.
 */
export const outcomeEventId = (t: Pick<SendTarget, 'dispatch_id' | 'workspace_id' | 'app_id' | 'device_id'>): string =>
  deterministicEventId('dispatcher.outcome', t.dispatch_id, t.workspace_id, t.app_id, t.device_id);

/** The longest reason a record carries (UTF-8 bytes): bounce-processor dead-letters longer ones. */
export const MAX_REASON_BYTES = 256;

/** `text` cut to at most `maxBytes` bytes of UTF-8, never inside a character. */
export function withinBytes(text: string, maxBytes = MAX_REASON_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let cut = text;
  while (Buffer.byteLength(cut, 'utf8') > maxBytes - 3) cut = cut.slice(0, -1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** The records of `dispatch.outcomes.v1` about one device. */
export type DeviceOutcomeEvent = Exclude<DispatchOutcomeEvent, { type: 'DispatchCompleted' }>;

/** The `dispatch.outcomes.v1` record of a device's outcome (D6: sent → PushSent, token → PushBounced, else PushFailed). */
export function outcomeEventOf(target: SendTarget, outcome: TargetOutcome, at: number): DeviceOutcomeEvent {
  const header = {
    event_id: outcomeEventId(target),
    dispatch_id: target.dispatch_id,
    workspace_id: target.workspace_id,
    app_id: target.app_id,
    device_id: target.device_id,
    user_id: target.user_id,
    platform: target.platform,
    occurred_at: at,
  };
  switch (outcome.kind) {
    case 'sent':
      return { type: 'PushSent', data: { ...header, provider_message_id: outcome.providerMessageId } };
    case 'bounced':
      return {
        type: 'PushBounced',
        data: {
          ...header,
          token: target.token,
          provider_reason: withinBytes(outcome.providerReason),
          provider_timestamp: outcome.providerTimestamp,
        },
      };
    case 'failed':
      return {
        type: 'PushFailed',
        data: { ...header, reason: withinBytes(outcome.reason), category: outcome.category },
      };
  }
}

/** A dispatch's counts: every targeted device is sent, bounced, failed or skipped for one reason. */
export interface DispatchCounts {
  targeted: number;
  sent: number;
  bounced: number;
  failed: number;
  skipped: Record<SkipReason, number>;
}

export function dispatchCompletedOf(
  dispatch: { dispatch_id: string; workspace_id: string },
  counts: DispatchCounts,
  at: number,
): { type: 'DispatchCompleted'; data: DispatchCompleted } {
  return {
    type: 'DispatchCompleted',
    data: {
      dispatch_id: dispatch.dispatch_id,
      workspace_id: dispatch.workspace_id,
      occurred_at: at,
      targeted: counts.targeted,
      sent: counts.sent,
      bounced: counts.bounced,
      failed: counts.failed,
      skipped_unsubscribed: counts.skipped.unsubscribed,
      skipped_not_push_enabled: counts.skipped.not_push_enabled,
      skipped_suppressed: counts.skipped.suppressed,
    },
  };
}
