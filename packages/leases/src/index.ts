export * from './lease.js';
export { LeaseStore, StoreFailedError } from './store.js';
export type { LeaseStoreOptions, LeaseStoreStats } from './store.js';
export type { StoreIo } from './files.js';
export { StoreCorruptError } from './reader.js';
export type { CorruptionPolicy } from './reader.js';
export { StoreLockedError } from './lock.js';
