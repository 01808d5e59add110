/** Every Kafka topic of the contract (DESIGN §2–3), in one place. */
export const Topics = {
  DeviceEvents: 'sdk.device-events.v1',
  UserEvents: 'sdk.user-events.v1',
  DispatchRequests: 'dispatch.requests.v1',
  DispatchOutcomes: 'dispatch.outcomes.v1',
  DeviceTokens: 'token-registry.device-tokens.v1',
  UserSubscriptions: 'subscription-state.user-subscriptions.v1',
  DeviceDelivery: 'bounce-processor.device-delivery.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

export const ALL_EVENT_TOPICS: readonly TopicName[] = Object.values(Topics);

/** Undecodable or contract-violating messages of `topic` go here unchanged (DESIGN §3.5). */
export const dlqTopicOf = (topic: string): string => `${topic}.dlq`;

/** Message keys (DESIGN §3): they keep each device's and each user's events in one partition, in order. */
export const MessageKeys = {
  device: (workspaceId: string, appId: string, deviceId: string): string => `${workspaceId}:${appId}:${deviceId}`,
  user: (workspaceId: string, userId: string): string => `${workspaceId}:${userId}`,
  dispatch: (dispatchId: string): string => dispatchId,
} as const;
