// For the store's tests: one sample lease shape, and the teardown of the folders and stores a test made.
import { rm } from 'node:fs/promises';
import { BindingState, type Lease } from './lease.js';
import type { LeaseStore } from './store.js';

/** An active lease for `address` (hardware address ending in its last octet), with every time set. */
export function sampleLease(address: number, extra: Partial<Lease> = {}): Lease {
  return {
    address,
    state: BindingState.ACTIVE,
    starts: 1_700_000_000,
    ends: 1_700_003_600,
    tstp: 1_700_001_800,
    tsfp: 1_700_001_000,
    atsfp: 1_700_001_000,
    cltt: 1_700_000_000,
    hwType: 1,
    hwAddr: new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, address & 255]),
    ...extra,
  };
}

/** Closes the stores and removes the folders (emptying both lists); for an afterEach. */
export async function removeTestStores(stores: LeaseStore[], dirs: string[]): Promise<void> {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
}
