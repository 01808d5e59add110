import type { DispatchRequested } from '@push/contracts';
import { MAX_FILTER_USER_IDS, formatPath, parseFilter } from '@push/segments';
import { audienceOf } from './dispatch-plan';

/** The longest ids (UTF-8 bytes) the read model stores and indexes: token-registry's limit for the same ids. */
export const MAX_ID_BYTES = 256;
/** The most user ids one UserAudience may name: the filter language's limit for `user_ids`. */
export const MAX_AUDIENCE_USER_IDS = MAX_FILTER_USER_IDS;

/** Why an id cannot be one the platform stores, or null. */
export function idProblem(value: string): string | null {
  if (value.trim().length === 0) return 'is empty';
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes > MAX_ID_BYTES ? `is longer than ${MAX_ID_BYTES} bytes (UTF-8): ${bytes} bytes` : null;
}

/** Why a SegmentAudience's `filter_json` is not a §5 filter (naming the JSON path), or null. */
export function filterJsonProblem(filterJson: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(filterJson);
  } catch (error) {
    return `is not JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  const parsed = parseFilter(value);
  if (parsed.ok) return null;
  return parsed.issues
    .map((issue) => (issue.path.length > 0 ? `${formatPath(issue.path)}: ${issue.message}` : issue.message))
    .join('; ');
}

/**
 * Contract checks the schema cannot express, for `DispatchRequested`: ids the read model can hold, a segment filter
 * that parses, at most `MAX_AUDIENCE_USER_IDS` users, and a DeviceAudience only for a transactional dispatch (D2). A
 * problem dead-letters the request (`CONTRACT_VIOLATION`) with this reason: nothing is sent for it.
 */
export function requestProblem(request: DispatchRequested): string | null {
  const ids: [string, string][] = [
    ['dispatch_id', request.dispatch_id],
    ['workspace_id', request.workspace_id],
  ];
  if (request.campaign_id !== null) ids.push(['campaign_id', request.campaign_id]);
  const audience = audienceOf(request.audience);
  switch (audience.kind) {
    case 'users':
      if (audience.user_ids.length > MAX_AUDIENCE_USER_IDS)
        return `audience.user_ids: more than ${MAX_AUDIENCE_USER_IDS} user ids (${audience.user_ids.length})`;
      audience.user_ids.forEach((id, i) => ids.push([`audience.user_ids[${i}]`, id]));
      break;
    case 'segment': {
      const problem = filterJsonProblem(audience.filter_json);
      if (problem) return `audience.filter_json ${problem}`;
      break;
    }
    case 'device':
      if (!request.options.transactional)
        return 'audience: a DeviceAudience is allowed for transactional dispatches only (D2)';
      ids.push(['audience.app_id', audience.app_id], ['audience.device_id', audience.device_id]);
      break;
  }
  request.options.app_ids.forEach((id, i) => ids.push([`options.app_ids[${i}]`, id]));
  for (const [field, value] of ids) {
    const problem = idProblem(value);
    if (problem) return `${field} ${problem}`;
  }
  return null;
}
