import type { Logger } from 'pino';
import { MessageKeys, TopicName, Topics } from '@push/contracts';
import { LogReader } from '../log/log-reader';
import { decodeMessage } from '../export/export';
import { AsOfState, AsOfSubject, LoggedEvent, foldAsOf } from './fold';

/** Topics keyed by device (DESIGN §3, the owners' READMEs): a device's records are on one partition of each. */
const DEVICE_TOPICS: readonly TopicName[] = [
  Topics.DeviceEvents,
  Topics.DeviceTokens,
  Topics.DeviceDelivery,
  Topics.DispatchOutcomes,
];
/** Topics keyed by user. */
const USER_TOPICS: readonly TopicName[] = [Topics.UserEvents, Topics.UserSubscriptions];

export interface AsOfOptions {
  brokers: string[];
  topicPrefix?: string;
  logger?: Logger;
  subject: AsOfSubject;
  asOf: number;
}

export interface AsOfResult {
  state: AsOfState;
  /** Messages of the subject's keys that could not be decoded (left out of the answer, reported). */
  undecodable: { topic: string; partition: number; offset: string; code: string }[];
}

/**
 * Reads the topics (to the log end captured at the start) and keeps the decoded records whose key passes `keepKey`
 * (checked before decoding: most of the log is other devices') and that `keepEvent` keeps.
 */
async function collect(
  options: AsOfOptions,
  topics: readonly TopicName[],
  keepKey: (key: string | null) => boolean,
  undecodable: AsOfResult['undecodable'],
  keepEvent: (event: LoggedEvent) => boolean = () => true,
): Promise<LoggedEvent[]> {
  const reader = new LogReader({ brokers: options.brokers, topicPrefix: options.topicPrefix, logger: options.logger });
  const ranges = await reader.plan({ topics });
  const kept: LoggedEvent[] = [];
  await reader.read(ranges, (messages) => {
    for (const message of messages) {
      if (!keepKey(message.key)) continue;
      const decoded = decodeMessage(message);
      if ('error' in decoded) {
        undecodable.push({ ...message, code: decoded.error.code });
        continue;
      }
      const event: LoggedEvent = {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        key: message.key,
        timestamp: message.timestamp,
        type: decoded.event.type,
        data: decoded.event.data as LoggedEvent['data'],
      };
      if (keepEvent(event)) kept.push(event);
    }
  });
  return kept;
}

/**
 * The state of a user or a device as of a time, and the records that made it so: the devices the user ever had (from
 * token-registry's records naming the user, and the SDK events naming the user), then every record of those devices
 * and of the user, folded by `foldAsOf`.
 */
export async function asOf(options: AsOfOptions): Promise<AsOfResult> {
  const { subject } = options;
  const undecodable: AsOfResult['undecodable'] = [];
  const workspacePrefix = `${subject.workspace_id}:`;
  let deviceKeys: Set<string>;
  if (subject.kind === 'user') {
    const naming = await collect(
      options,
      [Topics.DeviceTokens, Topics.DeviceEvents],
      (key) => key !== null && key.startsWith(workspacePrefix),
      undecodable,
      (e) =>
        e.data.workspace_id === subject.workspace_id &&
        (e.data.user_id === subject.user_id || e.data.previous_user_id === subject.user_id),
    );
    deviceKeys = new Set(naming.map((e) => e.key as string));
  } else deviceKeys = new Set([MessageKeys.device(subject.workspace_id, subject.app_id, subject.device_id)]);

  const deviceRecords = await collect(
    options,
    DEVICE_TOPICS,
    (key) => key !== null && deviceKeys.has(key),
    undecodable,
  );
  const userId = subject.kind === 'user' ? subject.user_id : foldAsOf(deviceRecords, subject, options.asOf).user_id;
  const userKey = userId === null ? null : MessageKeys.user(subject.workspace_id, userId);
  const userRecords =
    userKey === null ? [] : await collect(options, USER_TOPICS, (key) => key === userKey, undecodable);
  return { state: foldAsOf([...deviceRecords, ...userRecords], subject, options.asOf), undecodable };
}
