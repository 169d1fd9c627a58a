import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  failoverLeaseBook,
  failoverPolicy,
  type DhcpService,
  type FailoverPeerConfig,
  type LeaseCause,
} from '@hadhcp/dhcp';
import {
  FailoverPeerService,
  FileStateStore,
  TcpPeerTransport,
  type PeerTls,
  type FailoverPeerStatus,
  type PersistedFailoverState,
  type StateStore,
} from '@hadhcp/failover';
import type { Lease } from '@hadhcp/leases';
import type { Logger } from './logger.js';

/** The state record of a relationship: its own file in the state directory (ISC keeps it in dhcpd.leases). */
export function failoverStateFile(stateDir: string, name: string): string {
  return join(stateDir, `failover-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

/** A relationship's state as recorded on disk: what the supervisor acts on (supervise.ts). */
export interface RecordedFailoverState {
  /** The last record read back or written and fsync'd; undefined before the first. */
  readonly last: PersistedFailoverState | undefined;
  /** Called after each record is on disk. */
  onRecorded(listener: () => void): void;
}

/**
 * The relationship's state store, remembering the last record that is on disk. The failover machine holds its new
 * state from the moment it decides it, while the record is still being written (and a required record that cannot
 * be written takes the state back, ISC's set_state): the supervisor takes the VIP or partner-down on the recorded
 * state only, never on one a crash or a full disk could undo.
 */
export class RecordedStateStore implements StateStore, RecordedFailoverState {
  private record: PersistedFailoverState | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly inner: StateStore) {}

  get last(): PersistedFailoverState | undefined {
    return this.record;
  }

  onRecorded(listener: () => void): void {
    this.listeners.push(listener);
  }

  async load(): Promise<PersistedFailoverState | undefined> {
    const r = await this.inner.load();
    this.record = r;
    return r;
  }

  async write(record: PersistedFailoverState): Promise<void> {
    await this.inner.write(record);
    this.record = record;
    for (const l of this.listeners) l();
  }
}

/**
 * The failover relationships of the dhcpd.conf (`failover peer "NAME" { ... }`), each joined to the DHCP service:
 * the service asks each relationship's view before it answers (failoverPolicy), and tells every relationship about
 * each lease change once it is on disk (the LeaseSync); the relationship stores the partner's bindings through the
 * service (failoverLeaseBook). Wiring only: the decisions are in @hadhcp/failover and @hadhcp/dhcp.
 */
export class FailoverRunner {
  readonly services = new Map<string, FailoverPeerService>();
  private readonly stores = new Map<string, RecordedStateStore>();

  constructor(
    peers: readonly FailoverPeerConfig[],
    private readonly dhcp: DhcpService,
    stateDir: string,
    private readonly log: Logger,
    private readonly opts: {
      /** VRRP beside failover: the supervisor decides partner-down on both signals, not the link alone. */
      supervised?: boolean;
      /** The supervisor: behind the VIP every relayed client is ours (no load balancing). */
      answerAllRelayed?: () => boolean;
    } = {},
  ) {
    for (const p of peers) {
      if (p.address === undefined || p.peerAddress === undefined)
        throw new Error(
          `failover peer "${p.name}": needs both "address" and "peer address" (the addresses this node listens on and dials)`,
        );
      const label = `failover peer ${p.name}`;
      const flog = {
        info: (m: string) => log.info(m),
        warn: (m: string) => log.warn(m),
        error: (m: string) => log.error(m),
        debug: (m: string) => log.debug(m),
      };
      const store = new RecordedStateStore(new FileStateStore(failoverStateFile(stateDir, p.name), p.name));
      this.stores.set(p.name, store);
      const svc = new FailoverPeerService(opts.supervised ? { ...p, autoPartnerDown: 0 } : p, {
        log: flog,
        transport: new TcpPeerTransport({
          address: p.address,
          port: p.port,
          peerAddress: p.peerAddress,
          peerPort: p.peerPort,
          log: flog,
          label,
          tls: readPeerTls(p),
        }),
        store,
        leases: failoverLeaseBook(dhcp, p.name),
      });
      this.services.set(p.name, svc);
    }
  }

  /** Joins the relationships to the DHCP service, then starts them (each reads its record, listens and dials). */
  async start(): Promise<void> {
    if (this.services.size === 0) return;
    const views = new Map([...this.services].map(([name, s]) => [name, s.view]));
    const all = [...this.services.values()];
    this.dhcp.setFailover(failoverPolicy(views, { answerAllRelayed: this.opts.answerAllRelayed }), {
      committed: (leases: readonly Lease[], cause: LeaseCause, released: () => void) => {
        // The partner's own bindings are not sent back; every other change goes to the relationships it
        // belongs to, and the reply waits for all of them.
        if (cause === 'partner') return released();
        let left = all.length;
        const one = (): void => {
          if (--left === 0) released();
        };
        for (const s of all) s.committed(leases, one);
      },
    });
    for (const s of all) {
      await s.start();
      this.log.info(s.startLine());
    }
  }

  status(): FailoverPeerStatus[] {
    return [...this.services.values()].map((s) => s.status());
  }

  /** The relationship's state as on disk (the supervisor acts on it). */
  recorded(name: string): RecordedFailoverState | undefined {
    return this.stores.get(name);
  }

  get(name: string | undefined): FailoverPeerService | undefined {
    if (name !== undefined) return this.services.get(name);
    return this.services.size === 1 ? [...this.services.values()][0] : undefined;
  }

  /** SIGTERM: ISC's gentle shutdown of each relationship (the partner goes partner-down and serves at once). */
  async shutdown(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.shutdown()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop()));
  }
}

/**
 * The PEM files of `hadhcp-tls-cert`, `-key` and `-ca`, read at start as the daemon's user. An unreadable one stops
 * the start with where the statement stands and what to do.
 */
function readPeerTls(p: FailoverPeerConfig): PeerTls | undefined {
  if (!p.tls) return undefined;
  const { pos } = p.tls;
  const read = (what: 'cert' | 'key' | 'ca'): Buffer => {
    const file = p.tls![what];
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(
        `${pos.file}:${pos.line}:${pos.col}: failover peer "${p.name}": cannot read hadhcp-tls-${what} ${file}: ` +
          `${(e as NodeJS.ErrnoException).code ?? String(e)}; give a PEM file the daemon's user can read ` +
          '(packages/failover/README.md, "Failover over TLS")',
      );
    }
  };
  return { cert: read('cert'), key: read('key'), ca: read('ca') };
}
