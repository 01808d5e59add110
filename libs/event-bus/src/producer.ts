import { CompressionTypes, IHeaders, Kafka, KafkaJSProtocolError, Producer, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import { EventOf, TopicName, encodeEvent } from '@push/contracts';
import { createKafka } from './kafka';
import { JavaCompatiblePartitioner } from './partitioner';

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
  private readonly kafka: Kafka;
  private producer: Producer;
  private readonly prefix: string;
  private connecting: Promise<void> | undefined;

  constructor(options: EventProducerOptions, kafka?: Kafka) {
    this.prefix = options.topicPrefix ?? '';
    this.kafka = kafka ?? createKafka(options.clientId, options.brokers, options.logger);
    this.producer = this.createProducer();
  }

  private createProducer(): Producer {
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Java-compatible murmur2 partitioning: other teams' producers put a key on the same partition as ours.
      createPartitioner: JavaCompatiblePartitioner,
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
   * not validate against its schema throws `UnencodableEventError` before anything is sent.
   */
  async publish<T extends TopicName>(topic: T, events: readonly KeyedEvent<T>[]): Promise<void> {
    await this.sendRaw(events.map((e) => this.encode({ topic, ...e } as OutgoingEvent)));
  }

  /** The encoded message of an event, addressed to its physical topic. Throws `UnencodableEventError`. */
  encode(event: OutgoingEvent): RawMessage {
    return { topic: this.prefix + event.topic, key: event.key, value: encodeEvent(event.topic, event.event as never) };
  }

  /**
   * Sends already-encoded messages (outbox rows, dead letters), in order per topic; resolves once acknowledged. Sent in
   * requests of at most `MAX_REQUEST_BYTES`, so that no partition's record batch exceeds the broker's
   * `message.max.bytes`, however many messages a caller passes.
   */
  async sendRaw(messages: readonly RawMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    for (const request of requestsOf(messages)) {
      try {
        await this.producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: request });
      } catch (error) {
        if (isFatalToIdempotence(error)) await this.replaceProducer();
        throw error;
      }
    }
  }

  /**
   * After a rejected request kafkajs's idempotent producer keeps the sequence numbers it had already assigned, and the
   * broker answers every later request with OUT_OF_ORDER_SEQUENCE_NUMBER: only a new producer id recovers.
   */
  private async replaceProducer(): Promise<void> {
    const broken = this.producer;
    this.producer = this.createProducer();
    this.connecting = undefined;
    await broken.disconnect().catch(() => undefined);
  }
}

/** Bytes of keys and values per produce request at most: well under the broker's default `message.max.bytes` (1 MiB). */
const MAX_REQUEST_BYTES = 512 * 1024;

const sizeOf = (m: RawMessage) => (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64;

/** Messages split into produce requests of at most `MAX_REQUEST_BYTES`, each grouped by topic, in order. */
function requestsOf(messages: readonly RawMessage[]): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let byTopic = new Map<string, TopicMessages>();
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m);
    if (bytes > 0 && bytes + size > MAX_REQUEST_BYTES) {
      requests.push([...byTopic.values()]);
      byTopic = new Map();
      bytes = 0;
    }
    bytes += size;
    let batch = byTopic.get(m.topic);
    if (!batch) byTopic.set(m.topic, (batch = { topic: m.topic, messages: [] }));
    batch.messages.push({ key: m.key, value: m.value, headers: m.headers });
  }
  if (byTopic.size > 0) requests.push([...byTopic.values()]);
  return requests;
}

/** OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, MESSAGE_TOO_LARGE: kafkajs's producer does not recover from these. */
const FATAL_TO_IDEMPOTENCE = new Set([45, 59, 10]);

function isFatalToIdempotence(error: unknown): boolean {
  return error instanceof KafkaJSProtocolError && FATAL_TO_IDEMPOTENCE.has(error.code);
}
