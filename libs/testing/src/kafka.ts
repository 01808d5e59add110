import { randomUUID } from 'node:crypto';
import { KafkaMessage } from 'kafkajs';
import type { TopicName } from '@push/contracts';
import { createKafka, provisionTopics } from '@push/event-bus';

export function testBrokers(): string[] {
  return (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
}

/** A topic prefix unique to one test file, so that parallel runs never see each other's messages. */
export function uniqueTopicPrefix(name: string): string {
  return `test.${name}.${randomUUID().slice(0, 8)}.`;
}

/** Creates the prefixed contract topics (and their dead-letter topics). */
export async function createTestTopics(prefix: string, topics: readonly TopicName[], partitions = 2): Promise<void> {
  await provisionTopics({ brokers: testBrokers(), partitions, topics: topics.map((t) => prefix + t) });
}

export async function deleteTestTopics(prefix: string): Promise<void> {
  const admin = createKafka('test-cleanup', testBrokers()).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/** Moves a consumer group's committed offsets on `topic` back to the start, as an operator resetting it would. */
export async function rewindGroup(groupId: string, topic: string): Promise<void> {
  const admin = createKafka('test-rewind', testBrokers()).admin();
  await admin.connect();
  try {
    await admin.resetOffsets({ groupId, topic, earliest: true });
  } finally {
    await admin.disconnect();
  }
}

/** The number of messages ever written to `topic` (sum of its partitions' high watermarks). */
export async function messageCount(topic: string): Promise<number> {
  const admin = createKafka('test-count', testBrokers()).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Reads a topic from the beginning until `count` messages arrived (or fails after `timeoutMs`). */
export async function readMessages(topic: string, count: number, timeoutMs = 15_000): Promise<KafkaMessage[]> {
  const consumer = createKafka('test-reader', testBrokers()).consumer({
    groupId: `test-reader-${randomUUID()}`,
    maxWaitTimeInMs: 50,
  });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${messages.length} of ${count} messages on ${topic} after ${timeoutMs} ms`)),
        timeoutMs,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          messages.push(message);
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** Polls `probe` until it returns true. */
export async function eventually(
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
