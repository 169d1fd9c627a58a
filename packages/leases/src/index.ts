export * from './lease.js';
export { LeaseStore, StoreFailedError } from './store.js';
export { LeaseRecords } from './records.js';
export type { RecordObserver } from './records.js';
export {
  decodeLeaseString,
  encodeLeaseBody,
  encodeLeaseString,
  leaseStringBilled,
  leaseStringEnds,
  leaseStringIds,
  leaseStringState,
} from './codec.js';
export type { LeaseStoreOptions, LeaseStoreStats, WriteOptions } from './store.js';
export type { StoreIo } from './files.js';
export { StoreCorruptError } from './reader.js';
export type { CorruptionPolicy } from './reader.js';
export { StoreLockedError } from './lock.js';
export { parseIscLeases } from './isc-import.js';
export { isKeaLeaseFile, parseKeaLeases4 } from './kea-import.js';
export type { IscLease, IscFailoverState, IscLeaseDiagnostic, IscLeasesImport } from './isc-import.js';
