export * from './filter';
export * from './evaluate';
export * from './audience-index';
