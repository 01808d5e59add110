import { z } from 'zod';
import type { DispatchRequested } from '@push/contracts';
import { MAX_AUDIENCE_USER_IDS, filterJsonProblem, idProblem } from '../domain/validation';

/** An id the platform can store: not blank, no NUL character, at most 256 bytes of UTF-8. */
const id = z.string().superRefine((value, ctx) => {
  const problem = idProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `must be an id: ${problem}` });
});

const audience = z
  .strictObject({
    user_ids: z
      .array(id)
      .max(MAX_AUDIENCE_USER_IDS)
      .optional()
      .meta({
        description: `UserAudience: these users' eligible devices (1 to ${MAX_AUDIENCE_USER_IDS} external ids)`,
      }),
    filter_json: z
      .string()
      .superRefine((value, ctx) => {
        const problem = filterJsonProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .meta({ description: 'SegmentAudience: a DESIGN §5 filter as a JSON string, e.g. {"push_enabled":true}' }),
    app_id: id.optional().meta({ description: 'DeviceAudience (with device_id; transactional only): the app' }),
    device_id: id.optional().meta({ description: 'DeviceAudience (with app_id; transactional only): the device' }),
  })
  .superRefine((value, ctx) => {
    const kinds = [
      value.user_ids !== undefined,
      value.filter_json !== undefined,
      value.app_id !== undefined || value.device_id !== undefined,
    ].filter(Boolean).length;
    if (kinds !== 1)
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one audience: {user_ids}, {filter_json} or {app_id, device_id}',
      });
    else if ((value.app_id === undefined) !== (value.device_id === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [value.app_id === undefined ? 'app_id' : 'device_id'],
        message: 'is required: a DeviceAudience names both app_id and device_id',
      });
    else if (value.user_ids !== undefined && value.user_ids.length === 0)
      ctx.addIssue({ code: 'custom', path: ['user_ids'], message: 'must name at least one user' });
  })
  .meta({
    description: 'Who to send to: exactly one of {user_ids}, {filter_json} or {app_id, device_id} (DispatchRequested)',
  });

const message = z
  .strictObject({
    title: z.string().min(1).nullish().meta({ description: 'visible title' }),
    body: z.string().min(1).nullish().meta({ description: 'visible body' }),
    data: z.record(z.string(), z.string()).default({}).meta({ description: 'custom key/value data' }),
    silent: z.boolean().default(false).meta({ description: 'a background push (D3): no title or body, never to web' }),
    ttl_seconds: z.int().min(0).max(2_419_200).nullish().meta({ description: 'seconds the provider may hold it' }),
    collapse_key: z
      .string()
      .min(1)
      .max(64)
      .nullish()
      .meta({ description: 'pushes with the same key replace each other' }),
    priority: z.enum(['HIGH', 'NORMAL']).default('HIGH'),
  })
  .superRefine((value, ctx) => {
    if (value.silent) {
      for (const field of ['title', 'body'] as const)
        if (value[field] != null)
          ctx.addIssue({ code: 'custom', path: [field], message: 'a silent push has no visible part (D3)' });
    } else if (value.title == null && value.body == null)
      ctx.addIssue({ code: 'custom', path: ['body'], message: 'a visible push needs a title or a body (or silent)' });
  });

const options = z
  .strictObject({
    include_unsubscribed: z.boolean().default(false).meta({ description: 'ignore the subscription state (D2)' }),
    transactional: z
      .boolean()
      .default(false)
      .meta({ description: 'ignore the subscription state and allow a DeviceAudience (D2)' }),
    last_active_device_only: z.boolean().default(false).meta({ description: "only each user's latest device (D4)" }),
    app_ids: z.array(id).default([]).meta({ description: 'only these apps; empty: all apps' }),
  })
  .default({ include_unsubscribed: false, transactional: false, last_active_device_only: false, app_ids: [] });

/**
 * The body of `POST /dispatches`: `DispatchRequested`'s fields in JSON (the workspace is the API key's, `occurred_at`
 * the time of the request; `dispatch_id` is generated when absent, and a repeated one is a redelivery: D5).
 */
export const dispatchBody = z
  .strictObject({
    dispatch_id: id
      .optional()
      .meta({ description: 'the dispatch id (generated when absent); a repeat sends nothing twice' }),
    campaign_id: id.nullish(),
    audience,
    message,
    options,
  })
  .superRefine((value, ctx) => {
    const isDevice = value.audience.app_id !== undefined;
    if (isDevice && !value.options.transactional)
      ctx.addIssue({
        code: 'custom',
        path: ['options', 'transactional'],
        message: 'must be true for a DeviceAudience (app_id, device_id): D2',
      });
  });

export type DispatchBody = z.infer<typeof dispatchBody>;

/** The contract record of a validated body. */
export function dispatchRequestedOf(
  body: DispatchBody,
  workspaceId: string,
  dispatchId: string,
  now: number,
): DispatchRequested {
  const { audience: a, message: m, options } = body;
  const audienceRecord: DispatchRequested['audience'] =
    a.user_ids !== undefined
      ? { 'push.dispatch.UserAudience': { user_ids: a.user_ids } }
      : a.filter_json !== undefined
        ? { 'push.dispatch.SegmentAudience': { filter_json: a.filter_json } }
        : { 'push.dispatch.DeviceAudience': { app_id: a.app_id!, device_id: a.device_id! } };
  return {
    dispatch_id: dispatchId,
    workspace_id: workspaceId,
    campaign_id: body.campaign_id ?? null,
    occurred_at: now,
    audience: audienceRecord,
    message: {
      title: m.title ?? null,
      body: m.body ?? null,
      data: m.data,
      silent: m.silent,
      ttl_seconds: m.ttl_seconds ?? null,
      collapse_key: m.collapse_key ?? null,
      priority: m.priority,
    },
    options,
  };
}
