export * from './postgres';
export * from './log-capture';
