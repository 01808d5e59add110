import type { EntityManager } from 'typeorm';
import type { EventOf, TopicName } from '@push/contracts';
import type { OutgoingEvent } from '../producer';

/** One decoded message handed to a projection. */
export interface ConsumedEvent<T extends TopicName = TopicName> {
  /** The contract topic (without the deployment's prefix). */
  topic: T;
  partition: number;
  offset: string;
  key: string | null;
  /** Kafka's timestamp of the message (epoch ms). */
  timestamp: number;
  event: EventOf<T>;
}

export interface Projection<T extends TopicName> {
  /** The consumer group; also the key of this projection's stored offsets. */
  groupId: string;
  topics: readonly T[];
  /**
   * Contract checks beyond the schema that need no database (an empty token, a web token that is not a
   * PushSubscription, …): a reason sends the message to the dead-letter topic instead of `apply`; null lets it through.
   */
  validate?(event: ConsumedEvent<T>): string | null;
  /**
   * Applies a batch, in offset order per partition, inside the transaction that also stores the offsets; returns the
   * events to publish (written to the outbox in the same transaction). Throw `RejectedEventError` for an event that
   * breaks the contract in a way only the read model shows: the transaction is rolled back, that event is
   * dead-lettered and the batch applied again without it. Any other error rolls back and retries the batch.
   */
  apply(events: ConsumedEvent<T>[], tx: EntityManager): Promise<readonly OutgoingEvent[] | void>;
}

/**
 * Thrown by a projection to reject one consumed event that breaks the contract in a way only the read model shows (a
 * device the app does not know, …): `event` goes to `<topic>.dlq` (`CONTRACT_VIOLATION`) and the rest of its batch is
 * applied. (An event a producer cannot encode is the codec's `UnencodableEventError`.)
 */
export class RejectedEventError extends Error {
  override readonly name = 'RejectedEventError';

  constructor(
    readonly event: Pick<ConsumedEvent, 'partition' | 'offset'>,
    readonly reason: string,
  ) {
    super(`offset ${event.offset} of partition ${event.partition} violates the contract: ${reason}`);
  }
}
