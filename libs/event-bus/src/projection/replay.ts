import { readFile, rename, writeFile } from 'node:fs/promises';

/**
 * Replay mode of a projection runner: a service rebuilding its read model into a fresh database beside the live one
 * (the replay CLI's `rebuild` and `verify`, tools/eventlog). Its outputs and dead letters are not written to the
 * outbox, so nothing is published twice (the live service published them, or has them in its own outbox), and no
 * message is applied at or beyond the bound — the live read model's stored offsets — so that at the switch the rebuilt
 * read model has applied exactly what the live one had, and the outputs of every event after that are published by
 * the service started on it.
 */
export interface ReplayOptions {
  /** The Kafka consumer group of the replay (the live service keeps its own group and its partitions). */
  consumerGroup: string;
  /**
   * The bound: next offsets by `<contract topic>:<partition>`; a partition absent from it has nothing to apply.
   * Read at start and again every `refreshMs` (the live service goes on meanwhile; its offsets only grow).
   */
  bound: () => Promise<ReadonlyMap<string, string>>;
  /** How often the bound is read again while the runner runs. Default 500 ms. */
  refreshMs?: number;
}

/** The bound file: `{ "groups": { "<group id>": { "<contract topic>:<partition>": "<next offset>" } } }`. */
export interface ReplayBoundFile {
  groups: Record<string, Record<string, string>>;
}

/** One group's bound from the file the replay CLI keeps up to date (a group it does not name: nothing to apply). */
export async function readReplayBound(path: string, groupId: string): Promise<ReadonlyMap<string, string>> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as ReplayBoundFile;
  const group = parsed.groups?.[groupId] ?? {};
  const bound = new Map<string, string>();
  for (const [key, offset] of Object.entries(group)) {
    if (!/^\d+$/.test(offset)) throw new Error(`replay bound ${path}: ${groupId} ${key} is not an offset: ${offset}`);
    bound.set(key, offset);
  }
  return bound;
}

/** Writes the bound file whole (a rename, so that a reader never sees half of it). */
export async function writeReplayBound(path: string, bound: ReplayBoundFile): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(bound));
  await rename(temporary, path);
}
