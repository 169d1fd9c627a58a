/**
 * dhcpd.conf(5) "EVENTS" at run time: `on commit`, `on release`, `on expiry`. As in ISC (dhcp.c ack_lease, the
 * `on` statement in execute.c), a commit takes from the scopes of the answer the nearest scope's statements for
 * each event, runs the commit ones, and keeps the release and expiry ones with the lease; a DHCPRELEASE or the
 * lease's expiry runs what was kept, then forgets it. Kept in memory, as ISC keeps them (a restart forgets them).
 *
 * The core only prepares each run (a closure over a copy of the request and the lease); the service runs it once
 * the lease change is durable, after the reply has left (LeaseWriter.runEvents). A configuration without events
 * never builds an EventBook.
 */
import type { Ip4 } from '@hadhcp/common';
import { writeIp4 } from '@hadhcp/common';
import type { Lease } from '@hadhcp/leases';
import type { DhcpMessage } from '../wire/types.js';
import { PacketEval } from './classes.js';
import type { EventStatement, Host, Scope } from './config.js';
import type { EvalContext } from './eval-context.js';
import type { ScopeView } from './network.js';

/**
 * One line an event logs, at ISC's priority (fatal is logged as an error: nothing stops), or a command it
 * executes (`argv`: the command, then its arguments; `text`: them joined, for logs).
 */
export interface EventLine {
  level: 'fatal' | 'error' | 'info' | 'debug' | 'execute';
  text: string;
  argv?: string[];
}
/** A prepared event: runs its statements and returns what they logged. */
export type EventRun = () => EventLine[];

type Event = 'commit' | 'release' | 'expiry';

/** The nearest scope's statements for `event` (ScopeView.scopes is nearest first). */
function statementsOf(scopes: readonly Scope[], event: Event): EventStatement[] | undefined {
  for (const s of scopes) {
    const b = s.events?.[event];
    if (b) return b;
  }
  return undefined;
}

export class EventBook {
  /** Release and expiry statements kept with each committed lease. */
  private readonly kept = new Map<Ip4, { release?: EventStatement[]; expiry?: EventStatement[] }>();

  constructor(private readonly hostname: string) {}

  /**
   * A lease was committed (ACK, BOOTP) with the answer's scopes: the commit run, and what to keep. `ctx`: the
   * answer's context when its scope statements ran in it (their variables are the commit block's, as in ISC,
   * where both live in the lease's binding scope).
   */
  committed(
    view: ScopeView,
    msg: DhcpMessage,
    lease: Lease,
    host: Host | undefined,
    nowSec: number,
    ctx?: EventEval,
  ): EventRun | undefined {
    const release = statementsOf(view.scopes, 'release');
    const expiry = statementsOf(view.scopes, 'expiry');
    if (release || expiry)
      this.kept.set(lease.address >>> 0, { ...(release ? { release } : {}), ...(expiry ? { expiry } : {}) });
    else this.kept.delete(lease.address >>> 0);
    const commit = statementsOf(view.scopes, 'commit');
    if (!commit) return undefined;
    return this.prepare(commit, ctx ?? this.context(msg, lease.address, lease.ends, host, nowSec));
  }

  /**
   * The statements written straight in the answer's scopes (`log`, `set`, `unset`, and `if` around them), run as
   * ISC runs a scope's statements for each answer: outermost scope first, each in the order written. The context
   * comes back for the commit block of the same answer.
   */
  answered(
    view: ScopeView,
    msg: DhcpMessage,
    ip: Ip4,
    host: Host | undefined,
    nowSec: number,
  ): { run?: EventRun; ctx: EventEval } {
    const ctx = this.context(msg, ip, undefined, host, nowSec);
    const body: EventStatement[] = [];
    for (let i = view.scopes.length - 1; i >= 0; i--) {
      const st = view.scopes[i]!.statements;
      if (st) body.push(...st);
    }
    return body.length > 0 ? { run: this.prepare(body, ctx), ctx } : { ctx };
  }

  /** A DHCPRELEASE ended the lease: the release statements kept for it, with the RELEASE as the packet. */
  released(msg: DhcpMessage, lease: Lease, host: Host | undefined, nowSec: number): EventRun | undefined {
    const k = this.kept.get(lease.address >>> 0);
    this.kept.delete(lease.address >>> 0);
    return k?.release && this.prepare(k.release, this.context(msg, lease.address, lease.ends, host, nowSec));
  }

  /** The lease expired: its expiry statements, with no packet (options read null, as in ISC). */
  expired(lease: Lease, nowSec: number): EventRun | undefined {
    const k = this.kept.get(lease.address >>> 0);
    this.kept.delete(lease.address >>> 0);
    return (
      k?.expiry &&
      this.prepare(k.expiry, this.context(undefined, lease.address, lease.ends, undefined, nowSec))
    );
  }

  private context(
    msg: DhcpMessage | undefined,
    ip: Ip4,
    ends: number | undefined,
    host: Host | undefined,
    nowSec: number,
  ): EventEval {
    // A copy: the request's buffers may be reused before the run, which waits for the disk.
    return new EventEval(this.hostname, msg && copyMessage(msg), ip, ends, host, nowSec);
  }

  private prepare(body: readonly EventStatement[], ctx: EventEval): EventRun {
    return () => {
      const out: EventLine[] = [];
      run(body, ctx, out);
      return out;
    };
  }
}

function run(body: readonly EventStatement[], c: EventEval, out: EventLine[]): void {
  for (const s of body) {
    switch (s.kind) {
      case 'log': {
        // ISC logs the value as text; a null value logs nothing (execute.c, statement log).
        const v = s.text(c);
        if (v !== null) out.push({ level: s.level, text: latin1(v) });
        break;
      }
      case 'set': {
        const v = s.value(c);
        if (v === null) c.vars.delete(s.name);
        else c.vars.set(s.name, v.slice());
        break;
      }
      case 'unset':
        c.vars.delete(s.name);
        break;
      case 'execute': {
        const argv = [s.command, ...s.args.map((a) => latin1(a(c) ?? new Uint8Array(0)))];
        out.push({ level: 'execute', text: argv.join(' '), argv });
        break;
      }
      case 'if':
        for (const b of s.branches) {
          if (b.test && b.test(c) !== true) continue;
          run(b.body, c, out);
          break;
        }
        break;
    }
  }
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function copyMessage(m: DhcpMessage): DhcpMessage {
  return {
    ...m,
    chaddr: m.chaddr.slice(),
    sname: m.sname.slice(),
    file: m.file.slice(),
    options: m.options.map((o) => ({ code: o.code, data: o.data.slice() })),
  };
}

/** What an event's expressions read: the packet of the change (none for expiry), the lease, its variables. */
export class EventEval implements EvalContext {
  readonly vars = new Map<string, Uint8Array>();
  private readonly packet: PacketEval;
  readonly leasedAddress = new Uint8Array(4);
  readonly hostname: Uint8Array;

  constructor(
    hostname: string,
    private readonly msg: DhcpMessage | undefined,
    ip: Ip4,
    /** The lease's end (seconds), for `lease-time`; undefined while only offered. */
    private readonly ends: number | undefined,
    private readonly host: Host | undefined,
    private readonly nowSec: number,
  ) {
    this.packet = new PacketEval(hostname);
    if (msg) this.packet.load(msg, host);
    this.hostname = this.packet.hostname;
    writeIp4(this.leasedAddress, 0, ip >>> 0);
  }

  get raw(): Uint8Array | null {
    return this.msg ? this.packet.raw : null;
  }
  option(space: string, code: number): Uint8Array | null {
    return this.msg ? this.packet.option(space, code) : null;
  }
  configOption(): Uint8Array | null {
    return null;
  }
  get known(): boolean | null {
    return this.msg ? this.host !== undefined : null;
  }
  get isStatic(): boolean {
    return false;
  }
  get hostDeclName(): Uint8Array | null {
    return this.packet.hostDeclName;
  }
  get leaseTime(): number | null {
    if (this.ends === undefined) return null;
    const left = this.ends - this.nowSec;
    return left > 0 ? left : null;
  }
  variable(name: string): Uint8Array | null {
    return this.vars.get(name) ?? null;
  }
}
