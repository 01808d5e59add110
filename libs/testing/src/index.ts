export * from './postgres';
export * from './log-capture';
export * from './events';
export * from './kafka';
export * from './scratch-broker';
export * from './given-when-then';
export * from './service-under-test';
export * from './seeded-random';
