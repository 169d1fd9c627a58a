// Issue 7 against a real ISC dhcpd 4.4.3, the whole daemon this time: `hadhcp run` and Debian's dhcpd as the two
// servers of one failover relationship, with real DHCP clients (dhclient) behind one dhcrelay forwarding to both, as
// an `ip helper-address` per server does. Once with hadhcp as primary and once as secondary. Both read the same
// dhcpd.conf (the seeds' failover peer block, small timers: mclt 30, max-response-delay 5, split 128) and check, in
// order on one pair: both normal (status and ISC's "Both servers normal"); the pool balanced the same on both sides;
// a lease given by either is on the other (our store over the control socket, ISC's dhcpd.leases); a SIGTERM restart
// of either resynchronises; a client whose server is killed keeps its address from the other; and ISC stays up and
// complains about nothing we sent. The failover traffic is captured and tallied message type by message type.
// (Our failover service alone against ISC, without DHCP: failover-isc.test.ts.)
//
//   isc 10.0.0.2 --+                                          +-- cli1..cli6 (dhclient, leases 30 s)
//                  +-- lan0 -- relay 10.0.0.1 | 10.1.0.1 -- lan1
//   hd  10.0.0.3 --+           dhcrelay -> both servers
import { readFileSync } from 'node:fs';
import { formatIp4 } from '../../packages/common/src/index.js';
import { BindingState } from '../../packages/leases/src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../packages/failover/src/wire/codec.js';
import { MESSAGE_TYPE_NAMES, MessageType } from '../../packages/failover/src/wire/constants.js';
import { isFailoverWireError } from '../../packages/failover/src/wire/errors.js';
import type { FailoverMessage } from '../../packages/failover/src/wire/types.js';
import { capturedMessages } from '../../packages/failover/test-vectors/captures.js';
import {
  relayTopology,
  requireRoot,
  startCapture,
  startDhcpd,
  stopCapture,
  useLab,
  type ClientSpot,
  type DhcpdHandle,
  type LabProcess,
  type RelayTopology,
} from './lib/index.js';
import {
  enableForwarding,
  leaseByIp,
  logMessages,
  sleep,
  spawnDhclient,
  startHadhcp,
  stopHadhcp,
  until,
  waitForLog,
  type Dhclient,
  type Hadhcp,
} from './lib/dhcp-helpers.js';
import { balancedTo, describeStatus, failoverStatus, type FailoverPeerStatus } from './lib/failover-pair.js';
import { readIscLeases } from './lib/isc-leases.js';

const skip = requireRoot({ commands: ['dhcpd', 'dhcrelay', 'dhclient', 'tcpdump'] });

const NAME = 'lab-isc';
const ISC = '10.0.0.2';
const OURS = '10.0.0.3';
/** Seconds: a dead partner is noticed within this. */
const MRD = 5;
/** Seconds; also the lease time, so a client renews every 15 s and rebinds 26 s after its last ACK. */
const MCLT = 30;
const POOL: [string, string] = ['10.1.0.50', '10.1.0.99'];
const POOL_SIZE = 50;
/** ISC's default max-lease-misbalance, percent. */
const MISBALANCE = 15;

/**
 * The dhcpd.conf of either server, ISC's and ours alike: the seeds' failover peer block (mclt and split on the
 * primary only, as ISC wants), balance checks every few seconds instead of every minute, leases as long as MCLT.
 */
function conf(role: 'primary' | 'secondary', address: string, peerAddress: string): string {
  const primaryOnly = role === 'primary' ? [`  mclt ${MCLT};`, '  split 128;'] : [];
  return `# hadhcp lab: failover with ISC dhcpd, this server ${role}
authoritative;
default-lease-time ${MCLT};
max-lease-time ${MCLT};
ddns-update-style none;
ping-check false;

failover peer "${NAME}" {
  ${role};
  address ${address};
  port 647;
  peer address ${peerAddress};
  peer port 647;
  max-response-delay ${MRD};
  # ISC acknowledges in batches: at half of the partner's max-unacked-updates, else after 1-2 s. With 3, each
  # BNDUPD of ours is acknowledged at once (3 / 2 = 1), so our DHCPACK does not wait for ISC's timer.
  max-unacked-updates 3;
  load balance max seconds 3;
${primaryOnly.join('\n')}
  min-balance 3;
  max-balance 5;
}

subnet 10.0.0.0 netmask 255.255.255.0 {
}

subnet 10.1.0.0 netmask 255.255.255.0 {
  option routers 10.1.0.1;
  option subnet-mask 255.255.255.0;
  option broadcast-address 10.1.0.255;
  pool {
    failover peer "${NAME}";
    range ${POOL[0]} ${POOL[1]};
  }
}
`;
}

/**
 * Six MACs, primary, secondary, primary... by the RFC 3074 hash with split 128 (dhclient sends no client
 * identifier, so the key is the MAC): each server answers the DISCOVERs of three.
 */
function clientMacs(): string[] {
  const out: string[] = [];
  for (let i = 1; out.length < 6 && i < 256; i++) {
    const mac = `02:00:00:00:02:${i.toString(16).padStart(2, '0')}`;
    if (balancedTo(mac, false) === (out.length % 2 === 0 ? 'primary' : 'secondary')) out.push(mac);
  }
  return out;
}

/** What a dhclient lease file says last: the address and the server that acknowledged it. */
function dhclientLease(dh: Dhclient): { address: string; server: string } | undefined {
  let text = '';
  try {
    text = readFileSync(dh.leaseFile, 'utf8');
  } catch {
    return undefined;
  }
  const last = text.split(/^lease \{/m).at(-1) ?? '';
  const address = /fixed-address (\d+\.\d+\.\d+\.\d+);/.exec(last)?.[1];
  const server = /option dhcp-server-identifier (\d+\.\d+\.\d+\.\d+);/.exec(last)?.[1];
  return address && server ? { address, server } : undefined;
}

interface Bound {
  c: ClientSpot;
  dh: Dhclient;
  address: string;
  /** The server identifier of the ACK that bound it. */
  server: string;
}

const STATE_MOVE = new RegExp(`failover peer ${NAME}: I move from (\\S+) to (\\S+)`);
/** ISC's words for something of ours it refused or could not read (FACTS 4.1). */
const ISC_COMPLAINT =
  /reject|protocol error|Failover DISCONNECT|FAILOVER: |Impossible|unknown message|bad (option|length)/i;

/** ISC's own state moves, `from -> to`, in order. */
function iscMoves(p: LabProcess): string[] {
  return p
    .output()
    .split('\n')
    .flatMap((l) => {
      const m = STATE_MOVE.exec(l);
      return m ? [`${m[1]} -> ${m[2]}`] : [];
    });
}

interface WireMessage {
  from: string;
  /** pcap frame of the message's first byte: the order on the wire. */
  frame: number;
  m: FailoverMessage;
}

const rejectOf = (w: WireMessage): number | undefined => (w.m as { rejectReason?: number }).rejectReason;
const ipOf = (w: WireMessage): string => {
  const ip = (w.m as { assignedIp?: number }).assignedIp;
  return ip === undefined ? '?' : formatIp4(ip);
};

interface RejectSeen {
  /** Who sent the reject. */
  from: string;
  ip: string;
  reason: number;
  /** The rejecter had its own BNDUPD of the same address on the wire, not yet acknowledged: dueling updates. */
  crossing: boolean;
  text: string;
}

/** Every DHCPACK a server logged (ISC's and our log say `DHCPACK on A to MAC`), with when it was printed. */
function acksLogged(procs: LabProcess[]): { ip: string; at: number }[] {
  return procs
    .flatMap((p) =>
      p.recent(p.lineCount).flatMap((l) => {
        const m = /DHCPACK on (\d+\.\d+\.\d+\.\d+) to/.exec(l.text);
        return m ? [{ ip: m[1]!, at: l.at }] : [];
      }),
    )
    .sort((a, b) => a.at - b.at);
}

/**
 * Until when (ms, 2 s of slack for clocks read a moment apart) the client of `ack` holds its lease: the end the
 * server granted, else MCLT, the lease time both configs ask for. The granted end is what the server's record of
 * that binding says: the update `freeing` itself when its CLTT is the ACK's, else the server's own ACTIVE update
 * whose CLTT (else send time) is nearest the ACK (within 2 s): a server whose partner is down sends it only once
 * the link is back. A server in communications-interrupted grants less (ISC's renewals there ran 13 s
 * of the 30 asked; once ISC 4.4.3 answered a renewal with its lease 'unaltered' (reuse_lease) as that lease ended,
 * and sent EXPIRED for it in the same second), and its client no longer holds the address past that end.
 */
function heldUntil(
  msgs: WireMessage[],
  from: string,
  ack: { ip: string; at: number },
  freeing: WireMessage,
): number {
  const f = freeing.m as { cltt?: number; leaseExpiry?: number };
  let granted: number | undefined;
  if (f.cltt !== undefined && f.leaseExpiry !== undefined && Math.abs(f.cltt * 1000 - ack.at) <= 2000)
    granted = f.leaseExpiry;
  // The binding's own EXPIRED update (this one, or the one before a BACKUP or FREE) says where it ended.
  else if ((granted = expiredEnd(msgs, from, ack, freeing)) === undefined) {
    let best = Infinity;
    for (const w of msgs) {
      const b = w.m as { bindingStatus?: number; leaseExpiry?: number; cltt?: number };
      if (w.from !== from || w.m.type !== MessageType.BNDUPD || b.bindingStatus !== 2 || ipOf(w) !== ack.ip)
        continue;
      // The update's CLTT is its ACK's time even when it left later (queued while the partner was down).
      const d = Math.abs((b.cltt ?? w.m.time) * 1000 - ack.at);
      if (d <= 2000 && d < best && b.leaseExpiry !== undefined) [best, granted] = [d, b.leaseExpiry];
    }
  }
  const asked = ack.at + MCLT * 1000;
  return Math.min(asked, granted !== undefined ? granted * 1000 : asked) - 2000;
}

/**
 * The end of the binding of `ack` as the server's EXPIRED update of it says, when the server sent one at or before
 * `freeing` (the EXPIRED itself, or the one before a BACKUP or FREE of the address): its expiry time, if it is past
 * the ACK. ISC sends EXPIRED with the binding's end as expiry and the time it expired it as CLTT, so that CLTT does
 * not match the ACK (ISC 4.4.3, its partner down: an ACK at T granting 16 s; EXPIRED and BACKUP at T + 17 s, sent
 * when the partner came back).
 */
function expiredEnd(
  msgs: WireMessage[],
  from: string,
  ack: { ip: string; at: number },
  freeing: WireMessage,
): number | undefined {
  const end = msgs
    .slice(0, msgs.indexOf(freeing) + 1)
    .filter((w) => w.from === from && w.m.type === MessageType.BNDUPD && ipOf(w) === ack.ip)
    .map((w) => w.m as { bindingStatus?: number; leaseExpiry?: number })
    .filter((b) => b.bindingStatus === BindingState.EXPIRED && b.leaseExpiry !== undefined)
    .at(-1)?.leaseExpiry;
  return end !== undefined && end * 1000 >= ack.at - 2000 ? end : undefined;
}

/**
 * BNDUPDs in which a server tells its partner that an address is FREE, EXPIRED, RELEASED or BACKUP while a client
 * still holds the lease that same server acknowledged (until heldUntil). Nobody released anything, so such an
 * update is wrong whoever sent it.
 */
function freedWhileHeld(msgs: WireMessage[], from: string, acks: { ip: string; at: number }[]): string[] {
  const out: string[] = [];
  for (const w of msgs.filter((x) => x.from === from && x.m.type === MessageType.BNDUPD)) {
    const b = w.m as { bindingStatus?: number; cltt?: number; leaseExpiry?: number };
    if (b.bindingStatus === undefined || b.bindingStatus === 2 || b.bindingStatus === 5) continue;
    const at = w.m.time * 1000;
    // The client's latest DHCPACK from this server decides how long it holds the address.
    const last = acks.filter((a) => a.ip === ipOf(w) && a.at <= at).at(-1);
    const held = last && at < heldUntil(msgs, from, last, w) ? last : undefined;
    if (held)
      out.push(
        `${from === ISC ? 'ISC' : 'hadhcp'} sent ${ipOf(w)} status ${b.bindingStatus} (cltt ${b.cltt ?? '-'}, ends ${b.leaseExpiry ?? '-'}) ` +
          `at ${new Date(at).toISOString()} (frame ${w.frame}), ${((at - held.at) / 1000).toFixed(1)} s after its own DHCPACK of it`,
      );
  }
  return out;
}

/** Every BNDACK with a reject, with the BNDUPD it answers and whether the rejecter's own update crossed it. */
function classifyRejects(msgs: WireMessage[]): RejectSeen[] {
  const out: RejectSeen[] = [];
  // Order on the wire, within a frame too: a sender's update and its reject may share one TCP segment.
  const pos = new Map(msgs.map((w, i) => [w, i]));
  const at = (w: WireMessage): number => pos.get(w)!;
  for (const a of msgs.filter((w) => w.m.type === MessageType.BNDACK && rejectOf(w) !== undefined)) {
    const other = a.from === ISC ? OURS : ISC;
    const u = msgs
      .filter(
        (w) => w.from === other && w.m.type === MessageType.BNDUPD && w.m.xid === a.m.xid && at(w) < at(a),
      )
      .at(-1);
    const ip = ipOf(a);
    const own = msgs.filter(
      (w) => w.from === a.from && w.m.type === MessageType.BNDUPD && ipOf(w) === ip && at(w) < at(a),
    );
    // The rejecter's own update of the address left before its reject, and the other side had not acknowledged
    // it when it sent the update refused: both were in flight at once.
    const crossing = own.some((o) => {
      const ack = msgs.find(
        (w) => w.from === other && w.m.type === MessageType.BNDACK && w.m.xid === o.m.xid && at(w) > at(o),
      );
      return u !== undefined && (ack === undefined || at(ack) > at(u));
    });
    const desc = (w: WireMessage | undefined): string => {
      if (!w) return 'not on the wire';
      const b = w.m as { bindingStatus?: number; cltt?: number; leaseExpiry?: number };
      return `status ${b.bindingStatus} cltt ${b.cltt ?? '-'} ends ${b.leaseExpiry ?? '-'} (frame ${w.frame})`;
    };
    const message = (a.m as { message?: Uint8Array }).message;
    // Ours, beyond ISC: a stale EXPIRED refused because the client renewed with us since. It counts with the
    // crossing updates when the wire shows our ACTIVE update of that address with the later end it names.
    const stale = /EXPIRED for a binding that ended at (\d+), ours runs to (\d+)/.exec(
      message ? Buffer.from(message).toString() : '',
    );
    const renewed =
      stale !== null &&
      a.from === OURS &&
      Number(stale[1]) < Number(stale[2]) &&
      msgs.some(
        (w) =>
          w.from === OURS &&
          w.m.type === MessageType.BNDUPD &&
          ipOf(w) === ip &&
          (w.m as { bindingStatus?: number }).bindingStatus === 2 &&
          (w.m as { leaseExpiry?: number }).leaseExpiry === Number(stale[2]),
      );
    // The rejecter held a newer binding it had not sent yet (its update was queued while the link was down, e.g.
    // after our kill -9): its next update of the address, after the reject, is at least as recent as the one it
    // refused. The same race as crossing updates, one update later on the wire.
    const uCltt = (u?.m as { cltt?: number } | undefined)?.cltt ?? 0;
    const newerQueued =
      rejectOf(a) === 16 &&
      msgs.some(
        (w) =>
          w.from === a.from &&
          w.m.type === MessageType.BNDUPD &&
          ipOf(w) === ip &&
          w.frame > a.frame &&
          ((w.m as { cltt?: number }).cltt ?? 0) >= uCltt,
      );
    // ISC's rule, not a fault: its primary alone ends an ACTIVE lease (normal_binding_state_transition_check: the
    // secondary may only report a DHCPRELEASE), so our EXPIRED, sent as our record's end passed, is refused with
    // 2 while ISC's record (or the longer lease ISC gave its client in communications-interrupted) still runs.
    const ub = u?.m as { bindingStatus?: number; leaseExpiry?: number } | undefined;
    const expiryRace =
      a.from === ISC &&
      rejectOf(a) === 2 &&
      /invalid state transition: active to expired/.test(message ? Buffer.from(message).toString() : '') &&
      ub?.bindingStatus === 3 &&
      ub.leaseExpiry !== undefined &&
      ub.leaseExpiry <= u!.m.time;
    out.push({
      from: a.from,
      ip,
      reason: rejectOf(a)!,
      crossing: crossing || renewed || newerQueued || expiryRace,
      text:
        `${a.from === ISC ? 'ISC' : 'hadhcp'} rejected ${ip} (reason ${rejectOf(a)}: ${message ? Buffer.from(message).toString() : ''}) ` +
        `update ${desc(u)}; its own last update ${desc(own.at(-1))}${crossing ? ' [crossing]' : ''}`,
    });
  }
  return out;
}

function decodeCapture(pcap: string): { msgs: WireMessage[]; undecodable: string[] } {
  const msgs: WireMessage[] = [];
  const undecodable: string[] = [];
  for (const c of capturedMessages(pcap)) {
    const m = decodeMessage(c.bytes);
    if (isFailoverWireError(m)) undecodable.push(`${c.direction} frame ${c.frame}: ${m.reason}: ${m.detail}`);
    else msgs.push({ from: c.direction.split(':')[0]!, frame: c.frame, m });
  }
  return { msgs, undecodable };
}

/** Per message type sent by `from`: how many, and for BNDACK/CONNECTACK/DISCONNECT the reject reasons seen. */
function tally(msgs: WireMessage[], from: string): Record<string, string> {
  const out: Record<string, { n: number; rejects: Record<number, number> }> = {};
  for (const w of msgs.filter((x) => x.from === from)) {
    const t = (out[MESSAGE_TYPE_NAMES[w.m.type]] ??= { n: 0, rejects: {} });
    t.n++;
    const r = (w.m as { rejectReason?: number }).rejectReason;
    if (r !== undefined) t.rejects[r] = (t.rejects[r] ?? 0) + 1;
  }
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [
      k,
      Object.keys(v.rejects).length ? `${v.n} (reject reasons ${JSON.stringify(v.rejects)})` : String(v.n),
    ]),
  );
}

for (const ours of ['primary', 'secondary'] as const) {
  const theirs = ours === 'primary' ? 'secondary' : 'primary';

  describe.skipIf(skip)(`the hadhcp daemon as ${ours}, ISC dhcpd 4.4.3 as ${theirs}, real clients`, () => {
    const lab = useLab();
    let topo: RelayTopology<unknown>;
    let hd: Hadhcp;
    let isc: DhcpdHandle;
    /** Every ISC process started, and whether we stopped it (an ISC that exits on its own is a finding). */
    const iscRuns: { h: DhcpdHandle; stoppedByUs: boolean }[] = [];
    const hdRuns: Hadhcp[] = [];
    let capture: LabProcess;
    let pcap: string;
    const macs = clientMacs();
    /** Clients hashed to ISC and to us, in client order. */
    const toIsc = (i: number): boolean => balancedTo(macs[i]!, false) === theirs;
    const bound: Bound[] = [];

    /** ISC on `leases` (default: the file the previous ISC left, as a restart finds it). */
    async function startIsc(leases?: string): Promise<DhcpdHandle> {
      const prev = iscRuns.at(-1)?.h;
      const h = await startDhcpd(lab(), 'isc', {
        conf: conf(theirs, ISC, OURS),
        interfaces: ['eth0'],
        // The same file again: what ISC wrote is what it restarts from.
        leases: leases ?? (prev ? readFileSync(prev.leasePath, 'utf8') : ''),
      });
      iscRuns.push({ h, stoppedByUs: false });
      isc = h;
      return h;
    }

    async function startOurs(fresh: boolean): Promise<Hadhcp> {
      hd = await startHadhcp(lab(), 'hd', { conf: conf(ours, OURS, ISC), name: 'hd', fresh });
      hdRuns.push(hd);
      return hd;
    }

    async function stopIsc(signal: NodeJS.Signals): Promise<void> {
      const run = iscRuns.at(-1)!;
      run.stoppedByUs = true;
      run.h.proc.kill(signal);
      // SIGTERM: ISC moves to shutdown and waits about 5 s for us to take partner-down before it exits.
      const t = setTimeout(() => run.h.proc.kill('SIGKILL'), 20_000);
      await run.h.proc.exit;
      clearTimeout(t);
    }

    async function status(): Promise<FailoverPeerStatus> {
      const s = await failoverStatus(hd, NAME);
      if (!s) throw new Error(`status-get has no failover relationship "${NAME}"`);
      return s;
    }

    /** Polls our status until `ok`; the timeout says what it was last and ISC's last state moves. */
    async function statusUntil(
      what: string,
      ok: (s: FailoverPeerStatus) => boolean,
      timeoutMs: number,
    ): Promise<FailoverPeerStatus> {
      const t0 = Date.now();
      for (;;) {
        const s = await status().catch(() => undefined);
        if (s && ok(s)) return s;
        if (Date.now() - t0 > timeoutMs)
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}\n  hadhcp: ${describeStatus(s)}\n` +
              `  ISC moves: ${iscMoves(isc.proc).join(', ')}`,
          );
        await sleep(250);
      }
    }

    const normal = (s: FailoverPeerStatus): boolean =>
      s.state === 'normal' && s.partnerState === 'normal' && s.connected;

    /** Both sides normal: our status, and ISC's last move of this process into normal. */
    async function bothNormal(timeoutMs: number): Promise<FailoverPeerStatus> {
      const s = await statusUntil('our status normal/normal, connected', normal, timeoutMs);
      await isc.proc.waitForLine(new RegExp(`failover peer ${NAME}: I move from \\S+ to normal`), timeoutMs);
      return s;
    }

    /** dhclient on client `i`, kept running (it renews every 15 s); resolves once bound. */
    async function bind(i: number): Promise<Bound> {
      const c = topo.clients[i]!;
      lab().step(`${c.ns} (${c.mac}, hashed to ${toIsc(i) ? 'ISC' : 'hadhcp'}) binds with dhclient`);
      const dh = spawnDhclient(lab(), c.ns, c.ifName);
      await dh.proc.waitForLine(/bound to \d+\.\d+\.\d+\.\d+/, 40_000);
      const l = await until('the dhclient lease file', async () => dhclientLease(dh), 5_000);
      const b = { c, dh, ...l };
      bound.push(b);
      return b;
    }

    /** ISC's active leases as ip -> MAC, from its dhcpd.leases. */
    const iscActive = (): Map<string, string | undefined> =>
      new Map(
        [...readIscLeases(isc.leasePath).values()]
          .filter((l) => l.state === 'active')
          .map((l) => [l.ip, l.mac]),
      );

    /** Waits until every bound client's address is active for its MAC on both servers. */
    async function everyLeaseOnBoth(what: string, timeoutMs: number): Promise<void> {
      const missing = async (): Promise<string[]> => {
        const out: string[] = [];
        const inIsc = iscActive();
        for (const b of bound) {
          const now = dhclientLease(b.dh)?.address ?? b.address;
          const l = await leaseByIp(hd, now).catch(() => undefined);
          if (l?.['binding-state'] !== 'active' || l['hw-address'] !== b.c.mac)
            out.push(
              `${now} ${b.c.mac} in our store: ${l ? `${l['binding-state']} ${l['hw-address']}` : 'none'}`,
            );
          if (inIsc.get(now) !== b.c.mac)
            out.push(
              `${now} ${b.c.mac} in ISC's dhcpd.leases: ${inIsc.has(now) ? `active ${inIsc.get(now)}` : 'not active'}`,
            );
        }
        return out;
      };
      const t0 = Date.now();
      for (;;) {
        const m = await missing();
        if (m.length === 0) return;
        if (Date.now() - t0 > timeoutMs)
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n  ${m.join('\n  ')}`);
        await sleep(500);
      }
    }

    /** Every ISC process we did not stop is still running: ISC exits on some malformed input. */
    function expectIscAlive(): void {
      for (const r of iscRuns)
        if (!r.stoppedByUs)
          expect(r.h.proc.running, `ISC dhcpd exited on its own:\n${r.h.proc.tail(20)}`).toBe(true);
    }

    beforeAll(async () => {
      topo = await relayTopology(lab(), {
        routers: ['isc', 'hd'],
        relayTo: [ISC, OURS],
        clients: macs.length,
        clientMacs: macs,
      });
      // Renewals are unicast from the clients to their server: the relay routes them, as a router does.
      await enableForwarding(lab(), 'relay');
      pcap = lab().file('failover.pcap');
      capture = await startCapture(lab(), 'sw', 'lan0', pcap, ['tcp', 'port', '647']);
      lab().step(`start ISC dhcpd as ${theirs} and hadhcp as ${ours}, both with empty lease files`);
      await Promise.all([startIsc(), startOurs(true)]);
    });

    afterAll(async () => {
      // The lab stops the daemons and clients; the capture is only read by the last test.
      if (capture?.running) await stopCapture(capture).catch(() => undefined);
    });

    it('both reach normal: our status and ISC\'s "Both servers normal"', async () => {
      lab().step('wait for normal on both sides');
      const s = await bothNormal(60_000);
      await isc.proc.waitForLine(new RegExp(`failover peer ${NAME}: Both servers normal`), 30_000);
      expect(s.role).toBe(ours);
      expect(s.mclt).toBe(MCLT);
      expect(s.serve).toBe('all');
      // Our log says it too (its line may reach us a moment after the status does).
      await waitForLog(hd, new RegExp(`^failover peer ${NAME}: Both servers normal$`), 10_000);
      console.log(`hadhcp as ${ours}: ISC moves ${iscMoves(isc.proc).join(', ')}`);
      expectIscAlive();
    });

    it('the pool balances: ISC says "balanced pool" within max-lease-misbalance, our status counts the same', async () => {
      const re = /balanced pool \S+ .*total (\d+)\s+free (\d+)\s+backup (\d+)/;
      const last = (): { total: number; free: number; backup: number } | undefined => {
        const m = isc.proc
          .output()
          .split('\n')
          .flatMap((l) => {
            const x = re.exec(l);
            return x ? [{ total: Number(x[1]), free: Number(x[2]), backup: Number(x[3]) }] : [];
          })
          .at(-1);
        return m;
      };
      const thresh = Math.ceil((POOL_SIZE * MISBALANCE) / 100);
      const even = (p: { total: number; free: number; backup: number } | undefined): boolean =>
        p !== undefined && p.total === POOL_SIZE && Math.abs(p.free - p.backup) <= thresh;
      lab().step("wait for ISC's balanced pool");
      const iscPool = await until(
        'ISC: balanced pool, free and backup within misbalance',
        async () => (even(last()) ? last() : undefined),
        30_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; ISC's last: ${JSON.stringify(last())}`);
      });
      lab().step('our status: the same pool counts');
      const s = await statusUntil(
        `our pool counts equal ISC's ${JSON.stringify(last())}`,
        (x) => x.pool !== undefined && x.pool.free === last()?.free && x.pool.backup === last()?.backup,
        30_000,
      ).catch(async (e: Error) => {
        // Say what both counted before failing on it.
        throw new Error(`${e.message}\n  ours: ${JSON.stringify((await status()).pool)}`);
      });
      console.log(
        `hadhcp as ${ours}: ISC balanced pool ${JSON.stringify(iscPool)}, ours ${JSON.stringify(s.pool)}`,
      );
      expect(even({ total: s.pool!.total, free: s.pool!.free, backup: s.pool!.backup })).toBe(true);
      expect(s.updates.unacked).toBeLessThanOrEqual(10);
      expectIscAlive();
    });

    it("leases given by either side are on the other: ISC's clients in our store, ours in ISC's dhcpd.leases", async () => {
      // Four clients: two hashed to each server. Each DISCOVER is answered by one; the REQUEST by the same.
      for (const i of [0, 1, 2, 3]) await bind(i);
      const servedBy = bound.map(
        (b) =>
          `${b.c.ns} ${b.address} by ${b.server === ISC ? 'ISC' : b.server === OURS ? 'hadhcp' : b.server}`,
      );
      console.log(`hadhcp as ${ours}: ${servedBy.join(', ')}`);
      // (Soft: the sync is the point, whichever server answered; the hash only decides who.)
      for (const [k, b] of bound.entries())
        expect
          .soft(b.server, `${b.c.ns}: the server its hash (split 128) gives it to`)
          .toBe(toIsc(k) ? ISC : OURS);
      expect(
        bound.some((b) => b.server === ISC),
        'ISC served at least one client',
      ).toBe(true);
      expect(
        bound.some((b) => b.server === OURS),
        'hadhcp served at least one client',
      ).toBe(true);
      lab().step('every lease on both servers');
      await everyLeaseOnBoth('every client lease active on both servers', 15_000);
      expectIscAlive();
    });

    it('our daemon stopped (SIGTERM) and started again on its store: back to normal, every lease kept', async () => {
      lab().step('SIGTERM our daemon');
      const linesBefore = isc.proc.lineCount;
      await stopHadhcp(hd);
      expect(hd.proc.running).toBe(false);
      // ISC hears our shutdown (or our silence) and takes over every client.
      await sleep(1_000);
      const iscAfterStop = isc.proc
        .output()
        .split('\n')
        .slice(linesBefore)
        .filter((l) => STATE_MOVE.test(l));
      lab().step('start our daemon again on the same state folder');
      await startOurs(false);
      const s = await bothNormal(90_000).catch((e: Error) => {
        throw new Error(`${e.message}\n  ISC after our stop: ${iscAfterStop.join(' | ')}`);
      });
      console.log(
        `hadhcp as ${ours}, after our restart: ISC moved ${isc.proc
          .output()
          .split('\n')
          .slice(linesBefore)
          .filter((l) => STATE_MOVE.test(l))
          .map((l) => STATE_MOVE.exec(l)!.slice(1).join(' -> '))
          .join(', ')}`,
      );
      expect(s.serve).toBe('all');
      lab().step('every lease on both servers after our restart');
      await everyLeaseOnBoth('every client lease active on both servers after our restart', 30_000);
      expectIscAlive();
    }, 180_000);

    it("ISC stopped (SIGTERM) and started again on its dhcpd.leases: back to normal, our clients' leases in its file", async () => {
      lab().step('SIGTERM ISC');
      await stopIsc('SIGTERM');
      const old = iscRuns.at(-1)!.h.proc;
      // Debian's dhcpd 4.4.3 is built without ENABLE_GENTLE_SHUTDOWN (server/dhcpd.c installs its SIGTERM handler only
      // then): SIGTERM ends it at once, without the shutdown state FACTS 4.3 describes, and its file keeps `my state
      // normal`. So it comes back through startup, not recover (the next test makes it recover).
      const exit = await old.exit;
      console.log(
        `hadhcp as ${ours}: ISC at its stop: ${iscMoves(old).slice(-2).join(', ')}; exit ${JSON.stringify(exit)}`,
      );
      expect(
        iscMoves(old).some((m) => /-> shutdown/.test(m)),
        'Debian dhcpd has no gentle shutdown',
      ).toBe(false);
      lab().step('start ISC again on the same dhcpd.leases');
      const h = await startIsc();
      await bothNormal(120_000);
      console.log(`hadhcp as ${ours}, ISC after its restart: ${iscMoves(h.proc).join(', ')}`);
      lab().step("every lease on both servers, ISC's file included");
      await everyLeaseOnBoth('every client lease active on both servers after ISC restarted', 40_000);
      const inIsc = iscActive();
      for (const b of bound.filter((x) => x.server === OURS))
        expect(inIsc.get(b.address), `our client ${b.c.ns}'s ${b.address} in ISC's dhcpd.leases`).toBe(
          b.c.mac,
        );
      expectIscAlive();
    }, 240_000);

    it('ISC started again on an empty dhcpd.leases (a lost disk): recover ... normal, every lease back in its file', async () => {
      lab().step('stop ISC and start it on an empty dhcpd.leases');
      await stopIsc('SIGTERM');
      const h = await startIsc('');
      await bothNormal(120_000);
      const moves = iscMoves(h.proc);
      console.log(`hadhcp as ${ours}, ISC on an empty file: ${moves.join(', ')}`);
      // No state block in the file: ISC starts in recover and asks us for everything (UPDREQALL).
      expect(moves[0], `ISC's moves: ${moves.join(', ')}`).toMatch(/^recover -> /);
      expect(
        moves.some((m) => /^startup -> recover/.test(m)),
        `ISC's moves: ${moves.join(', ')}`,
      ).toBe(true);
      lab().step("every client's lease in ISC's new file");
      await everyLeaseOnBoth('every client lease active on both servers after ISC recovered', 40_000);
      expectIscAlive();
    }, 240_000);

    /** A fresh client bound by `by`; `by` is killed; the client rebinds from the other with the same address. */
    async function keepsAddress(i: number, by: 'ISC' | 'hadhcp'): Promise<void> {
      const [x, y] = by === 'ISC' ? [ISC, OURS] : [OURS, ISC];
      // The DISCOVER is answered by the server of the client's hash, but the REQUEST reaches both (the relay forwards
      // to both), and ISC acknowledges a REQUEST naming its partner's server identifier too: whichever ACK arrives
      // first binds the client. A client bound by the other server starts over from a fresh lease file.
      let b = await bind(i);
      for (let attempt = 1; b.server !== x && attempt < 4; attempt++) {
        lab().step(`${b.c.ns} was bound by ${b.server}, not ${x}: start it over`);
        await b.dh.proc.stop(3000);
        bound.splice(bound.indexOf(b), 1);
        await lab().exec(b.c.ns, 'ip', ['-4', 'addr', 'flush', 'dev', b.c.ifName]);
        b = await bind(i);
      }
      expect(b.server, `${b.c.ns} bound by ${by} (its hash)`).toBe(x);
      const from = b.dh.proc.lineCount;
      lab().step(`kill -9 ${by}, ${b.c.ns}'s server`);
      if (by === 'ISC') await stopIsc('SIGKILL');
      else {
        hd.proc.kill('SIGKILL');
        await hd.proc.exit;
      }
      lab().step(
        `${b.c.ns} renews (unicast to the dead server), then rebinds: the other must ACK ${b.address}`,
      );
      const after = await until(
        `${b.c.ns} bound again by ${y}`,
        async () => {
          const l = dhclientLease(b.dh);
          const rebound = b.dh.proc
            .output()
            .split('\n')
            .slice(from)
            .some((x) => /bound to /.test(x));
          return rebound && l && l.server !== x ? l : undefined;
        },
        MCLT * 1000 + 30_000,
      ).catch((e: Error) => {
        throw new Error(
          `${e.message}\n  dhclient since the kill:\n  ${b.dh.proc.output().split('\n').slice(from).join('\n  ')}`,
        );
      });
      const since = b.dh.proc.output().split('\n').slice(from);
      console.log(
        `hadhcp as ${ours}: ${b.c.ns} after ${by}'s kill: ${since.filter((l) => /DHCP|bound/.test(l)).join(' | ')}`,
      );
      expect(after).toEqual({ address: b.address, server: y });
      expect(since.filter((l) => /DHCPNAK/.test(l))).toEqual([]);
    }

    it('a client bound by ISC keeps its address when ISC is killed: our daemon ACKs its rebind', async () => {
      await keepsAddress(toIsc(4) ? 4 : 5, 'ISC');
      const s = await status();
      console.log(`hadhcp as ${ours}, ISC dead: ${describeStatus(s)}`);
      lab().step('start ISC again: back to normal');
      await startIsc();
      await bothNormal(120_000);
      console.log(`hadhcp as ${ours}, ISC after kill -9 and start: ${iscMoves(isc.proc).join(', ')}`);
      expectIscAlive();
    }, 240_000);

    it('a client bound by us keeps its address when our daemon is killed: ISC ACKs its rebind', async () => {
      await keepsAddress(toIsc(4) ? 5 : 4, 'hadhcp');
      lab().step('start our daemon again: back to normal');
      await startOurs(false);
      await bothNormal(120_000);
      lab().step('every lease on both servers');
      await everyLeaseOnBoth('every client lease active on both servers at the end', 40_000);
      expectIscAlive();
    }, 240_000);

    it('ISC stayed up throughout and refused nothing of ours but crossing updates; the wire, message type by message type', async () => {
      expectIscAlive();
      expect(isc.proc.running).toBe(true);

      lab().step('read the wire');
      await stopCapture(capture);
      const { msgs, undecodable } = decodeCapture(pcap);
      console.log(
        `hadhcp as ${ours}: ISC sent ${JSON.stringify(tally(msgs, ISC))}\n  we sent ${JSON.stringify(tally(msgs, OURS))}`,
      );
      expect.soft(undecodable, 'messages our codec cannot read').toEqual([]);
      expect(
        msgs
          .filter((w) => w.m.type === MessageType.CONNECTACK && rejectOf(w) !== undefined)
          .map((w) => `${w.from} CONNECTACK reject ${rejectOf(w)}`),
        'CONNECTACKs with a reject',
      ).toEqual([]);
      const rejects = classifyRejects(msgs);
      for (const r of rejects) console.log(`hadhcp as ${ours}: ${r.text}`);
      // A reject 16 of crossing updates is the protocol working (both sides renewed the same lease at once: dhcrelay
      // forwards a unicast renewal to both servers, and ISC answers every REQUEST it hears); anything else is not.
      expect(
        rejects.filter((r) => !r.crossing).map((r) => r.text),
        'BNDACK rejects that were not crossing updates',
      ).toEqual([]);
      // Neither server tells the other that an address it leased to a client still holding it is free.
      const heldOurs = freedWhileHeld(msgs, OURS, acksLogged(hdRuns.map((h) => h.proc)));
      const heldIsc = freedWhileHeld(msgs, ISC, acksLogged(iscRuns.map((r) => r.h.proc)));
      for (const x of [...heldOurs, ...heldIsc]) console.log(`hadhcp as ${ours}: ${x}`);
      expect.soft(heldOurs, 'our BNDUPDs freeing an address a client of ours still holds').toEqual([]);
      expect.soft(heldIsc, "ISC's BNDUPDs freeing an address a client of ISC's still holds").toEqual([]);
      // Both sides sent bindings and had them acknowledged.
      for (const [who, other] of [
        [ISC, OURS],
        [OURS, ISC],
      ] as const) {
        const ups = msgs.filter((w) => w.from === who && w.m.type === MessageType.BNDUPD);
        const acks = new Set(
          msgs.filter((w) => w.from === other && w.m.type === MessageType.BNDACK).map((w) => w.m.xid),
        );
        expect(ups.length, `BNDUPDs from ${who}`).toBeGreaterThan(0);
        const acked = ups.filter((u) => acks.has(u.m.xid)).length;
        // Two kill -9s leave some in flight; everything else is answered.
        expect(acked, `BNDUPDs from ${who} acknowledged by ${other}`).toBeGreaterThanOrEqual(ups.length - 15);
      }

      // What ISC said: a line about a reject of ours is fine only for the crossing updates above (ISC logs our
      // BNDACK reject as "bind update on A from NAME rejected: <our message>").
      const crossingTexts = new Set(rejects.filter((r) => r.crossing && r.from === OURS).map((r) => r.ip));
      const complaints = iscRuns.flatMap((r) =>
        r.h.proc
          .output()
          .split('\n')
          .filter((l) => ISC_COMPLAINT.test(l))
          .filter((l) => {
            const m =
              /^bind update on (\S+) from \S+ rejected: incoming update is less critical than outgoing update$/.exec(
                l,
              );
            return !(m && crossingTexts.has(m[1]!));
          })
          .filter((l) => {
            // Ours, beyond ISC: a stale EXPIRED (ISC's record ended before the renewal we had sent it), or a stale
            // FREE/BACKUP (ISC let go a binding we renewed while it could not hear of it), is refused with 16.
            // Fine when the wire shows our ACTIVE update of that address with the later end.
            const free =
              /^bind update on (\S+) from \S+ rejected: (?:FREE|BACKUP) for a binding we hold ACTIVE to (\d+): the client still holds it$/.exec(
                l,
              );
            const early =
              /^bind update on (\S+) from \S+ rejected: EXPIRED sent at \d+ for a binding that ends at (\d+): it has not ended$/.exec(
                l,
              );
            const m =
              /^bind update on (\S+) from \S+ rejected: EXPIRED for a binding that ended at (\d+), ours runs to (\d+): the client renewed since$/.exec(
                l,
              ) ??
              (free ? [free[0], free[1], '0', free[2]] : null) ??
              (early ? [early[0], early[1], '0', early[2]] : null);
            if (!m) return true;
            const [ip, ended, ours] = [m[1]!, Number(m[2]), Number(m[3])];
            const sent = msgs.some(
              (w) =>
                w.from === OURS &&
                w.m.type === MessageType.BNDUPD &&
                w.m.bindingStatus === 2 &&
                w.m.assignedIp !== undefined &&
                formatIp4(w.m.assignedIp) === ip &&
                w.m.leaseExpiry === ours,
            );
            return !(ended < ours && sent);
          }),
      );
      expect(complaints, "ISC's complaints").toEqual([]);

      // Our side, every run of the daemon: failover warnings and errors other than the crossing rejects.
      const ownWarnings = hdRuns.flatMap((h) =>
        h.proc
          .output()
          .split('\n')
          .filter((l) => /"level":(40|50|60)/.test(l) && /failover/i.test(l))
          .map((l) => (JSON.parse(l) as { msg: string }).msg),
      );
      console.log(`hadhcp as ${ours}: our failover warnings/errors:\n  ${ownWarnings.join('\n  ')}`);
      const counters = (await status()).counters;
      const bad = Object.entries(counters).filter(
        ([k, v]) => v > 0 && /^(malformed|protocol|refused|internal)/.test(k),
      );
      expect(Object.fromEntries(bad), 'our failover counters of refusals and drops').toEqual({});
    });
  });
}
