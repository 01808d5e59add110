import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SdkUserEvent, SubscriptionState } from '@push/contracts';
import { MAX_ID_BYTES } from '../domain/validation';

/** Braze's limit per request, for each of `attributes`, `events` and `purchases`. */
export const MAX_OBJECTS_PER_REQUEST = 75;

export const PUSH_SUBSCRIBE = ['opted_in', 'subscribed', 'unsubscribed'] as const;
export type PushSubscribe = (typeof PUSH_SUBSCRIBE)[number];

const STATE_OF: Record<PushSubscribe, SubscriptionState> = {
  opted_in: 'OPTED_IN',
  subscribed: 'SUBSCRIBED',
  unsubscribed: 'UNSUBSCRIBED',
};

/** `push_subscribe` as the API spells it (lower case, as in Braze). */
export const pushSubscribeOf = (state: SubscriptionState): PushSubscribe => state.toLowerCase() as PushSubscribe;

const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'is required' : `expected ${what}`;

/** A user id as stored: not blank, no NUL character (Postgres text cannot hold one), at most MAX_ID_BYTES of UTF-8. */
const externalId = z
  .string({ error: required('a string') })
  .refine((value) => value.trim().length > 0, 'must not be blank')
  .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters')
  .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_ID_BYTES, `is longer than ${MAX_ID_BYTES} bytes (UTF-8)`);

/** One attributes object: other profile attributes are accepted and ignored (Braze clients send many). */
const attribute = z.looseObject(
  {
    external_id: externalId,
    push_subscribe: z
      .enum(PUSH_SUBSCRIBE, {
        error: (issue) =>
          `expected one of ${PUSH_SUBSCRIBE.join('|')}, got ${issue.input === null ? 'null' : JSON.stringify(issue.input)}`,
      })
      .optional(),
  },
  { error: required('an object') },
);

/** `events` and `purchases`: accepted when they are arrays of objects, and ignored. */
const ignoredObjects = (name: string) =>
  z
    .array(z.looseObject({}, { error: required('an object') }), { error: required(`an array of ${name}`) })
    .max(MAX_OBJECTS_PER_REQUEST, `at most ${MAX_OBJECTS_PER_REQUEST} ${name} per request`)
    .optional();

/** The body of `POST /users/track` (Braze-compatible). */
export const usersTrackBody = z
  .looseObject(
    {
      attributes: z
        .array(attribute, { error: required('an array of attributes objects') })
        .max(MAX_OBJECTS_PER_REQUEST, `at most ${MAX_OBJECTS_PER_REQUEST} attributes per request`)
        .optional(),
      events: ignoredObjects('events'),
      purchases: ignoredObjects('purchases'),
    },
    { error: 'expected a JSON object' },
  )
  .refine(
    (body) => body.attributes !== undefined || body.events !== undefined || body.purchases !== undefined,
    'expected at least one of attributes, events, purchases',
  );

export type UsersTrackBody = z.infer<typeof usersTrackBody>;

/** The body of `PUT /users/{user_id}/subscription` (the console's control, DESIGN §9). */
export const subscriptionBody = z.strictObject(
  {
    push_subscribe: z.enum(PUSH_SUBSCRIBE, {
      error: (issue) =>
        issue.input === undefined
          ? 'is required'
          : `expected one of ${PUSH_SUBSCRIBE.join('|')}, got ${issue.input === null ? 'null' : JSON.stringify(issue.input)}`,
    }),
  },
  { error: 'expected a JSON object {"push_subscribe": ...}' },
);

export type SubscriptionBody = z.infer<typeof subscriptionBody>;

/** The `PushSubscriptionSet` (source DASHBOARD) of a console change. */
export function dashboardEventOf(
  body: SubscriptionBody,
  workspaceId: string,
  userId: string,
  now: number,
): SdkUserEvent {
  return {
    type: 'PushSubscriptionSet',
    data: {
      event_id: randomUUID(),
      workspace_id: workspaceId,
      user_id: userId,
      occurred_at: now,
      state: STATE_OF[body.push_subscribe],
      source: 'DASHBOARD',
    },
  };
}

/**
 * The `PushSubscriptionSet` events (source REST) of a valid request, in the order of its attributes: a user named
 * twice gets both, of the same millisecond, and the later one wins (log order, S2).
 */
export function subscriptionEventsOf(body: UsersTrackBody, workspaceId: string, now: number): SdkUserEvent[] {
  return (body.attributes ?? []).flatMap((entry) =>
    entry.push_subscribe === undefined
      ? []
      : [
          {
            type: 'PushSubscriptionSet' as const,
            data: {
              event_id: randomUUID(),
              workspace_id: workspaceId,
              user_id: entry.external_id,
              occurred_at: now,
              state: STATE_OF[entry.push_subscribe],
              source: 'REST' as const,
            },
          },
        ],
  );
}
