import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import type { SkipReason } from './domain/dispatch-plan';

/** A counter of the registry: the one already registered under its name (an app built again in one process), or a new one. */
function counter<L extends string>(
  registry: Registry,
  configuration: { name: string; help: string; labelNames: readonly L[] },
): Counter<L> {
  const existing = registry.getSingleMetric(configuration.name);
  return (existing as Counter<L> | undefined) ?? new Counter({ ...configuration, registers: [registry] });
}

/** The dispatcher's own metrics on `/metrics`, counted once the transaction that recorded them committed. */
@Injectable()
export class DispatcherMetrics {
  private readonly dispatches: Counter<'event'>;
  private readonly pushes: Counter<'outcome'>;
  private readonly skips: Counter<'reason'>;

  constructor(registry: Registry) {
    this.dispatches = counter(registry, {
      name: 'dispatcher_dispatches_total',
      help: 'Dispatches recorded (their audience resolved) and completed (every device has its outcome)',
      labelNames: ['event'],
    });
    this.pushes = counter(registry, {
      name: 'dispatcher_pushes_total',
      help: 'Devices with an outcome, by outcome (sent, bounced, failed)',
      labelNames: ['outcome'],
    });
    this.skips = counter(registry, {
      name: 'dispatcher_skipped_total',
      help: 'Audience devices skipped, by reason (unsubscribed, not_push_enabled, suppressed)',
      labelNames: ['reason'],
    });
    for (const event of ['recorded', 'completed']) this.dispatches.inc({ event }, 0);
    for (const outcome of ['sent', 'bounced', 'failed']) this.pushes.inc({ outcome }, 0);
    for (const reason of ['unsubscribed', 'not_push_enabled', 'suppressed']) this.skips.inc({ reason }, 0);
  }

  recorded(skipped: Record<SkipReason, number>): void {
    this.dispatches.inc({ event: 'recorded' });
    for (const [reason, count] of Object.entries(skipped)) if (count > 0) this.skips.inc({ reason }, count);
  }

  completed(count = 1): void {
    if (count > 0) this.dispatches.inc({ event: 'completed' }, count);
  }

  outcomes(counts: { sent: number; bounced: number; failed: number }): void {
    for (const [outcome, count] of Object.entries(counts)) if (count > 0) this.pushes.inc({ outcome }, count);
  }
}
