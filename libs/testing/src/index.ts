export * from './postgres';
export * from './log-capture';
export * from './events';
