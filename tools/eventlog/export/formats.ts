import type { DecodedEvent } from './filters';

/** One exported line: where the message was in the log, and either the decoded event or why it could not be. */
export interface ExportRow {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Kafka's timestamp of the message, epoch ms. */
  timestamp: number;
  event?: DecodedEvent;
  /** An undecodable message: the codec's code (BAD_MAGIC, UNKNOWN_FINGERPRINT, …, EMPTY) and message. */
  error?: { code: string; message: string };
  /** The undecodable message's bytes, base64, so that nothing of it is lost. */
  value?: Buffer | null;
}

export type ExportFormat = 'ndjson' | 'csv';

const iso = (ms: number): string => {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
};

/**
 * NDJSON: one JSON object per line — `topic`, `partition`, `offset`, `key`, `timestamp` (ISO-8601), then `type` and
 * `event` (the record's fields as the codec decodes them: Avro's JSON, epoch-ms timestamps, wrapped unions), or
 * `error` and `value_base64` for a message that does not decode.
 */
export function ndjsonLine(row: ExportRow): string {
  const head = `{"topic":${JSON.stringify(row.topic)},"partition":${row.partition},"offset":${row.offset},"key":${JSON.stringify(row.key)},"timestamp":"${iso(row.timestamp)}"`;
  if (row.event) return `${head},"type":${JSON.stringify(row.event.type)},"event":${JSON.stringify(row.event.data)}}\n`;
  return `${head},"error":${JSON.stringify(row.error ?? null)},"value_base64":${JSON.stringify(row.value ? row.value.toString('base64') : null)}}\n`;
}

export const CSV_HEADER = 'topic,partition,offset,key,timestamp,type,workspace_id,event_id,occurred_at,event,error\n';

/**
 * A CSV cell: RFC 4180 (quoted when it holds a comma, a quote, CR or LF; quotes doubled) and, as the platform's other
 * CSV export (DESIGN §9), a cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`, so that a spreadsheet
 * shows it as text instead of running it as a formula (ids come from SDKs: anyone can choose them).
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV row under `CSV_HEADER`: the event's fields as one JSON cell, its common fields in their own columns. */
export function csvLine(row: ExportRow): string {
  const data = (row.event?.data ?? {}) as Record<string, unknown>;
  const occurredAt = typeof data.occurred_at === 'number' ? iso(data.occurred_at) : null;
  const cells = [
    csvCell(row.topic),
    csvCell(row.partition),
    csvCell(row.offset),
    csvCell(row.key),
    csvCell(iso(row.timestamp)),
    csvCell(row.event?.type),
    csvCell(typeof data.workspace_id === 'string' ? data.workspace_id : null),
    csvCell(typeof data.event_id === 'string' ? data.event_id : null),
    csvCell(occurredAt),
    csvCell(row.event ? JSON.stringify(row.event.data) : null),
    csvCell(row.error ? `${row.error.code}: ${row.error.message}` : null),
  ];
  return `${cells.join(',')}\n`;
}

export const lineOf = (format: ExportFormat): ((row: ExportRow) => string) => (format === 'csv' ? csvLine : ndjsonLine);
