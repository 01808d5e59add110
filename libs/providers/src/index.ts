export * from './provider-reasons';
