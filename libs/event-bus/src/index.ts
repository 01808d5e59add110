export * from './admin/provision-topics';
export * from './kafka';
export * from './producer';
export * from './outbox/outbox';
export * from './projection/projection-runner';
export * from './migrations/event-bus-tables';
