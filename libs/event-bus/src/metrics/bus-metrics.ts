import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface BusMetrics {
  applied: Counter<'group' | 'topic'>;
  skipped: Counter<'group' | 'topic'>;
  deadLetters: Counter<'topic' | 'code'>;
  lag: Gauge<'group' | 'topic' | 'partition'>;
  batchSeconds: Histogram<'group'>;
  batchFailures: Counter<'group'>;
  outboxSize: Gauge<'group'>;
  refusedPartitions: Gauge<'group' | 'topic' | 'partition' | 'reason'>;
}

/** The bus's metrics in the service's one registry; several runners in a process share them (labelled by group). */
export function busMetrics(registry: Registry): BusMetrics {
  const metric = <M>(name: string, create: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? create();
  const registers = [registry];
  return {
    applied: metric(
      'event_bus_events_applied_total',
      () =>
        new Counter({
          name: 'event_bus_events_applied_total',
          help: 'Events applied to read models.',
          labelNames: ['group', 'topic'],
          registers,
        }),
    ),
    skipped: metric(
      'event_bus_events_skipped_total',
      () =>
        new Counter({
          name: 'event_bus_events_skipped_total',
          help: 'Redelivered messages skipped because the read model had already applied them (below the stored offset).',
          labelNames: ['group', 'topic'],
          registers,
        }),
    ),
    deadLetters: metric(
      'event_bus_dead_letters_total',
      () =>
        new Counter({
          name: 'event_bus_dead_letters_total',
          help: 'Messages sent to <topic>.dlq, by error code.',
          labelNames: ['topic', 'code'],
          registers,
        }),
    ),
    lag: metric(
      'event_bus_consumer_lag',
      () =>
        new Gauge({
          name: 'event_bus_consumer_lag',
          help: "Messages between the last applied offset and the partition's high watermark.",
          labelNames: ['group', 'topic', 'partition'],
          registers,
        }),
    ),
    batchSeconds: metric(
      'event_bus_batch_seconds',
      () =>
        new Histogram({
          name: 'event_bus_batch_seconds',
          help: 'Time to apply one transaction of events (decode, apply, outbox, offsets, commit).',
          labelNames: ['group'],
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
          registers,
        }),
    ),
    batchFailures: metric(
      'event_bus_batch_failures_total',
      () =>
        new Counter({
          name: 'event_bus_batch_failures_total',
          help: 'Batches rolled back by a non-contract error and retried.',
          labelNames: ['group'],
          registers,
        }),
    ),
    outboxSize: metric(
      'event_bus_outbox_size',
      () =>
        new Gauge({
          name: 'event_bus_outbox_size',
          help: 'Events waiting in event_outbox to be published.',
          labelNames: ['group'],
          registers,
        }),
    ),
    refusedPartitions: metric(
      'event_bus_partitions_refused',
      () =>
        new Gauge({
          name: 'event_bus_partitions_refused',
          help: 'Partitions not consumed because their log is not the one the read model was built from (1 while refused).',
          labelNames: ['group', 'topic', 'partition', 'reason'],
          registers,
        }),
    ),
  };
}
