import { formatIp4, pcapRecordToEthernet, readIp4, readPcap } from '@hadhcp/common';
import { describe, expect, it } from 'vitest';
import { capturedMessages, loadCapture, tsharkMessages } from '../../test-vectors/captures.js';
import { decodeMessage } from '../wire/codec.js';
import { MessageType, ServerFlags, ServerState as S } from '../wire/constants.js';
import { isFailoverWireError } from '../wire/errors.js';
import type { FailoverMessage } from '../wire/types.js';
import { initFailover, step } from './machine.js';
import type {
  FailoverAction,
  FailoverEvent,
  FailoverParams,
  FailoverState,
  PersistedFailoverState,
  Role,
} from './machine-types.js';

/*
 * server-lan.pcap replayed into two cores, one configured as each ISC dhcpd of the capture (10.0.0.2 primary,
 * 10.0.0.3 secondary, "dhcp-failover", mclt 3600). Each core is fed what its partner sent (STATE, UPDDONE, the
 * CONNECT or CONNECTACK that opens a session, the partner closing the TCP connection) at the capture's times, and
 * restarted from the state it last recorded where the ISC it stands for restarted. What the core sends (STATE,
 * UPDREQALL, UPDREQ) must be what that ISC sent, value for value, flags and STOS included.
 *
 * What the capture shows (and FACTS.md 4.3 does not): ISC 4.4.3's stop sent no shutdown STATE, just closed the
 * connection (stock builds have no gentle shutdown); a restarted ISC came back in its recorded state (normal) with
 * the STARTUP flag and sent no UPDREQALL; the partner went communications-interrupted, not partner-down, kept
 * serving, and went back to normal on the restarted server's second STATE.
 */

const recs = readPcap(loadCapture());
const tsMs = (frame: number) => Math.round(recs[frame - 1]!.ts * 1000);

const A = '10.0.0.2';
const B = '10.0.0.3';
const ROLE: Record<string, Role> = { [A]: 'primary', [B]: 'secondary' };

interface Msg {
  frame: number;
  from: string;
  conn: string;
  msg: FailoverMessage;
}

const endpoints = (dir: string) => dir.split('>') as [string, string];
const connOf = (a: string, b: string) => [a, b].sort().join('|');
const ipOf = (endpoint: string) => endpoint.split(':')[0]!;

const messages: Msg[] = capturedMessages().map((c) => {
  const msg = decodeMessage(c.bytes);
  if (isFailoverWireError(msg)) throw new Error(`frame ${c.frame}: ${msg.reason}`);
  const [src, dst] = endpoints(c.direction);
  return { frame: c.frame, from: ipOf(src), conn: connOf(src, dst), msg };
});

/** The first FIN of each TCP 647 connection: who closed it, and when. */
function firstFins(): Map<string, { frame: number; from: string }> {
  const out = new Map<string, { frame: number; from: string }>();
  recs.forEach((rec, i) => {
    const eth = pcapRecordToEthernet(rec);
    if (!eth || eth[12] !== 0x08 || eth[13] !== 0x00 || eth[23] !== 6) return;
    const ip = eth.subarray(14);
    const tcp = ip.subarray((ip[0]! & 0x0f) * 4);
    const sport = (tcp[0]! << 8) | tcp[1]!;
    const dport = (tcp[2]! << 8) | tcp[3]!;
    if ((sport !== 647 && dport !== 647) || (tcp[13]! & 0x01) === 0) return;
    const src = `${formatIp4(readIp4(ip, 12))}:${sport}`;
    const conn = connOf(src, `${formatIp4(readIp4(ip, 16))}:${dport}`);
    if (!out.has(conn)) out.set(conn, { frame: i + 1, from: ipOf(src) });
  });
  return out;
}

/** What a core sends that the capture can be compared with; the rest (BNDUPD, UPDDONE, CONTACT) is the io's. */
type Said = ['STATE', number, number, number] | ['UPDREQALL'] | ['UPDREQ'];

function saidByIsc(m: FailoverMessage): Said | undefined {
  if (m.type === MessageType.STATE) return ['STATE', m.serverState!, m.serverFlags!, m.stos!];
  if (m.type === MessageType.UPDREQALL) return ['UPDREQALL'];
  if (m.type === MessageType.UPDREQ) return ['UPDREQ'];
  return undefined;
}

function saidByCore(a: FailoverAction): Said | undefined {
  if (a.type === 'sendState') return ['STATE', a.state, a.flags, a.stos];
  if (a.type === 'sendUpdReqAll') return ['UPDREQALL'];
  if (a.type === 'sendUpdReq') return ['UPDREQ'];
  return undefined;
}

interface Session {
  conn: string;
  restarted: boolean;
  /** What the core said, and what the ISC it stands for said, in this session. */
  core: Said[];
  isc: Said[];
  /** The states the core went through in this session (stateChanged), and where it ended. */
  moves: S[];
  end: S;
  closedByPartner: boolean;
}

interface Replay {
  sessions: Session[];
  /** (time, state) after each event, to ask what the core was doing at a given moment. */
  timeline: { at: number; state: FailoverState }[];
}

function replay(me: string): Replay {
  const params: FailoverParams = { name: 'dhcp-failover', role: ROLE[me]!, mclt: 3600, autoPartnerDown: 0 };
  const fins = firstFins();
  const conns = [...new Set(messages.map((m) => m.conn))];
  let s: FailoverState | undefined;
  let disk: PersistedFailoverState | undefined;
  const timeline: Replay['timeline'] = [];
  const sessions: Session[] = [];
  let session: Session;

  const feed = (e: FailoverEvent, at: number) => {
    // Timers due before this event fire first, as they would have in the daemon.
    for (const [key, due] of Object.entries(s!.timers)) {
      if (due === undefined || due > at) continue;
      const fired = step(s!, { type: 'timer', key: key as keyof FailoverState['timers'] }, due);
      apply(fired.state, fired.actions);
    }
    const r = step(s!, e, at);
    apply(r.state, r.actions);
    timeline.push({ at, state: s! });
  };
  const apply = (next: FailoverState, actions: FailoverAction[]) => {
    for (const a of actions) {
      if (a.type === 'persistState') disk = a.record;
      if (a.type === 'stateChanged') session.moves.push(a.to);
      const said = saidByCore(a);
      if (said) session.core.push(said);
    }
    s = next;
  };

  for (const [i, conn] of conns.entries()) {
    const inConn = messages.filter((m) => m.conn === conn);
    const mine = inConn.filter((m) => m.from === me);
    // The ISC restarted before this session if its first STATE in it carries the STARTUP flag.
    const firstState = mine.find((m) => m.msg.type === MessageType.STATE)!.msg as { serverFlags?: number };
    const restarted = i === 0 || ((firstState.serverFlags ?? 0) & ServerFlags.STARTUP) !== 0;
    session = { conn, restarted, core: [], isc: [], moves: [], end: S.UNKNOWN, closedByPartner: false };
    sessions.push(session);
    if (restarted) {
      // A fresh pair first (no lease file), then whatever the core last recorded: an ISC that stopped wrote
      // nothing on its way out.
      s = initFailover(params);
      feed(
        { type: 'start', saved: i === 0 ? undefined : disk, storeEmpty: i === 0 },
        tsMs(inConn[0]!.frame) - 100,
      );
    }
    for (const m of inConn) {
      const said = m.from === me ? saidByIsc(m.msg) : undefined;
      if (said) session.isc.push(said);
      if (m.from === me) continue;
      const at = tsMs(m.frame);
      if (m.msg.type === MessageType.CONNECT) feed({ type: 'connected', mclt: m.msg.mclt }, at);
      else if (m.msg.type === MessageType.CONNECTACK) feed({ type: 'connected' }, at);
      else if (m.msg.type === MessageType.STATE)
        feed({ type: 'peerState', state: m.msg.serverState!, flags: m.msg.serverFlags ?? 0 }, at);
      else if (m.msg.type === MessageType.UPDDONE) feed({ type: 'upddone' }, at);
    }
    const fin = fins.get(conn);
    if (fin && fin.from !== me) {
      session.closedByPartner = true;
      feed({ type: 'disconnected', reason: 'close' }, tsMs(fin.frame));
    }
    session.end = s!.my;
  }
  return { sessions, timeline };
}

const primary = replay(A);
const secondary = replay(B);

describe('server-lan.pcap replayed into a core per ISC server', () => {
  it('finds the three sessions: fresh pair, after both restarted, after the primary restarted', () => {
    expect(primary.sessions.map((x) => x.restarted)).toEqual([true, true, true]);
    expect(secondary.sessions.map((x) => x.restarted)).toEqual([true, true, false]);
    // Every session ended with the primary closing: the secondary saw a disconnect, the primary just stopped.
    expect(primary.sessions.map((x) => x.closedByPartner)).toEqual([false, false, false]);
    expect(secondary.sessions.map((x) => x.closedByPartner)).toEqual([true, true, false]);
  });

  it.each([0, 1, 2])('session %i: the primary core says what ISC primary said', (i) => {
    expect(primary.sessions[i]!.core).toEqual(primary.sessions[i]!.isc);
  });

  it.each([0, 1, 2])('session %i: the secondary core says what ISC secondary said', (i) => {
    expect(secondary.sessions[i]!.core).toEqual(secondary.sessions[i]!.isc);
  });

  it('goes through the states the capture shows', () => {
    const ST = S.STARTUP;
    // Fresh pair: both in recover, UPDREQALL both ways, no recover-wait (both recovering), recover-done, normal.
    expect(primary.sessions[0]!.moves).toEqual([ST, S.RECOVER, S.RECOVER_DONE, S.NORMAL]);
    expect(secondary.sessions[0]!.moves).toEqual([
      ST,
      S.RECOVER,
      S.RECOVER_DONE,
      S.NORMAL,
      S.COMMUNICATIONS_INTERRUPTED,
    ]);
    // Both restarted: the primary back in normal, the secondary in communications-interrupted, then normal.
    expect(primary.sessions[1]!.moves).toEqual([ST, S.NORMAL]);
    expect(secondary.sessions[1]!.moves).toEqual([
      ST,
      S.COMMUNICATIONS_INTERRUPTED,
      S.NORMAL,
      S.COMMUNICATIONS_INTERRUPTED,
    ]);
    // The primary stopped and came back: no partner-down, no recover, no UPDREQALL on either side.
    expect(primary.sessions[2]!.moves).toEqual([ST, S.NORMAL]);
    expect(secondary.sessions[2]!.moves).toEqual([S.NORMAL]);
    expect([...primary.sessions, ...secondary.sessions].map((x) => x.end)).toEqual([
      S.NORMAL,
      S.NORMAL,
      S.NORMAL,
      S.COMMUNICATIONS_INTERRUPTED,
      S.COMMUNICATIONS_INTERRUPTED,
      S.NORMAL,
    ]);
    for (const x of [...primary.sessions.slice(1), ...secondary.sessions.slice(1)])
      expect(x.core.filter(([t]) => t === 'UPDREQALL')).toEqual([]);
  });

  it('the secondary served alone in communications-interrupted, as ISC did (its OFFER and ACK at +30.3 s)', () => {
    const fromB = dhcpRepliesFrom(B);
    const cutOff = secondary.timeline.find(
      (x) => x.state.my === S.COMMUNICATIONS_INTERRUPTED && x.at > tsMs(90),
    )!.at;
    const back = secondary.timeline.find((x) => x.at > cutOff && x.state.my === S.NORMAL)!.at;
    const alone = fromB.filter((r) => r.at > cutOff && r.at < back);
    expect(alone.map((r) => r.type)).toEqual([2, 5]); // DHCPOFFER, DHCPACK
    const then = secondary.timeline.filter((x) => x.at <= alone[1]!.at).at(-1)!.state;
    expect(then.my).toBe(S.COMMUNICATIONS_INTERRUPTED);
    expect(then.serve).toBe('own');
  });

  it("the STATEs compared are tshark's decoding of the same frames (server-lan.dhcpfo.json)", () => {
    const ours = messages
      .filter((m) => m.msg.type === MessageType.STATE)
      .map((m) => saidByIsc(m.msg)!.slice(1).map(Number));
    const theirs = tsharkMessages()
      .filter((t) => t.type === MessageType.STATE)
      .map((t) => t.options.map((o) => Number(Object.values(o.fields)[0]!.show)));
    expect(ours).toEqual(theirs);
    expect(ours).toHaveLength(17);
  });
});

/** DHCP replies (OFFER 2, ACK 5, ...) a server sent, with their capture times. */
function dhcpRepliesFrom(server: string): { at: number; type: number }[] {
  const out: { at: number; type: number }[] = [];
  recs.forEach((rec, i) => {
    const eth = pcapRecordToEthernet(rec);
    if (!eth || eth[12] !== 0x08 || eth[13] !== 0x00 || eth[23] !== 17) return;
    const ip = eth.subarray(14);
    if (formatIp4(readIp4(ip, 12)) !== server) return;
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    if (((udp[0]! << 8) | udp[1]!) !== 67) return;
    const dhcp = udp.subarray(8);
    for (let o = 240; o + 2 < dhcp.length && dhcp[o] !== 255; o += dhcp[o] === 0 ? 1 : 2 + dhcp[o + 1]!)
      if (dhcp[o] === 53) out.push({ at: tsMs(i + 1), type: dhcp[o + 2]! });
  });
  return out;
}
