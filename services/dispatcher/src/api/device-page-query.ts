import { z } from 'zod';
import { ZodValidationPipe } from '@push/service-kit';
import { idProblem } from '../domain/validation';
import { type DeviceKey, TARGET_STATES } from '../projections/dispatches/dispatch-queries';

export const DEFAULT_DEVICES_LIMIT = 100;
export const MAX_DEVICES_LIMIT = 1000;

/** Where a page of a dispatch's devices ends: the dispatch and its last device. */
export interface DeviceCursor extends DeviceKey {
  dispatch_id: string;
}

/**
 * `next` / `?after=`: base64url of the JSON `[dispatch_id, app_id, device_id]` of a page's last device. Opaque to
 * clients; it names its dispatch so that a cursor given to another dispatch is refused instead of paging from an
 * unrelated place.
 */
export function encodeDeviceCursor(cursor: DeviceCursor): string {
  return Buffer.from(JSON.stringify([cursor.dispatch_id, cursor.app_id, cursor.device_id]), 'utf8').toString(
    'base64url',
  );
}

/** A cursor `encodeDeviceCursor` wrote, or null for anything else (base64url decoding alone accepts almost any text). */
export function decodeDeviceCursor(value: string): DeviceCursor | null {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) return null;
  const [dispatch_id, app_id, device_id] = parsed as unknown[];
  // Ids the read model can hold only: a NUL character would be a database error (a 500), not an empty page.
  const ids = [dispatch_id, app_id, device_id];
  if (!ids.every((id) => typeof id === 'string' && idProblem(id) === null)) return null;
  const cursor = { dispatch_id, app_id, device_id } as DeviceCursor;
  // The same bytes again, or it is not one of ours (other JSON spacing, broken UTF-8 that decoded to U+FFFD, …).
  return encodeDeviceCursor(cursor) === value ? cursor : null;
}

const LIMIT_PROBLEM = `must be an integer from 1 to ${MAX_DEVICES_LIMIT}`;

/** `?limit=`: 1 to 1000 devices a page, 100 when absent. A 400 names `limit`. */
export const devicesLimit = new ZodValidationPipe(
  z
    .string({ error: LIMIT_PROBLEM })
    .regex(/^[0-9]{1,4}$/, LIMIT_PROBLEM)
    .transform(Number)
    .pipe(z.number().min(1, LIMIT_PROBLEM).max(MAX_DEVICES_LIMIT, LIMIT_PROBLEM))
    .default(DEFAULT_DEVICES_LIMIT),
);

/** `?after=`: a previous page's `next`; whether it is this dispatch's is the controller's check. A 400 names `after`. */
export const devicesAfter = new ZodValidationPipe(
  z
    .string({ error: 'must be the next of a previous page' })
    .transform((value, ctx) => {
      const cursor = decodeDeviceCursor(value);
      if (cursor === null)
        ctx.addIssue({ code: 'custom', message: 'is not a cursor of this endpoint: give the next of a previous page' });
      return cursor ?? z.NEVER;
    })
    .optional(),
);

/** `?state=`: only the devices in one state. A 400 names `state`. */
export const devicesState = new ZodValidationPipe(
  z.enum(TARGET_STATES, { error: `must be one of ${TARGET_STATES.join(', ')}` }).optional(),
);
