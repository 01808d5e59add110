import { Inject } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { DeviceDeliveryEvent, MessageKeys, Topics } from '@push/contracts';
import type { ConsumedEvent, OutgoingEvent } from '@push/event-bus';
import type { ReasonClassification } from '@push/providers';
import { ProjectionContext, ProjectionController, ProjectionHandler, ProjectionValidator } from '@push/service-kit';
import { BURST_SETTINGS } from '../../burst-settings';
import type { BurstSettings } from '../../domain/burst-window';
import { inputProblem } from '../../domain/validation';
import { applyOutcomes, applyRegistrations } from './delivery-store';

type Consumed = typeof Topics.DispatchOutcomes | typeof Topics.DeviceTokens;

/** At most this many distinct unknown reasons get their own label; the rest are counted as `other`. */
const MAX_UNKNOWN_REASON_LABELS = 100;

export const toOutgoing = (events: readonly DeviceDeliveryEvent[]): OutgoingEvent<typeof Topics.DeviceDelivery>[] =>
  events.map((event) => ({
    topic: Topics.DeviceDelivery,
    key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
    event,
  }));

/**
 * bounce-processor's one projection: provider outcomes (B1, B3–B5; each partition is a B4 shard) and token-registry's
 * registrations (B2) in, the delivery read model out, and its decisions published on
 * `bounce-processor.device-delivery.v1` through the outbox, in the transaction that stores the offsets.
 */
@ProjectionController('bounce-processor.delivery')
export class DeliveryProjection {
  private readonly unknownReasons: Counter<'provider' | 'reason'>;
  private readonly unknownLabels = new Set<string>();

  constructor(
    @Inject(BURST_SETTINGS) private readonly settings: BurstSettings,
    registry: Registry,
  ) {
    this.unknownReasons = new Counter({
      name: 'bounce_processor_unknown_reasons_total',
      help: 'Outcomes whose provider reason no provider documents (kept, never treated as permanent)',
      labelNames: ['provider', 'reason'],
      registers: [registry],
    });
  }

  @ProjectionValidator()
  validate({ event }: ConsumedEvent<Consumed>): string | null {
    return inputProblem(event);
  }

  @ProjectionHandler(Topics.DispatchOutcomes)
  async outcomes(
    consumed: ConsumedEvent<typeof Topics.DispatchOutcomes>[],
    { tx }: ProjectionContext,
  ): Promise<OutgoingEvent<typeof Topics.DeviceDelivery>[]> {
    if (consumed.length === 0) return [];
    const applied = await applyOutcomes(
      tx,
      consumed[0].partition,
      this.settings,
      consumed.map((c) => c.event),
    );
    this.count(applied.unknownReasons);
    return toOutgoing(applied.events);
  }

  @ProjectionHandler(Topics.DeviceTokens)
  async registrations(
    consumed: ConsumedEvent<typeof Topics.DeviceTokens>[],
    { tx }: ProjectionContext,
  ): Promise<OutgoingEvent<typeof Topics.DeviceDelivery>[]> {
    if (consumed.length === 0) return [];
    const applied = await applyRegistrations(
      tx,
      consumed[0].partition,
      consumed.map((c) => c.event),
    );
    return toOutgoing(applied.events);
  }

  private count(reasons: readonly ReasonClassification[]): void {
    for (const { provider, reason } of reasons) {
      const label = `${provider}\u0000${reason}`;
      if (!this.unknownLabels.has(label) && this.unknownLabels.size < MAX_UNKNOWN_REASON_LABELS)
        this.unknownLabels.add(label);
      this.unknownReasons.inc({ provider, reason: this.unknownLabels.has(label) ? reason : 'other' });
    }
  }
}
