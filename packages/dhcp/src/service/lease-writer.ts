import type { Counters } from '@hadhcp/common';
import type { Lease, LeaseStore, StoreFailedError, WriteOptions } from '@hadhcp/leases';
import type { EventRun } from '../core/events.js';
import type { DhcpLogger } from './types.js';

/**
 * What made a lease change: an answered packet, expiry, a ping answered, the lease4-del command, or the failover
 * partner (its BNDUPD, and failover bookkeeping such as acknowledged times and pool balancing).
 */
export type LeaseCause = 'packet' | 'expiry' | 'ping' | 'lease4-del' | 'partner';

/**
 * The partner's hook (failover implements it: a BNDUPD per change). Zero loss: the reply that goes with a change
 * leaves only once the partner has it.
 */
export interface LeaseSync {
  /**
   * Told about every lease change once it is on disk. Call `released` when the reply that goes with it may leave
   * (failover: the partner's BNDACK, or at once when the partner is not reachable or the site chose lazy
   * updates). Never called for the partner's own updates (cause 'partner'), nor for a change the store refused.
   */
  committed(leases: readonly Lease[], cause: LeaseCause, released: () => void): void;
}

/** The standalone server has no partner: every reply leaves once its write is on disk. */
export const noLeaseSync: LeaseSync = { committed: (_leases, _cause, released) => released() };

export interface LeaseWriterDeps {
  store: LeaseStore;
  log: DhcpLogger;
  counters: Counters;
  sync?: LeaseSync;
  /** The store recovered and reloaded its records: rebuild what indexes them, before anyone else is told. */
  recovered: () => void;
  /** A throw from the partner's hook or a caller's callback: counted and logged by the service, never fatal. */
  internalError: (where: string, e: unknown) => void;
  /** Runs an event's `execute(...)` (argv: command, arguments); absent: execute is off and the command is skipped. */
  execute?: (argv: string[]) => void;
}

/**
 * The one path of a lease change after the core decided it. The core has applied the change to the lease table
 * (a view over the store's live records, in the same turn); the writer:
 * 1. makes it durable (`store.writeRecorded`: the records as the table holds them; group commit, resolved once
 *    fdatasync'd),
 * 2. tells the partner (`LeaseSync.committed`), unless the partner made the change,
 * 3. releases what waited for it once the partner released it (the reply: it leaves only after the write is on
 *    disk and the partner has it, never when the write failed),
 * 4. turns the store's failure and recovery into the service's health, in one place.
 * A refused write is counted once (`lease-writes-refused`); the store logs why and recovers by itself.
 */
export class LeaseWriter {
  private failure: string | undefined;
  private readonly healthListeners: Array<(healthy: boolean, reason: string) => void> = [];
  private sync: LeaseSync;

  constructor(private readonly deps: LeaseWriterDeps) {
    this.sync = deps.sync ?? noLeaseSync;
    deps.store.onHealth((failure) => this.storeHealth(failure));
  }

  /** The partner's hook from now on (the failover services are built after the DHCP service). */
  setSync(sync: LeaseSync | undefined): void {
    this.sync = sync ?? noLeaseSync;
  }

  /** Why the store refuses writes now, or undefined while it accepts them. */
  get failed(): string | undefined {
    return this.failure;
  }

  /** DHCP health for the supervisor (e.g. to lower the VRRP priority when leases cannot be stored). */
  onHealth(listener: (healthy: boolean, reason: string) => void): void {
    this.healthListeners.push(listener);
  }

  /**
   * Makes `leases` durable, tells the partner, then calls `done` with undefined once the partner has released it
   * (cause 'partner': once on disk, the partner is not told), or with the refusal (nothing of it is stored; the
   * store puts back in the table what is on disk; the partner is not told). A partner's hook that throws is an
   * internal error and releases at once: a bug there must not hold replies forever. No Promise is made for the
   * caller: a busy server commits thousands of replies a second, and the store's own Promise is enough.
   */
  commit(
    leases: readonly Lease[],
    cause: LeaseCause,
    done?: (refused: Error | undefined) => void,
    opts?: WriteOptions,
  ): void {
    // The core (or applyLeases) put these leases into the store's live records in this turn: the store writes
    // them from there, encoded once.
    this.deps.store.writeRecorded(leases, opts).then(
      () => {
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          if (done) this.guard(`after a ${cause} write`, () => done(undefined));
        };
        if (cause === 'partner') return release();
        const sync = this.sync;
        if (!this.guard('lease sync', () => sync.committed(leases, cause, release))) release();
      },
      (e: Error) => {
        this.deps.counters.inc('lease-writes-refused');
        if (done) this.guard(`after a refused ${cause} write`, () => done(e));
      },
    );
  }

  /**
   * dhcpd.conf events (`on commit|release|expiry`, core/events.ts) whose lease change is durable: run on a later
   * turn, so that the reply waiting in the same callback leaves first, and logged at their priority. A throw is
   * an internal error, as in the store's other callbacks.
   */
  runEvents(runs: readonly EventRun[]): void {
    setImmediate(() => {
      const { log } = this.deps;
      for (const r of runs)
        this.guard('on commit/release/expiry', () => {
          for (const l of r()) {
            if (l.level === 'execute') {
              if (this.deps.execute) this.deps.execute(l.argv!);
              else this.deps.counters.inc('events.execute-off');
            } else if (l.level === 'debug') log.debug(l.text);
            else if (l.level === 'info') log.info(l.text);
            else log.error(l.text);
          }
        });
    });
  }

  /** commit() for callers that wait: resolves with the refusal, or undefined once stored and released. */
  settled(leases: readonly Lease[], cause: LeaseCause, opts?: WriteOptions): Promise<Error | undefined> {
    return new Promise((resolve) => this.commit(leases, cause, resolve, opts));
  }

  /** ' (retrying: ...)' while the store recovers, for the status line. */
  retrying(): string {
    const r = this.deps.store.stats().recovery;
    if (!r) return '';
    const next = `next attempt in ${Math.ceil(r.nextAttemptInMs / 1000)} s`;
    return ` (retrying: ${r.attempts} attempt(s) so far${r.lastError ? `, last: ${r.lastError}` : ''}; ${next})`;
  }

  /**
   * Runs in the store's callbacks, where a throw would become an unhandled rejection (fatal on Node 20). False:
   * fn threw (counted and logged as an internal error).
   */
  private guard(where: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.deps.internalError(where, e);
      return false;
    }
  }

  /**
   * The one place where the store's health becomes the service's. Failed: the service hands nothing to the core
   * until the store recovers (every lease change it made would be refused, and would leave the table showing a
   * lease that is not on disk); the store meanwhile puts back in the table what is on disk. Recovered (the store
   * reopened its files and a write succeeded): `recovered` rebuilds the core over the reloaded table, then the
   * service answers again.
   */
  private storeHealth(failure: StoreFailedError | undefined): void {
    const { log } = this.deps;
    if (failure) {
      if (this.failure !== undefined) return;
      this.failure = failure.message;
      log.error(`lease store write failed, no more leases will be acknowledged: ${failure.message}`);
      for (const l of this.healthListeners) l(false, `lease store failed: ${failure.message}`);
      return;
    }
    if (this.failure === undefined) return;
    this.failure = undefined;
    this.deps.recovered();
    log.info(
      `lease store writable again: DHCP serving again, with the ${this.deps.store.size} lease records stored on disk`,
    );
    for (const l of this.healthListeners) l(true, 'lease store writable again');
  }
}
