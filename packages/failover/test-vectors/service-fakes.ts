// In-memory io for the failover service's tests (not exported from the package): a network joining services by
// address, a test's own end of a connection to play the peer by hand, timers on a fake clock, a state store.
import { FakeClock, parseIp4, type Clock } from '@hadhcp/common';
import type { PersistedFailoverState } from '../src/core/machine-types.js';
import { iscStateName } from '../src/core/serve.js';
import type { StateStore } from '../src/io/state-file.js';
import type { DialFailure, PeerConnection, PeerTransport } from '../src/io/transport.js';
import { decodeMessage, encodeMessage } from '../src/wire/codec.js';
import { MESSAGE_TYPE_NAMES } from '../src/wire/constants.js';
import { isFailoverWireError } from '../src/wire/errors.js';
import { takeMessages } from '../src/wire/frame.js';
import type { FailoverMessage } from '../src/wire/types.js';
import { splitToHba } from '../src/wire/hba.js';
import { MemoryLeaseBook } from '../src/service/lease-sink.js';
import { FailoverPeerService } from '../src/service/peer-service.js';
import type { FailoverPeerSettings, Scheduler } from '../src/service/types.js';

export const ip = (s: string): number => parseIp4(s)!;

/** Lets every pending promise job and I/O callback of the in-memory world run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Timers that fire as the test moves the clock: in deadline order, each at its own time. */
export class FakeScheduler implements Scheduler {
  private seq = 0;
  private readonly pending = new Map<number, { at: number; seq: number; fire: () => void }>();

  constructor(readonly clock: FakeClock) {}

  setTimeout(fire: () => void, delayMs: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.clock.now() + Math.max(0, delayMs), seq: id, fire });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves the clock `ms` forward, firing every timer due on the way at its own time. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    for (;;) {
      await flush();
      let next: [number, { at: number; seq: number; fire: () => void }] | undefined;
      for (const e of this.pending)
        if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0])))
          next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      if (next[1].at > this.clock.now()) this.clock.set(next[1].at);
      next[1].fire();
    }
    this.clock.set(end);
    await flush();
  }

  /** Advances in steps until `cond` holds; throws after `limitMs`. Returns the time it took. */
  async until(cond: () => boolean, limitMs: number, stepMs = 100): Promise<number> {
    const t0 = this.clock.now();
    while (!cond()) {
      if (this.clock.now() - t0 > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
      await this.advance(stepMs);
    }
    return this.clock.now() - t0;
  }
}

/** One line per thing that happened, in order, across every node: `A persist normal`, `A> STATE normal`. */
export type Trace = string[];

function describe(m: FailoverMessage): string {
  const name = MESSAGE_TYPE_NAMES[m.type];
  if (m.type === 10) return `${name} ${iscStateName(m.serverState ?? -1)}${m.serverFlags ? ' startup' : ''}`;
  return name;
}

/**
 * Hosts by address; a dial reaches the host listening on the peer address (refused otherwise). `partition()`
 * silently drops every byte and close in both directions, as a cut cable does to TCP: each side notices only
 * through its own silence timer.
 */
export class MemoryNetwork {
  private readonly listeners = new Map<string, { tag: string; accept: (c: PeerConnection) => void }>();
  private cut = false;
  private port = 40000;
  readonly connections: MemoryConnection[] = [];

  constructor(readonly trace: Trace = []) {}

  partition(): void {
    this.cut = true;
  }
  heal(): void {
    this.cut = false;
  }
  get partitioned(): boolean {
    return this.cut;
  }

  transport(tag: string, local: string, peer: string, port = 647): PeerTransport {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const net = this;
    const counts: Record<string, number> = {};
    return {
      localEndpoint: `${local}:${port}`,
      peerEndpoint: `${peer}:${port}`,
      async listen(onConnection) {
        net.listeners.set(local, {
          tag,
          accept: (c) => {
            const from = c.remote.split(':')[0];
            if (from !== peer) {
              counts['connections-refused.not-peer-address'] =
                (counts['connections-refused.not-peer-address'] ?? 0) + 1;
              c.close();
              return;
            }
            onConnection(c);
          },
        });
      },
      async dial() {
        const listener = net.listeners.get(peer);
        if (!listener || net.cut) {
          const f: DialFailure = { kind: 'network', code: 'ECONNREFUSED', message: 'refused' };
          counts[`dial-failed.${f.code}`] = (counts[`dial-failed.${f.code}`] ?? 0) + 1;
          throw f;
        }
        const [ours, theirs] = net.pair(tag, listener.tag, local, peer);
        queueMicrotask(() => listener.accept(theirs));
        return ours;
      },
      async close() {
        if (net.listeners.get(local)) net.listeners.delete(local);
      },
      counters: () => ({ ...counts }),
    };
  }

  /** A connection from `from` to whoever listens on `to`, with the test holding the `from` end. */
  connect(from: string, to: string, clock?: Clock): RawPeer {
    const listener = this.listeners.get(to);
    if (!listener) throw new Error(`nobody listens on ${to}`);
    const [ours, theirs] = this.pair('raw', listener.tag, from, to);
    const raw = new RawPeer(ours, clock);
    queueMicrotask(() => listener.accept(theirs));
    return raw;
  }

  /** Two ends of one connection: [the dialler's ('out'), the listener's ('in')], each traced under its node's tag. */
  pair(tagOut: string, tagIn: string, from: string, to: string): [MemoryConnection, MemoryConnection] {
    const p = ++this.port;
    const a = new MemoryConnection(this, tagOut, 'out', `${from}:${p}`, `${to}:647`);
    const b = new MemoryConnection(this, tagIn, 'in', `${to}:647`, `${from}:${p}`);
    a.other = b;
    b.other = a;
    this.connections.push(a, b);
    return [a, b];
  }
}

export class MemoryConnection implements PeerConnection {
  other!: MemoryConnection;
  closed = false;
  private data: ((chunk: Uint8Array) => void) | undefined;
  private closeHandler: ((why?: string) => void) | undefined;
  private early: Uint8Array[] = [];
  private rest: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly net: MemoryNetwork,
    readonly tag: string,
    readonly direction: 'in' | 'out',
    readonly local: string,
    readonly remote: string,
  ) {}

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    // The trace reads what went on the wire, decoded, per sending node.
    const r = takeMessages(this.rest, bytes);
    this.rest = r.rest;
    for (const m of r.messages) {
      const d = decodeMessage(m);
      this.net.trace.push(`${this.tag}> ${isFailoverWireError(d) ? `bad ${d.reason}` : describe(d)}`);
    }
    if (this.net.partitioned) return;
    const copy = Uint8Array.from(bytes);
    const to = this.other;
    queueMicrotask(() => to.deliver(copy));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    queueMicrotask(() => this.closeHandler?.());
    if (this.net.partitioned) return;
    const to = this.other;
    queueMicrotask(() => to.remoteClosed());
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.data = handler;
    for (const c of this.early.splice(0)) handler(c);
  }

  onClose(handler: (why?: string) => void): void {
    this.closeHandler = handler;
  }

  private deliver(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.data) this.data(chunk);
    else this.early.push(chunk);
  }

  private remoteClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeHandler?.('closed by the peer');
  }
}

/** The test's own end of a connection: it plays the peer by hand, message by message or byte by byte. */
export class RawPeer {
  readonly received: FailoverMessage[] = [];
  /** When each message arrived (the clock given, else 0). */
  readonly receivedAt: number[] = [];
  readonly errors: string[] = [];
  closedByOther = false;
  private rest: Uint8Array = new Uint8Array(0);

  constructor(
    readonly conn: MemoryConnection,
    private readonly clock?: Clock,
  ) {
    conn.onData((chunk) => {
      const r = takeMessages(this.rest, chunk);
      this.rest = r.rest;
      for (const b of r.messages) {
        const m = decodeMessage(b);
        if (isFailoverWireError(m)) this.errors.push(m.reason);
        else {
          this.received.push(m);
          this.receivedAt.push(this.clock?.now() ?? 0);
        }
      }
    });
    conn.onClose((why) => {
      if (why) this.closedByOther = true;
    });
  }

  send(m: FailoverMessage): void {
    this.conn.send(encodeMessage(m));
  }

  sendBytes(b: Uint8Array | number[]): void {
    this.conn.send(Uint8Array.from(b));
  }

  close(): void {
    this.conn.close();
  }

  last(): FailoverMessage | undefined {
    return this.received.at(-1);
  }

  /** The messages received of one type. */
  ofType<T extends FailoverMessage['type']>(type: T): Extract<FailoverMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<FailoverMessage, { type: T }> => m.type === type);
  }
}

/** A state store in memory; `failing` makes every write reject, as a full disk would. */
export class MemoryStateStore implements StateStore {
  record: PersistedFailoverState | undefined;
  failing = false;
  writes = 0;

  constructor(
    private readonly tag = '',
    private readonly trace?: Trace,
  ) {}

  async load(): Promise<PersistedFailoverState | undefined> {
    return this.record;
  }

  async write(r: PersistedFailoverState): Promise<void> {
    await Promise.resolve();
    if (this.failing) throw new Error('ENOSPC: no space left on device');
    this.writes++;
    this.record = { ...r };
    this.trace?.push(`${this.tag} persist ${iscStateName(r.my)}`);
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error' | 'debug';
  msg: string;
}

export function memoryLog(): {
  lines: LogLine[];
  log: Required<import('../src/service/types.js').FailoverLogger>;
} {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (msg: string) => void lines.push({ level, msg });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } };
}

export const NAME = 'dhcp-failover';
export const A = '10.0.0.2';
export const B = '10.0.0.3';

export function settings(
  role: 'primary' | 'secondary',
  o: Partial<FailoverPeerSettings> = {},
): FailoverPeerSettings {
  const primary = role === 'primary';
  return {
    name: NAME,
    role,
    address: ip(primary ? A : B),
    port: 647,
    peerAddress: ip(primary ? B : A),
    peerPort: 647,
    maxResponseDelay: 6,
    maxUnackedUpdates: 10,
    mclt: primary ? 3600 : undefined,
    hba: primary ? splitToHba(128) : undefined,
    autoPartnerDown: 0,
    ...o,
  };
}

export interface Node {
  svc: FailoverPeerService;
  store: MemoryStateStore;
  leases: MemoryLeaseBook;
  lines: LogLine[];
  messages(): string[];
}

export function makeNode(
  net: MemoryNetwork,
  sched: FakeScheduler,
  tag: string,
  s: FailoverPeerSettings,
  o: { clock?: Clock; store?: MemoryStateStore; ranges?: Array<{ start: number; end: number }> } = {},
): Node {
  const local = s.role === 'primary' ? A : B;
  const peer = s.role === 'primary' ? B : A;
  const store = o.store ?? new MemoryStateStore(tag, net.trace);
  // The relationship's pool: 10.0.0.100 - 10.0.0.139 (40 addresses, as in the ISC labs) unless the test says.
  const leases = new MemoryLeaseBook(o.ranges ?? [{ start: ip('10.0.0.100'), end: ip('10.0.0.139') }]);
  const { lines, log } = memoryLog();
  const svc = new FailoverPeerService(s, {
    log,
    transport: net.transport(tag, local, peer),
    store,
    leases,
    clock: o.clock ?? sched.clock,
    scheduler: sched,
  });
  return { svc, store, leases, lines, messages: () => lines.map((l) => l.msg) };
}

/** A fresh world: network, clock (fixed start), scheduler. */
export function world(): { net: MemoryNetwork; clock: FakeClock; sched: FakeScheduler } {
  const clock = new FakeClock(1_800_000_000_000);
  return { net: new MemoryNetwork(), clock, sched: new FakeScheduler(clock) };
}
