export * from './admin/provision-topics';
