import {
  type DeliveryStatusCause,
  type DeviceDeliveryEvent,
  type DeviceTokenEvent,
  type DispatchOutcomeEvent,
  type Platform,
  deterministicEventId,
  unreachable,
} from '@push/contracts';
import { type Provider, type ReasonClassification, classifyReason, providerOf } from '@push/providers';
import {
  AppWindow,
  BurstSettings,
  DEFAULT_BURST_SETTINGS,
  count,
  countsOf,
  emptyWindow,
  isBurst,
  prune,
  reasonsOf,
} from './burst-window';
import {
  DeviceDelivery,
  HistoryEntry,
  advanced,
  afterBounce,
  afterRegistration,
  afterSend,
  isStaleOrRepeated,
  unknownDevice,
  withOutcome,
} from './device-delivery';

/** What an operator asks of an app's held bounces (B4): apply them as B3, or forget them. */
export type OperatorCommand =
  | { type: 'ReleaseHeldBounces'; data: { workspace_id: string; app_id: string } }
  | { type: 'DiscardHeldBounces'; data: { workspace_id: string; app_id: string } };

export type BounceProcessorInput = DispatchOutcomeEvent | DeviceTokenEvent | OperatorCommand;

export interface DeviceRef {
  workspaceId: string;
  appId: string;
  deviceId: string;
}

export interface AppRef {
  workspaceId: string;
  appId: string;
}

/** A burst-sensitive bounce waiting for its decision (pending) or for an operator (held). */
export interface WaitingBounce {
  bounceEventId: string;
  workspaceId: string;
  appId: string;
  deviceId: string;
  platform: Platform;
  userId: string | null;
  token: string;
  reason: string;
  providerTimestamp: number | null;
  dispatchId: string | null;
  at: number;
}

export type WaitingState = 'pending' | 'held' | 'gone';

const SEP = '\u0000';
export const deviceKeyOf = (ref: DeviceRef): string => `${ref.workspaceId}${SEP}${ref.appId}${SEP}${ref.deviceId}`;
export const appKeyOf = (ref: AppRef): string => `${ref.workspaceId}${SEP}${ref.appId}`;

const refOfData = (data: { workspace_id: string; app_id: string; device_id: string }): DeviceRef => ({
  workspaceId: data.workspace_id,
  appId: data.app_id,
  deviceId: data.device_id,
});

/**
 * Rules B1–B5 over the part of the read model a batch touches, for one shard (a partition of `dispatch.outcomes.v1`;
 * B4's windows are kept per shard). The projection loads devices, windows and waiting bounces into it, `handle` applies
 * inputs in memory and answers the events to publish, and the projection writes back what `changed` lists.
 */
export class BounceProcessor {
  private readonly devices = new Map<string, { ref: DeviceRef; state: DeviceDelivery }>();
  private readonly windows = new Map<string, { ref: AppRef; window: AppWindow }>();
  /** The shard's pending bounces, oldest first. */
  private pending: WaitingBounce[] = [];
  private readonly held = new Map<string, WaitingBounce[]>();
  /** The latest outcome time seen on the shard: its event time. */
  private shardTime: number | null;
  readonly changed = {
    devices: new Map<string, DeviceRef>(),
    windows: new Set<string>(),
    waiting: new Map<string, { bounce: WaitingBounce; state: WaitingState }>(),
  };
  /** Reasons of this run's outcomes that no provider documents (counted in /metrics). */
  readonly unknownReasons: ReasonClassification[] = [];

  constructor(
    readonly shard: number,
    readonly settings: BurstSettings = DEFAULT_BURST_SETTINGS,
    shardTime: number | null = null,
  ) {
    this.shardTime = shardTime;
  }

  get watermark(): number | null {
    return this.shardTime;
  }

  putDevice(ref: DeviceRef, state: DeviceDelivery): void {
    this.devices.set(deviceKeyOf(ref), { ref, state });
  }

  putWindow(ref: AppRef, window: AppWindow): void {
    this.windows.set(appKeyOf(ref), { ref, window });
  }

  putWaiting(bounce: WaitingBounce, state: 'pending' | 'held'): void {
    if (state === 'pending') this.pending.splice(this.pendingIndexOf(bounce), 0, bounce);
    else this.heldOf(bounce).push(bounce);
  }

  device(ref: DeviceRef): DeviceDelivery {
    return this.devices.get(deviceKeyOf(ref))?.state ?? unknownDevice;
  }

  window(ref: AppRef): AppWindow {
    const key = appKeyOf(ref);
    let entry = this.windows.get(key);
    if (!entry) {
      entry = { ref, window: emptyWindow() };
      this.windows.set(key, entry);
    }
    return entry.window;
  }

  heldBounces(ref: AppRef): readonly WaitingBounce[] {
    return this.held.get(appKeyOf(ref)) ?? [];
  }

  pendingBounces(): readonly WaitingBounce[] {
    return this.pending;
  }

  flaggedReasons(ref: AppRef): string[] {
    return [...(this.windows.get(appKeyOf(ref))?.window.flagged.keys() ?? [])];
  }

  /** The devices `handle` changed, with their state now. */
  changedDevices(): { ref: DeviceRef; state: DeviceDelivery }[] {
    return [...this.changed.devices.keys()].map(
      (key) => this.devices.get(key) as { ref: DeviceRef; state: DeviceDelivery },
    );
  }

  /** The windows `handle` changed. */
  changedWindows(): { ref: AppRef; window: AppWindow }[] {
    return [...this.changed.windows].map((key) => this.windows.get(key) as { ref: AppRef; window: AppWindow });
  }

  handle(input: BounceProcessorInput): DeviceDeliveryEvent[] {
    switch (input.type) {
      case 'PushSent':
      case 'PushBounced':
      case 'PushFailed':
        return this.outcome(input);
      case 'TokenAssigned':
      case 'TokenReplaced':
      case 'TokenRenewed':
        return this.registration(input.data, 'TOKEN_REGISTERED');
      case 'DeviceUserChanged':
        // B2: the device's user identifying again with its token; a logout (no user) or a device without token is not.
        return input.data.user_id !== null && input.data.token !== null
          ? this.registration(input.data, 'USER_IDENTIFIED')
          : [];
      case 'DispatchCompleted':
      case 'DeviceSessionRecorded':
      case 'PushCapabilityChanged':
      case 'TokenRemoved':
      case 'UserFirstSeen':
        return [];
      case 'ReleaseHeldBounces':
        return this.release({ workspaceId: input.data.workspace_id, appId: input.data.app_id });
      case 'DiscardHeldBounces':
        this.takeHeld({ workspaceId: input.data.workspace_id, appId: input.data.app_id });
        return [];
      default:
        return unreachable(input);
    }
  }

  private outcome(input: Extract<DispatchOutcomeEvent, { type: 'PushSent' | 'PushBounced' | 'PushFailed' }>) {
    const { data } = input;
    const ref = refOfData(data);
    const before = this.device(ref);
    const at = data.occurred_at;
    if (isStaleOrRepeated(before, at, data.event_id)) return [];
    this.shardTime = this.shardTime === null ? at : Math.max(this.shardTime, at);

    const provider = providerOf(data.platform);
    const classification =
      input.type === 'PushBounced'
        ? classifyReason(provider, input.data.provider_reason)
        : input.type === 'PushFailed'
          ? classifyReason(provider, input.data.reason)
          : null;
    if (classification?.class === 'unknown') this.unknownReasons.push(classification);
    const burstReason = classification?.burstSensitive ? classification.reason : null;
    const app: AppRef = { workspaceId: ref.workspaceId, appId: ref.appId };
    const window = this.window(app);
    count(window, at, burstReason, this.shardTime, this.settings);
    prune(window, this.shardTime, this.settings);
    this.changed.windows.add(appKeyOf(app));

    const entry: HistoryEntry = {
      outcome: input.type === 'PushSent' ? 'sent' : input.type === 'PushBounced' ? 'bounced' : 'failed',
      reason: classification?.reason ?? null,
      at,
      dispatchId: data.dispatch_id,
      eventId: data.event_id,
    };
    let after = withOutcome(advanced(before, at, data.event_id), entry);
    after = { ...after, platform: data.platform, userId: data.user_id ?? before.userId };
    if (input.type === 'PushSent') after = afterSend(after);
    this.setDevice(ref, after);

    const events: DeviceDeliveryEvent[] = [];
    if (input.type === 'PushSent')
      events.push(
        ...this.statusChanged(ref, before, after, {
          eventId: data.event_id,
          at,
          cause: 'PUSH_SENT',
          providerReason: null,
          dispatchId: data.dispatch_id,
        }),
      );
    if (input.type === 'PushBounced' && classification) {
      const bounce: WaitingBounce = {
        bounceEventId: data.event_id,
        ...ref,
        platform: data.platform,
        userId: data.user_id,
        token: input.data.token,
        reason: input.data.provider_reason,
        providerTimestamp: input.data.provider_timestamp,
        dispatchId: data.dispatch_id,
        at,
      };
      if (burstReason !== null) {
        if (window.flagged.has(burstReason)) this.hold(bounce);
        else this.insertPending(bounce);
      } else if (classification.class === 'permanent') events.push(...this.applyBounce(bounce));
    }
    events.push(...this.evaluate(app, provider, data), ...this.resolvePending());
    return events;
  }

  /** B2. */
  private registration(
    data: { event_id: string; workspace_id: string; app_id: string; device_id: string; occurred_at: number } & {
      platform: Platform | null;
      user_id: string | null;
    },
    cause: DeliveryStatusCause,
  ): DeviceDeliveryEvent[] {
    const ref = refOfData(data);
    const before = this.device(ref);
    if (isStaleOrRepeated(before, data.occurred_at, data.event_id)) return [];
    const after = afterRegistration({
      ...advanced(before, data.occurred_at, data.event_id),
      platform: data.platform ?? before.platform,
      userId: data.user_id,
    });
    this.setDevice(ref, after);
    return this.statusChanged(ref, before, after, {
      eventId: data.event_id,
      at: data.occurred_at,
      cause,
      providerReason: null,
      dispatchId: null,
    });
  }

  /**
   * B1 and B3 (with B5): the bounce counts for its device and invalidates its token — unless the device has had a newer
   * input since (a send that went through, a registration: B2), which a waiting bounce must not undo.
   */
  private applyBounce(bounce: WaitingBounce): DeviceDeliveryEvent[] {
    const ref: DeviceRef = { workspaceId: bounce.workspaceId, appId: bounce.appId, deviceId: bounce.deviceId };
    const before = this.device(ref);
    if (before.asOf !== null && before.asOf > bounce.at) return [];
    const after = afterBounce(before);
    this.setDevice(ref, after);
    const header = {
      workspace_id: bounce.workspaceId,
      app_id: bounce.appId,
      device_id: bounce.deviceId,
      platform: bounce.platform,
      occurred_at: bounce.at,
    };
    const events: DeviceDeliveryEvent[] = [
      ...this.statusChanged(ref, before, after, {
        eventId: bounce.bounceEventId,
        at: bounce.at,
        cause: 'PUSH_BOUNCED',
        providerReason: bounce.reason,
        dispatchId: bounce.dispatchId,
      }),
      {
        type: 'TokenInvalidated',
        data: {
          event_id: deterministicEventId(bounce.bounceEventId, 'TokenInvalidated'),
          bounce_event_id: bounce.bounceEventId,
          ...header,
          token: bounce.token,
          provider_reason: bounce.reason,
          provider_timestamp: bounce.providerTimestamp,
        },
      },
    ];
    if (classifyReason(providerOf(bounce.platform), bounce.reason).uninstall)
      events.push({
        type: 'UninstallDetected',
        data: {
          event_id: deterministicEventId(bounce.bounceEventId, 'UninstallDetected'),
          bounce_event_id: bounce.bounceEventId,
          ...header,
          user_id: bounce.userId,
          provider_reason: bounce.reason,
          provider_timestamp: bounce.providerTimestamp,
          dispatch_id: bounce.dispatchId,
        },
      });
    return events;
  }

  /** B4: after each outcome of an app, its window flags a reason that now shows a burst and clears one that no longer does. */
  private evaluate(
    app: AppRef,
    provider: Provider,
    cause: { event_id: string; device_id: string; occurred_at: number },
  ): DeviceDeliveryEvent[] {
    const window = this.window(app);
    const watermark = this.shardTime as number;
    const events: DeviceDeliveryEvent[] = [];
    for (const reason of reasonsOf(window)) {
      const counts = countsOf(window, reason, watermark, this.settings);
      const burst = isBurst(counts, this.settings);
      const flaggedProvider = window.flagged.get(reason);
      if (burst === (flaggedProvider !== undefined)) continue;
      const header = {
        cause_event_id: cause.event_id,
        workspace_id: app.workspaceId,
        app_id: app.appId,
        device_id: cause.device_id,
        provider_reason: reason,
        window_shard: this.shard,
        occurred_at: cause.occurred_at,
        window_start: counts.windowStart,
        window_end: counts.windowEnd,
        reason_count: counts.reasonCount,
        outcome_count: counts.outcomeCount,
      };
      if (burst) {
        window.flagged.set(reason, provider);
        for (const bounce of this.takePending((b) => appKeyOf(b) === appKeyOf(app) && b.reason === reason))
          this.hold(bounce);
        events.push({
          type: 'AppProviderFlagged',
          data: {
            event_id: deterministicEventId(cause.event_id, app.appId, reason, 'AppProviderFlagged'),
            ...header,
            provider,
            threshold_share: this.settings.share,
            min_count: this.settings.minCount,
          },
        });
      } else {
        window.flagged.delete(reason);
        events.push({
          type: 'AppProviderCleared',
          data: {
            event_id: deterministicEventId(cause.event_id, app.appId, reason, 'AppProviderCleared'),
            ...header,
            provider: flaggedProvider as Provider,
          },
        });
      }
    }
    return events;
  }

  /** B4: a pending bounce the shard's time has passed by `settleMs` is held when its app is flagged, else applied (B3). */
  private resolvePending(): DeviceDeliveryEvent[] {
    const watermark = this.shardTime as number;
    // Pending bounces are kept oldest first: nothing is due unless the oldest is.
    if (this.pending.length === 0 || this.pending[0].at + this.settings.settleMs > watermark) return [];
    const due = this.takePending((b) => b.at + this.settings.settleMs <= watermark);
    return due.flatMap((bounce) => {
      if (this.window(bounce).flagged.has(bounce.reason)) {
        this.hold(bounce);
        return [];
      }
      this.changed.waiting.set(bounce.bounceEventId, { bounce, state: 'gone' });
      return this.applyBounce(bounce);
    });
  }

  private release(app: AppRef): DeviceDeliveryEvent[] {
    return this.takeHeld(app).flatMap((bounce) => this.applyBounce(bounce));
  }

  private takeHeld(app: AppRef): WaitingBounce[] {
    const key = appKeyOf(app);
    const held = this.held.get(key) ?? [];
    this.held.delete(key);
    for (const bounce of held) this.changed.waiting.set(bounce.bounceEventId, { bounce, state: 'gone' });
    return held;
  }

  private hold(bounce: WaitingBounce): void {
    this.heldOf(bounce).push(bounce);
    this.changed.waiting.set(bounce.bounceEventId, { bounce, state: 'held' });
  }

  private heldOf(app: AppRef): WaitingBounce[] {
    const key = appKeyOf(app);
    let held = this.held.get(key);
    if (!held) {
      held = [];
      this.held.set(key, held);
    }
    return held;
  }

  private insertPending(bounce: WaitingBounce): void {
    this.pending.splice(this.pendingIndexOf(bounce), 0, bounce);
    this.changed.waiting.set(bounce.bounceEventId, { bounce, state: 'pending' });
  }

  /** Where a bounce goes among the pending ones, oldest first (after those of the same time: log order). */
  private pendingIndexOf(bounce: WaitingBounce): number {
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1].at > bounce.at) i -= 1;
    return i;
  }

  private takePending(match: (bounce: WaitingBounce) => boolean): WaitingBounce[] {
    const taken: WaitingBounce[] = [];
    const kept: WaitingBounce[] = [];
    for (const bounce of this.pending) (match(bounce) ? taken : kept).push(bounce);
    if (taken.length > 0) this.pending = kept;
    return taken;
  }

  private statusChanged(
    ref: DeviceRef,
    before: DeviceDelivery,
    after: DeviceDelivery,
    cause: {
      eventId: string;
      at: number;
      cause: DeliveryStatusCause;
      providerReason: string | null;
      dispatchId: string | null;
    },
  ): DeviceDeliveryEvent[] {
    if (before.status === after.status || after.platform === null) return [];
    return [
      {
        type: 'DeliveryStatusChanged',
        data: {
          event_id: deterministicEventId(cause.eventId, ref.deviceId, 'DeliveryStatusChanged'),
          cause_event_id: cause.eventId,
          workspace_id: ref.workspaceId,
          app_id: ref.appId,
          device_id: ref.deviceId,
          platform: after.platform,
          user_id: after.userId,
          occurred_at: cause.at,
          status: after.status,
          previous_status: before.status,
          consecutive_bounces: after.consecutiveBounces,
          cause: cause.cause,
          provider_reason: cause.providerReason,
          dispatch_id: cause.dispatchId,
        },
      },
    ];
  }

  private setDevice(ref: DeviceRef, state: DeviceDelivery): void {
    const key = deviceKeyOf(ref);
    this.devices.set(key, { ref, state });
    this.changed.devices.set(key, ref);
  }
}
