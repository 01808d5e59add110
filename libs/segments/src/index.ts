export * from './filter';
export * from './evaluate';
