import {
  backgroundPushEnabled,
  exportUser,
  foregroundPushEnabled,
  pushEnabled,
  reachability,
  type UserView,
} from '@push/segments';

/** The CSV user export's columns (DESIGN §9), in order. */
export const CSV_COLUMNS = [
  'external_id',
  'push_subscribe',
  'push_opted_in_at',
  'push_enabled',
  'foreground_push_enabled',
  'background_push_enabled',
  'ios_push_reachable',
  'android_push_reachable',
  'web_push_reachable',
  'push_tokens',
] as const;

/** RFC 4180 ends every record with CRLF. */
const EOL = '\r\n';

/** A cell a spreadsheet would read as a formula (or whose leading tab / CR it would eat): `=`, `+`, `-`, `@`, TAB, CR. */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A cell RFC 4180 must quote: a comma, a double quote, CR or LF in it. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One cell: a value a spreadsheet would take for a formula is prefixed with `'` (CSV injection — a user id or app id
 * is whatever a client sent), then quoted per RFC 4180 when it holds a comma, a quote or a line break (quotes doubled).
 */
export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One record of cells, CRLF-terminated. */
export function csvRecord(values: readonly string[]): string {
  return values.map(csvCell).join(',') + EOL;
}

export const CSV_HEADER = csvRecord(CSV_COLUMNS);

/**
 * A user's row: G7's `push_subscribe`/`push_opted_in_at` as export/ids gives them, G2–G4 and G6 as `true`/`false`, and
 * `push_tokens` as `app:platform:device_id:foreground|background` joined by `;` (the token itself left out) — a token
 * is `foreground` when foreground-enabled, else `background` (DESIGN §9 names only the two).
 */
export function csvUserRow(user: UserView): string {
  const exported = exportUser(user);
  const reachable = reachability(user);
  return csvRecord([
    exported.external_id,
    exported.push_subscribe,
    exported.push_opted_in_at ?? '',
    String(pushEnabled(user)),
    String(foregroundPushEnabled(user)),
    String(backgroundPushEnabled(user)),
    String(reachable.ios_push),
    String(reachable.android_push),
    String(reachable.web_push),
    exported.push_tokens
      .map((t) => `${t.app}:${t.platform}:${t.device_id}:${t.notifications_enabled ? 'foreground' : 'background'}`)
      .join(';'),
  ]);
}
