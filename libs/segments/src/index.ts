export * from './filter';
export * from './evaluate';
export * from './audience-index';
export * from './user-id-table';
export * from './random-filter';
