import type { DataSource } from 'typeorm';

/** A partition's stored position, as the operator's tools show it. */
export interface StoredOffsetRow {
  groupId: string;
  topic: string;
  partition: number;
  nextOffset: string;
  clusterId: string | null;
  lastOffset: string | null;
  updatedAt: Date;
}

export async function storedOffsets(dataSource: DataSource): Promise<StoredOffsetRow[]> {
  const rows: {
    group_id: string;
    topic: string;
    partition: number;
    next_offset: string;
    cluster_id: string | null;
    last_offset: string | null;
    updated_at: Date;
  }[] = await dataSource.query(
    'select group_id, topic, partition, next_offset, cluster_id, last_offset, updated_at from consumer_offsets order by group_id, topic, partition',
  );
  return rows.map((r) => ({
    groupId: r.group_id,
    topic: r.topic,
    partition: r.partition,
    nextOffset: r.next_offset,
    clusterId: r.cluster_id,
    lastOffset: r.last_offset,
    updatedAt: r.updated_at,
  }));
}

/**
 * The operator's "accept this log from its start": forgets the stored positions of the given partitions (all of the
 * group's when none are named), so that the runner consumes them from the log start of the log it finds, applying
 * those events on top of the read model as it is. Right when the new log continues the old one's history (events
 * not applied yet); otherwise rebuild the read model instead. A running service picks it up within seconds.
 */
export async function acceptLogFromStart(
  dataSource: DataSource,
  groupId: string,
  partitions?: { topic: string; partition: number }[],
): Promise<number> {
  if (!partitions) {
    const rows: unknown[] = await dataSource.query('delete from consumer_offsets where group_id = $1 returning 1', [
      groupId,
    ]);
    return countOf(rows);
  }
  let count = 0;
  for (const { topic, partition } of partitions) {
    const rows: unknown[] = await dataSource.query(
      'delete from consumer_offsets where group_id = $1 and topic = $2 and partition = $3 returning 1',
      [groupId, topic, partition],
    );
    count += countOf(rows);
  }
  return count;
}

/** TypeORM answers a DELETE … RETURNING with [rows, count]. */
function countOf(result: unknown[]): number {
  return Array.isArray(result[0]) ? (result[1] as number) : result.length;
}
