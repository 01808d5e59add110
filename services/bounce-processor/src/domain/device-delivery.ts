import type { DeliveryStatus, Platform } from '@push/contracts';

/** GET /devices/…/delivery keeps the last 50 outcomes of a device, newest first. */
export const HISTORY_LENGTH = 50;

export type OutcomeKind = 'sent' | 'bounced' | 'failed';

export interface HistoryEntry {
  outcome: OutcomeKind;
  /** The provider reason of a bounce, the reason of a failure; null for a send. */
  reason: string | null;
  at: number;
  dispatchId: string | null;
  eventId: string;
}

/** What bounce-processor knows of one device (`workspace_id, app_id, device_id`). */
export interface DeviceDelivery {
  platform: Platform | null;
  userId: string | null;
  status: DeliveryStatus;
  consecutiveBounces: number;
  /**
   * The `occurred_at` of the latest input applied (an outcome, or a registration of B2): an input older than this is
   * late and changes nothing, whatever topic or partition it came from.
   */
  asOf: number | null;
  /** The event ids applied at `asOf`: a repeat of one of them (same `event_id`) changes nothing. */
  idsAtAsOf: string[];
  lastOutcomeAt: number | null;
  /** Newest first, at most HISTORY_LENGTH. */
  history: HistoryEntry[];
}

export const unknownDevice: DeviceDelivery = {
  platform: null,
  userId: null,
  status: 'UNUSED',
  consecutiveBounces: 0,
  asOf: null,
  idsAtAsOf: [],
  lastOutcomeAt: null,
  history: [],
};

/** Late (older than the device's state) or a repeat of an input already applied: such an input changes nothing. */
export function isStaleOrRepeated(device: DeviceDelivery, at: number, eventId: string): boolean {
  if (device.asOf === null) return false;
  return at < device.asOf || (at === device.asOf && device.idsAtAsOf.includes(eventId));
}

/** The device after applying an input at `at` (the input is neither late nor a repeat). */
export function advanced(device: DeviceDelivery, at: number, eventId: string): DeviceDelivery {
  const idsAtAsOf = device.asOf === at ? [...device.idsAtAsOf, eventId] : [eventId];
  return { ...device, asOf: at, idsAtAsOf };
}

export function withOutcome(device: DeviceDelivery, entry: HistoryEntry): DeviceDelivery {
  return {
    ...device,
    lastOutcomeAt: entry.at,
    history: [entry, ...device.history].slice(0, HISTORY_LENGTH),
  };
}

/** B1: a send resets the bounces. */
export const afterSend = (device: DeviceDelivery): DeviceDelivery => ({
  ...device,
  status: 'SENT',
  consecutiveBounces: 0,
});

/** B1: bounced after one bounce, suppressed after two in a row. */
export function afterBounce(device: DeviceDelivery): DeviceDelivery {
  const consecutiveBounces = device.consecutiveBounces + 1;
  return { ...device, consecutiveBounces, status: consecutiveBounces >= 2 ? 'SUPPRESSED' : 'BOUNCED' };
}

/** B2: a registration of the device's token (or its user identifying with it) clears bounced/suppressed. */
export function afterRegistration(device: DeviceDelivery): DeviceDelivery {
  if (device.status !== 'BOUNCED' && device.status !== 'SUPPRESSED') return device;
  return { ...device, status: 'UNUSED', consecutiveBounces: 0 };
}
