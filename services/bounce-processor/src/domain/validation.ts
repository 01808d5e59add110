import { type DeviceTokenEvent, type DispatchOutcomeEvent, unreachable } from '@push/contracts';

/**
 * The longest ids and reasons (UTF-8 bytes) the read model stores and indexes, and the longest token a held bounce
 * keeps: the limits token-registry applies to the same ids and tokens, so nothing it accepts is refused here.
 */
export const MAX_ID_BYTES = 256;
export const MAX_TOKEN_BYTES = 2048;
export const MAX_REASON_BYTES = 256;

function problemOf(field: string, value: string, maxBytes: number): string | null {
  if (value.trim().length === 0) return `${field} is empty`;
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes > maxBytes ? `${field} is longer than ${maxBytes} bytes (UTF-8): ${bytes} bytes` : null;
}

function firstProblem(checks: [field: string, value: string, maxBytes: number][]): string | null {
  for (const [field, value, maxBytes] of checks) {
    const problem = problemOf(field, value, maxBytes);
    if (problem) return problem;
  }
  return null;
}

const deviceChecks = (data: {
  event_id: string;
  workspace_id: string;
  app_id: string;
  device_id: string;
}): [string, string, number][] => [
  ['event_id', data.event_id, MAX_ID_BYTES],
  ['workspace_id', data.workspace_id, MAX_ID_BYTES],
  ['app_id', data.app_id, MAX_ID_BYTES],
  ['device_id', data.device_id, MAX_ID_BYTES],
];

/**
 * Contract checks the schema cannot express, for the inputs bounce-processor applies: ids, tokens and reasons must not
 * be empty nor longer than the read model holds. A problem sends the event to the dead-letter topic with this reason;
 * the records it does not apply pass.
 */
export function inputProblem(input: DispatchOutcomeEvent | DeviceTokenEvent): string | null {
  switch (input.type) {
    case 'PushSent':
      return firstProblem(deviceChecks(input.data));
    case 'PushBounced':
      return firstProblem([
        ...deviceChecks(input.data),
        ['token', input.data.token, MAX_TOKEN_BYTES],
        ['provider_reason', input.data.provider_reason, MAX_REASON_BYTES],
      ]);
    case 'PushFailed':
      return firstProblem([...deviceChecks(input.data), ['reason', input.data.reason, MAX_REASON_BYTES]]);
    case 'TokenAssigned':
    case 'TokenReplaced':
    case 'TokenRenewed':
    case 'DeviceUserChanged':
      return firstProblem(deviceChecks(input.data));
    case 'DispatchCompleted':
    case 'DeviceSessionRecorded':
    case 'PushCapabilityChanged':
    case 'TokenRemoved':
    case 'UserFirstSeen':
      return null;
    default:
      return unreachable(input);
  }
}
