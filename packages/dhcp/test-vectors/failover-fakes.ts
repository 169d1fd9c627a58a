// A stand-in for the failover service's view of one relationship (not exported from the package), for the DHCP
// side's tests: ISC 4.4's rules with the state set by the test.
import { BindingState, type Lease } from '@hadhcp/leases';
import type { FailoverView } from '../src/core/failover-policy.js';

/**
 * One relationship, as a primary or a secondary. `servesKey` splits on the key's last octet (buckets 0..split-1
 * are the primary's, as ISC's `split`), a stand-in for the RFC 3074 hash, which is the failover package's to
 * compute and test: here the test chooses a client's side by its last MAC octet.
 */
export class FakeFailoverView implements FailoverView {
  state: 'normal' | 'communications-interrupted' | 'partner-down' | 'recover' = 'normal';
  split = 128;
  maxSecs = 0;
  mclt = 3600;
  /** stos of partner-down (seconds): the partner's free leases become ours MCLT after it. */
  partnerDownSince = 0;
  readonly asked: string[] = [];

  constructor(
    readonly name: string,
    readonly role: 'primary' | 'secondary',
  ) {}

  scope(): 'all' | 'own' | 'none' {
    if (this.state === 'normal' || this.state === 'partner-down') return 'all';
    return this.state === 'communications-interrupted' ? 'own' : 'none';
  }

  loadBalancing(): boolean {
    return this.state === 'normal';
  }

  servesKey(key: Uint8Array): boolean {
    const primary = (key[key.length - 1] ?? 0) < this.split;
    this.asked.push(`key ${key[key.length - 1]}`);
    return this.role === 'primary' ? primary : !primary;
  }

  loadBalanceMaxSeconds(): number {
    return this.maxSecs;
  }

  /** ISC lease_mine_to_reallocate. */
  mayAllocate(lease: Lease | undefined, nowSec: number): boolean {
    const state = lease?.state ?? BindingState.FREE;
    const tsfp = lease?.tsfp ?? 0;
    const down = this.state === 'partner-down';
    switch (state) {
      case BindingState.FREE:
      case BindingState.BACKUP: {
        const since = Math.max(this.partnerDownSince, tsfp);
        if (down && since + this.mclt < nowSec) return true;
        return (state === BindingState.FREE) === (this.role === 'primary');
      }
      case BindingState.EXPIRED:
      case BindingState.RELEASED:
      case BindingState.RESET:
        return down && tsfp < nowSec;
      default:
        return false;
    }
  }

  /** failover's mclt.ts ackTimes, written out. */
  ackTimes(desired: number, lease: Lease | undefined, nowSec: number) {
    const tsfp = lease?.tsfp ?? 0;
    let leaseTime = desired;
    if (desired > this.mclt) {
      if (tsfp <= nowSec) leaseTime = this.mclt;
      else if (nowSec + desired > tsfp + this.mclt) leaseTime = tsfp - nowSec + this.mclt;
    }
    const tstp = Math.min(0xffffffff, nowSec + desired + Math.floor(leaseTime / 2));
    return { leaseTime, tstp, tsfp: tstp < tsfp ? tstp : tsfp };
  }
}
