import type { IHeaders, KafkaMessage } from 'kafkajs';
import { dlqTopicOf } from '@push/contracts';
import type { RawMessage } from '../producer';

/**
 * Why a message is dead-lettered: a codec error code, a violation a projection found, or `UNPROCESSABLE`: the message
 * decoded and validated, but applying it alone fails every time with an error that is not the infrastructure's.
 */
export type DeadLetterCode =
  | 'BAD_MAGIC'
  | 'UNKNOWN_FINGERPRINT'
  | 'TRUNCATED'
  | 'INVALID_BODY'
  | 'WRONG_TOPIC'
  | 'EMPTY'
  | 'CONTRACT_VIOLATION'
  | 'UNPROCESSABLE';

/** The message unchanged (key, value, original headers) for `<topic>.dlq`, with headers naming the error and the source. */
export function deadLetter(
  topic: string,
  partition: number,
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>,
  code: DeadLetterCode,
  reason: string,
): RawMessage {
  const headers: IHeaders = {
    ...message.headers,
    'dlq-error': reason,
    'dlq-error-code': code,
    'dlq-source-topic': topic,
    'dlq-source-partition': String(partition),
    'dlq-source-offset': message.offset,
  };
  return { topic: dlqTopicOf(topic), key: message.key, value: message.value, headers };
}
