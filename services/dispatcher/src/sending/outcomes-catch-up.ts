import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { Topics } from '@push/contracts';
import { createKafka } from '@push/event-bus';
import { OUTCOMES_GROUP } from '../projections/dispatches/logged-outcomes.projection';

/**
 * The end of `dispatch.outcomes.v1` now, per partition: what `LoggedOutcomesProjection` must have applied before this
 * process sends anything. Everything published before this moment is then in the read model — above all, after a
 * rebuild, every outcome an earlier life of the service published — so no device with an outcome is sent again.
 */
export async function outcomesEnd(
  brokers: string[],
  topicPrefix: string,
  logger: Logger,
): Promise<Map<number, number>> {
  const admin = createKafka('dispatcher-catch-up', brokers, logger).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topicPrefix + Topics.DispatchOutcomes);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Whether the projection's stored offsets reach `end` on every partition. */
export async function outcomesCaughtUp(dataSource: DataSource, end: ReadonlyMap<number, number>): Promise<boolean> {
  const rows: { partition: number; next_offset: string }[] = await dataSource.query(
    'select partition, next_offset from consumer_offsets where group_id = $1 and topic = $2',
    [OUTCOMES_GROUP, Topics.DispatchOutcomes],
  );
  const applied = new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
  return [...end].every(([partition, high]) => high === 0 || (applied.get(partition) ?? 0) >= high);
}
