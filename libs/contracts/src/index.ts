export * from './topics';
export * from './generated/contracts';
export * from './codec/errors';
export * from './codec/fingerprint';
export * from './codec/registry';
export * from './codec/compatibility';
