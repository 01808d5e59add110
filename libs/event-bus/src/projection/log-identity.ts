import { createHash } from 'node:crypto';

/**
 * What a read model remembers of the log it was built from, per partition, beside its next offset: the Kafka cluster
 * and the last message it applied (offset, timestamp, digest of key and value). Offsets alone cannot tell a log from
 * its replacement: a reset broker, a recreated topic or another cluster restarts at offset 0 and may already have grown
 * past the stored offset (and the local broker's cluster id is fixed, so the id alone cannot tell either).
 */
export interface StoredPosition {
  nextOffset: string;
  /** Null for rows written before identities were recorded: only the offsets can be checked then. */
  clusterId: string | null;
  lastOffset: string | null;
  lastTimestamp: string | null;
  lastDigest: Buffer | null;
}

/** The partition's log as the broker describes it now. */
export interface LogNow {
  clusterId: string;
  /** Offset of the first message still in the log (after retention or deleted records). */
  logStartOffset: string;
  /** Offset the next message will get (the high watermark). */
  logEndOffset: string;
}

export type RefusalReason =
  'OTHER_CLUSTER' | 'LOG_END_BEFORE_STORED_OFFSET' | 'STORED_OFFSET_BEFORE_LOG_START' | 'LAST_APPLIED_MESSAGE_DIFFERS';

export type Assessment =
  /** Consume from `offset`; when `verify` is set, the first message fetched there must be the last one applied. */
  | { kind: 'consume'; offset: string; verify?: { offset: string; timestamp: string; digest: Buffer } }
  | { kind: 'refuse'; reason: RefusalReason; message: string };

/**
 * Decides how a partition may be consumed on assignment, before a message is read: from the log start when the read
 * model never applied it; otherwise from the stored position, but only if nothing shows the log is not the one the
 * read model was built from. The message check itself (`sameMessage`) follows on the first fetched batch.
 */
export function assessPartition(stored: StoredPosition | undefined, log: LogNow): Assessment {
  if (!stored) return { kind: 'consume', offset: log.logStartOffset };
  const next = BigInt(stored.nextOffset);
  if (stored.clusterId !== null && stored.clusterId !== log.clusterId) {
    return refuse(
      'OTHER_CLUSTER',
      `the read model was built from Kafka cluster ${stored.clusterId}, the broker is cluster ${log.clusterId}`,
    );
  }
  if (next > BigInt(log.logEndOffset)) {
    return refuse(
      'LOG_END_BEFORE_STORED_OFFSET',
      `the log ends at offset ${log.logEndOffset}, before the stored offset ${stored.nextOffset}: the topic was recreated or the broker reset`,
    );
  }
  if (next < BigInt(log.logStartOffset)) {
    return refuse(
      'STORED_OFFSET_BEFORE_LOG_START',
      `the log starts at offset ${log.logStartOffset}, after the stored offset ${stored.nextOffset}: messages the read model never applied were deleted`,
    );
  }
  const { lastOffset, lastTimestamp, lastDigest } = stored;
  if (
    lastOffset === null ||
    lastTimestamp === null ||
    lastDigest === null ||
    BigInt(lastOffset) < BigInt(log.logStartOffset)
  ) {
    // No identity recorded (an older row), or the last applied message itself was deleted: the offsets are all we have.
    return { kind: 'consume', offset: stored.nextOffset };
  }
  return {
    kind: 'consume',
    offset: lastOffset,
    verify: { offset: lastOffset, timestamp: lastTimestamp, digest: lastDigest },
  };
}

/** Is the first message fetched at the verified offset the one the read model applied last? */
export function sameMessage(
  expected: { offset: string; timestamp: string; digest: Buffer },
  first: { offset: string; timestamp: string; digest: Buffer } | undefined,
): boolean {
  return (
    first !== undefined &&
    first.offset === expected.offset &&
    first.timestamp === expected.timestamp &&
    first.digest.equals(expected.digest)
  );
}

/** SHA-1 of a message's key and value, each length-prefixed (so that key and value cannot trade bytes). */
export function messageDigest(key: Buffer | null | undefined, value: Buffer | null | undefined): Buffer {
  const hash = createHash('sha1');
  for (const part of [key, value]) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(part ? part.length : -1);
    hash.update(length);
    if (part) hash.update(part);
  }
  return hash.digest();
}

function refuse(reason: RefusalReason, message: string): Assessment {
  return { kind: 'refuse', reason, message };
}
