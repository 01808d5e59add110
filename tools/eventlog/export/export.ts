import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { SingleBar } from 'cli-progress';
import type { Logger } from 'pino';
import { CodecError, TopicName, contractRegistry } from '@push/contracts';
import { LogMessage, LogReader, LogSelection, rangeSize } from '../log/log-reader';
import { DecodedEvent, EventFilter, isEmptyFilter, matchesFilter } from './filters';
import { CSV_HEADER, ExportFormat, ExportRow, lineOf } from './formats';

export interface ExportOptions {
  brokers: string[];
  topicPrefix?: string;
  selection: LogSelection;
  filter: EventFilter;
  format: ExportFormat;
  /** A file path; absent: stdout. */
  out?: string;
  /** Show a progress bar on stderr (the CLI: when stderr is a terminal). */
  progress: boolean;
  logger?: Logger;
  /** Called once reading started (tests and `--follow` use it to stop the export). */
  onReader?: (reader: LogReader) => void;
}

export interface ExportSummary {
  /** Messages in the ranges read (time-filtered ones included). */
  scanned: number;
  written: number;
  /** Undecodable messages, each written as a line with its error (never dropped). */
  undecodable: { topic: string; partition: number; offset: string; code: string; message: string }[];
}

/** The event of a message, or why it has none: the codec's error code, or EMPTY for a message without a value. */
export function decodeMessage(
  message: LogMessage,
): { event: DecodedEvent } | { error: { code: string; message: string } } {
  if (!message.value) return { error: { code: 'EMPTY', message: 'the message has no value' } };
  try {
    return { event: contractRegistry.decode(message.topic as TopicName, message.value) };
  } catch (error) {
    if (error instanceof CodecError) return { error: { code: error.code, message: error.message } };
    throw error;
  }
}

/** Writes `text`, waiting for the stream to drain when its buffer is full (a slow disk or pipe holds the reader back). */
async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * Reads the selected ranges of the log (to the log end captured at the start, or on with `--follow`), decodes each
 * message with the contract's schemas, keeps those the filter keeps, and writes them as NDJSON or CSV. Undecodable
 * messages are always written (whatever the filter: their fields are unknown) and listed in the summary.
 */
export async function exportLog(options: ExportOptions): Promise<ExportSummary> {
  const reader = new LogReader({ brokers: options.brokers, topicPrefix: options.topicPrefix, logger: options.logger });
  const ranges = await reader.plan(options.selection);
  const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
  if (options.out) await once(out, 'open');
  const line = lineOf(options.format);
  const everything = isEmptyFilter(options.filter);
  const summary: ExportSummary = { scanned: 0, written: 0, undecodable: [] };
  const total = rangeSize(ranges);
  const bar = options.progress
    ? new SingleBar({
        format:
          total === null
            ? 'export {value} messages, {written} written'
            : 'export [{bar}] {percentage}% {value}/{total} messages, {written} written, ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
      })
    : undefined;
  bar?.start(total ?? 0, 0, { written: 0 });
  if (options.format === 'csv') await write(out, CSV_HEADER);
  options.onReader?.(reader);
  try {
    await reader.read(
      ranges,
      async (messages, scanned) => {
        let text = '';
        for (const message of messages) {
          const decoded = decodeMessage(message);
          const row: ExportRow = {
            topic: message.topic,
            partition: message.partition,
            offset: message.offset,
            key: message.key,
            timestamp: message.timestamp,
          };
          if ('event' in decoded) {
            if (!everything && !matchesFilter(options.filter, decoded.event)) continue;
            row.event = decoded.event;
          } else {
            row.error = decoded.error;
            row.value = message.value;
            summary.undecodable.push({
              topic: message.topic,
              partition: message.partition,
              offset: message.offset,
              ...decoded.error,
            });
          }
          text += line(row);
          summary.written++;
        }
        summary.scanned += scanned;
        if (text) await write(out, text);
        bar?.update(summary.scanned, { written: summary.written });
      },
      { from: options.selection.fromTime, to: options.selection.toTime },
    );
  } finally {
    bar?.stop();
    if (options.out) {
      out.end();
      await once(out, 'finish');
    }
  }
  return summary;
}
