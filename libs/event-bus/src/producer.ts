import { CompressionTypes, IHeaders, Kafka, Partitioners, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { EventOf, TopicName, encodeEvent } from '@push/contracts';
import { createKafka } from './kafka';

/** One event to publish on a known topic, keyed as the contract says (`MessageKeys`). */
export interface KeyedEvent<T extends TopicName = TopicName> {
  key: string;
  event: EventOf<T>;
}

/** An event together with its topic: what a projection returns for the outbox. */
export interface OutgoingEvent<T extends TopicName = TopicName> extends KeyedEvent<T> {
  topic: T;
}

/** An already-encoded message; `topic` is the physical topic name (prefix included). */
export interface RawMessage {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | null;
  headers?: IHeaders;
}

export interface EventProducerOptions {
  brokers: string[];
  clientId: string;
  logger?: Logger;
  /** Prepended to every contract topic name (isolated test runs, several deployments on one cluster); default none. */
  topicPrefix?: string;
}

/**
 * The one producer of every service: idempotent, acks from all in-sync replicas, keys as the contract says, and every
 * record encoded (and so validated) against its schema before anything leaves.
 */
export class EventProducer {
  private readonly producer: Producer;
  private readonly prefix: string;
  private connecting: Promise<void> | undefined;

  constructor(options: EventProducerOptions, kafka?: Kafka) {
    this.prefix = options.topicPrefix ?? '';
    this.producer = (kafka ?? createKafka(options.clientId, options.brokers, options.logger)).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Java-compatible murmur2 partitioning: other teams' producers put a key on the same partition as ours.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    await this.connecting;
  }

  async disconnect(): Promise<void> {
    if (!this.connecting) return;
    this.connecting = undefined;
    await this.producer.disconnect();
  }

  /**
   * Encodes every event of `topic` and sends them; resolves once Kafka acknowledged all of them. A record that does
   * not validate against its schema throws `ContractViolationError` before anything is sent.
   */
  async publish<T extends TopicName>(topic: T, events: readonly KeyedEvent<T>[]): Promise<void> {
    await this.sendRaw(events.map((e) => this.encode({ topic, ...e } as OutgoingEvent)));
  }

  /** The encoded message of an event, addressed to its physical topic. Throws `ContractViolationError`. */
  encode(event: OutgoingEvent): RawMessage {
    return { topic: this.prefix + event.topic, key: event.key, value: encodeEvent(event.topic, event.event as never) };
  }

  /** Sends already-encoded messages (outbox rows, dead letters), in order per topic; resolves once acknowledged. */
  async sendRaw(messages: readonly RawMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    const byTopic = new Map<string, RawMessage[]>();
    for (const m of messages) {
      const batch = byTopic.get(m.topic);
      if (batch) batch.push(m);
      else byTopic.set(m.topic, [m]);
    }
    await this.producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, batch]) => ({
        topic,
        messages: batch.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      })),
    });
  }
}
