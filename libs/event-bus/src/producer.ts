import { CompressionTypes, IHeaders, Kafka, Partitioners, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { EventOf, TopicName, encodeEvent } from '@push/contracts';
import { createKafka } from './kafka';

export interface OutgoingEvent<T extends TopicName = TopicName> {
  topic: T;
  key: string;
  event: EventOf<T>;
}

export interface RawMessage {
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers?: IHeaders;
}

/**
 * The one producer of every service: idempotent, acks from all in-sync replicas, keys as the contract says, and every
 * record encoded (and so validated) against its schema before it leaves.
 */
export class EventProducer {
  private readonly producer: Producer;
  private readonly prefix: string;
  private connected = false;

  constructor(options: { brokers: string[]; clientId: string; logger?: Logger; kafka?: Kafka; topicPrefix?: string }) {
    this.prefix = options.topicPrefix ?? '';
    const kafka = options.kafka ?? createKafka(options.clientId, options.brokers, options.logger);
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Java-compatible murmur2 partitioning: other teams' producers put a key on the same partition as ours.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    if (!this.connected) return;
    await this.producer.disconnect();
    this.connected = false;
  }

  /** Encodes and sends; resolves once Kafka has acknowledged every message. Throws ContractViolationError first. */
  async publish(events: OutgoingEvent[]): Promise<void> {
    await this.sendRaw(events.map((e) => ({ topic: this.prefix + e.topic, key: e.key, value: encodeEvent(e.topic, e.event as never) })));
  }

  /** Sends already-encoded messages (outbox rows, dead letters) in order, grouped by topic; topics are physical names. */
  async sendRaw(messages: RawMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    const byTopic = new Map<string, RawMessage[]>();
    for (const m of messages) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m]);
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
