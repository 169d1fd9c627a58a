import { formatIp4, type Ip4 } from '@hadhcp/common';
import type { Lease } from '@hadhcp/leases';
import type { LeaseBook } from './types.js';

/**
 * A LeaseBook in memory, over a list of address ranges: for tests and the failover lab runner, where no DHCP
 * service holds the leases. The daemon uses @hadhcp/dhcp's failoverLeaseBook over the DHCP service instead.
 * `onApply` sees every record stored (the partner's updates, balancing moves, acknowledged times).
 */
export class MemoryLeaseBook implements LeaseBook {
  readonly leases = new Map<Ip4, Lease>();
  /** Records stored, all addresses together. */
  applied = 0;
  /** Makes apply() fail (a store that refuses writes), for tests. */
  failWith: Error | undefined;
  /** While set, what apply() and applyNow() store becomes durable only at releaseDurable() (a slow disk), for tests. */
  holdDurable = false;
  private held: Array<(err?: Error) => void> = [];

  constructor(
    private readonly ranges: Array<{ start: Ip4; end: Ip4 }>,
    private readonly onApply?: (lease: Lease) => void,
  ) {}

  isEmpty(): boolean {
    return this.leases.size === 0;
  }

  get(ip: Ip4): Lease | undefined {
    return this.leases.get(ip);
  }

  inRelationship(ip: Ip4): boolean {
    return this.ranges.some((r) => ip >= r.start && ip <= r.end);
  }

  *addresses(): Iterable<Ip4> {
    const sorted = [...this.ranges].sort((a, b) => a.start - b.start);
    for (const r of sorted) for (let ip = r.start; ip <= r.end; ip++) yield ip;
  }

  /** One pool per range, as a dhcpd.conf with one range per pool. */
  pools(): Array<{ label: string; addresses: Ip4[] }> {
    return [...this.ranges]
      .sort((a, b) => a.start - b.start)
      .map((r) => {
        const addresses: Ip4[] = [];
        for (let ip = r.start; ip <= r.end; ip++) addresses.push(ip);
        return { label: `${formatIp4(r.start)} - ${formatIp4(r.end)}`, addresses };
      });
  }

  apply(leases: Lease[]): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.put(leases);
    return this.hold();
  }

  applyNow(leases: Lease[]): { applied: number; durable: Promise<void> } {
    if (this.failWith) return { applied: 0, durable: Promise.reject(this.failWith) };
    this.put(leases);
    return { applied: leases.length, durable: this.hold() };
  }

  private hold(): Promise<void> {
    if (!this.holdDurable) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.held.push((err) => (err ? reject(err) : resolve())));
  }

  /** What apply() and applyNow() stored while holdDurable was set becomes durable now, or fails with `err`. */
  releaseDurable(err?: Error): void {
    const held = this.held;
    this.held = [];
    for (const settle of held) settle(err);
  }

  private put(leases: Lease[]): void {
    for (const l of leases) {
      this.leases.set(l.address, l);
      this.applied++;
      this.onApply?.(l);
    }
  }
}
