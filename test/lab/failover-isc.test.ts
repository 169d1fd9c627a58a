// Issue 7 against a real ISC dhcpd 4.4.3: our FailoverPeerService (test/lab/lib/failover-node.ts, its leases in
// memory) and ISC dhcpd as the two servers of one failover relationship, each in its own namespace on one bridge,
// once with us as the secondary and once as the primary. Both reach normal and say so in the same words; every
// BNDUPD ISC sends is BNDACKed without a reject, and as primary our pool balance gives ISC its 20 BACKUP leases,
// each BNDACKed by ISC without a reject (read from the wire), until ISC reports its pool balanced; CONTACTs keep
// the link up for more than twice max-response-delay; killing our side makes ISC go communications-interrupted,
// and ISC keeps running throughout. (The whole daemon against ISC, with DHCP clients: failover-isc-daemon.test.ts.)
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../packages/failover/src/wire/codec.js';
import {
  BindingStatus,
  MESSAGE_TYPE_NAMES,
  MessageType,
} from '../../packages/failover/src/wire/constants.js';
import { isFailoverWireError } from '../../packages/failover/src/wire/errors.js';
import type { FailoverMessage } from '../../packages/failover/src/wire/types.js';
import { capturedMessages } from '../../packages/failover/test-vectors/captures.js';
import {
  requireRoot,
  startCapture,
  startDhcpd,
  stopCapture,
  useLab,
  type Lab,
  type LabProcess,
} from './lib/index.js';
import { iscFailoverConf, nodeLines, nodeStatus, startFailoverNode } from './lib/failover-lab.js';

const NAME = 'lab-failover';
const ISC_IP = '10.0.0.2';
const OUR_IP = '10.0.0.3';
/** Small, so that "more than twice max-response-delay" fits in a short test. */
const MRD = 5;
/** 40 addresses: ISC's primary balances them, handing the secondary 20 as BACKUP. */
const RANGE: [string, string] = ['10.0.0.100', '10.0.0.139'];

const skip = requireRoot({ commands: ['dhcpd', 'tcpdump'] });

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface WireMessage {
  from: string;
  m: FailoverMessage;
}

/** Every failover message on the wire, decoded, with the sender's address. */
function wire(pcap: string): WireMessage[] {
  return capturedMessages(pcap).map((c) => {
    const m = decodeMessage(c.bytes);
    if (isFailoverWireError(m)) throw new Error(`${c.direction} frame ${c.frame}: ${m.reason}: ${m.detail}`);
    return { from: c.direction.split(':')[0]!, m };
  });
}

/** "ISC: 3 STATE, 60 BNDUPD ..." per sender, for the log and the report. */
function tally(msgs: WireMessage[], from: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of msgs.filter((x) => x.from === from)) {
    const n = MESSAGE_TYPE_NAMES[w.m.type];
    out[n] = (out[n] ?? 0) + 1;
  }
  return out;
}

async function segment(lab: Lab): Promise<void> {
  const sw = await lab.addBridge(undefined, 'fo0');
  for (const [ns, ip] of [
    ['isc', ISC_IP],
    ['hd', OUR_IP],
  ] as const) {
    await lab.addNamespace(ns);
    await lab.link(ns, 'eth0', sw);
    await lab.addr(ns, 'eth0', `${ip}/24`);
  }
}

const normalLine = (who: 'I move' | 'peer moves') =>
  new RegExp(`failover peer ${NAME}: ${who} from [a-z-]+ to normal`);

describe.skipIf(skip)('failover with ISC dhcpd 4.4.3', () => {
  const lab = useLab('each');

  for (const ours of ['secondary', 'primary'] as const) {
    const theirs = ours === 'secondary' ? 'primary' : 'secondary';

    it(`hadhcp as ${ours}, ISC as ${theirs}: both normal, the pool balanced, every BNDUPD acked both ways, CONTACT holds the link, ISC sees our death`, async () => {
      const l = lab();
      await segment(l);
      const pcap = l.file('failover.pcap');
      const capture = await startCapture(l, 'sw', 'fo0', pcap, ['tcp', 'port', '647']);

      l.step(`start ISC dhcpd as ${theirs}`);
      const isc = await startDhcpd(l, 'isc', {
        conf: iscFailoverConf({
          name: NAME,
          role: theirs,
          address: ISC_IP,
          peerAddress: OUR_IP,
          maxResponseDelay: MRD,
          maxUnackedUpdates: 10,
          ...(theirs === 'primary'
            ? { mclt: 60, split: 128 }
            : // The secondary's pool check asks for leases (POOLREQ) after min-balance: seconds here, not 60.
              { peerExtra: ['min-balance 2;', 'max-balance 4;'] }),
          range: RANGE,
        }),
        interfaces: ['eth0'],
      });

      l.step(`start hadhcp's failover service as ${ours}`);
      const node = await startFailoverNode(l, 'hd', {
        name: NAME,
        role: ours,
        address: OUR_IP,
        peerAddress: ISC_IP,
        maxResponseDelay: MRD,
        maxUnackedUpdates: 10,
        ...(ours === 'primary' ? { mclt: 60, split: 128 } : {}),
        stateFile: l.file('hadhcp-failover-state.json'),
        range: RANGE,
      });

      l.step('wait for normal on both sides');
      await isc.proc.waitForLine(normalLine('I move'), 30_000);
      await isc.proc.waitForLine(normalLine('peer moves'), 30_000);
      await node.waitForLine(normalLine('I move'), 30_000);
      await node.waitForLine(normalLine('peer moves'), 30_000);
      // Each side says it once it has seen the other's normal, a moment after its own move: waited for, not read.
      const both = new RegExp(`failover peer ${NAME}: Both servers normal`);
      await node.waitForLine(both, 30_000);
      await isc.proc.waitForLine(both, 30_000);

      const bndupds = () => nodeLines(node).filter((x) => x.type === 'bndupd');
      if (ours === 'secondary') {
        // ISC answers our UPDREQALL with its 40 leases (FREE), then its pool balance hands us 20 as BACKUP.
        l.step('wait for the 20 BACKUP leases of ISC pool balancing');
        await until(
          () => bndupds().filter((b) => b.status === 'backup').length >= 20,
          20_000,
          '20 BACKUP BNDUPDs',
        );
      } else {
        // ISC answers our UPDREQALL with its 40 FREE leases; our pool balance (primary, in normal) gives it half
        // of them as BACKUP, which ISC's own pool check then reports balanced.
        l.step("wait for the 40 FREE leases and ISC's balanced pool of 20 free, 20 backup");
        await until(() => bndupds().length >= 40, 20_000, "40 BNDUPDs from ISC's UPDREQALL answer");
        await isc.proc.waitForLine(/^balanced pool .* total 40 +free 20 +backup 20 /, 20_000);
      }

      l.step(`hold the link for more than 2 x max-response-delay (${2 * MRD} s) on CONTACTs alone`);
      const before = await nodeStatus(node);
      await new Promise((r) => setTimeout(r, 2 * MRD * 1000 + 1_500));
      const after = await nodeStatus(node);
      const counters = (s: Record<string, unknown>) => s.counters as Record<string, number>;
      expect(after).toMatchObject({ state: 'normal', partnerState: 'normal', connected: true });
      expect(after.link).toEqual(before.link);
      // Every message sent re-arms the sender's CONTACT timer (receive-timer / 3), so a keepalive is any message:
      // ISC's come at least every 1 s (5 / 3, whole seconds), ours every 5/3 s; POOLREQ/POOLRESP replace CONTACTs.
      const total = (s: Record<string, unknown>, dir: 'in.' | 'out.') =>
        Object.entries(counters(s))
          .filter(([k]) => k.startsWith(dir))
          .reduce((sum, [, v]) => sum + v, 0);
      expect(total(after, 'in.') - total(before, 'in.')).toBeGreaterThanOrEqual(8);
      expect(total(after, 'out.') - total(before, 'out.')).toBeGreaterThanOrEqual(5);
      expect(nodeLines(node).filter((x) => x.type === 'link' && x.up === false)).toEqual([]);
      expect(isc.proc.output()).not.toMatch(/communications-interrupted/);

      l.step('kill our side: ISC must notice');
      node.kill('SIGKILL');
      await node.exit;
      await isc.proc.waitForLine(
        new RegExp(`failover peer ${NAME}: I move from normal to communications-interrupted`),
        10_000,
      );
      expect(isc.proc.running).toBe(true);
      await stopCapture(capture);

      l.step('read the wire');
      const msgs = wire(pcap);
      const fromIsc = msgs.filter((w) => w.from === ISC_IP).map((w) => w.m);
      const fromUs = msgs.filter((w) => w.from === OUR_IP).map((w) => w.m);
      console.log(
        `hadhcp as ${ours}: ISC sent ${JSON.stringify(tally(msgs, ISC_IP))}, we sent ${JSON.stringify(tally(msgs, OUR_IP))}`,
      );
      // The handshake: the primary's CONNECT, the secondary's CONNECTACK without reject.
      const [primarySent, secondarySent] = ours === 'primary' ? [fromUs, fromIsc] : [fromIsc, fromUs];
      expect(primarySent.filter((m) => m.type === MessageType.CONNECT)).toHaveLength(1);
      const connectAcks = secondarySent.filter((m) => m.type === MessageType.CONNECTACK);
      expect(connectAcks).toHaveLength(1);
      expect(connectAcks[0]!.rejectReason).toBeUndefined();
      // Every BNDUPD answered by a BNDACK with its xid and address, no reject; nobody said DISCONNECT.
      const updates = fromIsc.filter((m) => m.type === MessageType.BNDUPD);
      const acks = new Map(fromUs.filter((m) => m.type === MessageType.BNDACK).map((m) => [m.xid, m]));
      expect(updates.length).toBe(ours === 'secondary' ? 60 : 40);
      for (const u of updates) {
        const a = acks.get(u.xid);
        expect(a?.assignedIp, `BNDACK for xid ${u.xid}`).toBe(u.assignedIp);
        expect(a?.rejectReason, `BNDACK for xid ${u.xid}`).toBeUndefined();
      }
      expect(acks.size).toBe(updates.length);
      expect(msgs.filter((w) => w.m.type === MessageType.DISCONNECT)).toEqual([]);
      // Ours the other way: as primary, the 20 BACKUP leases of our pool balance, each BNDACKed without reject.
      const ourUpdates = fromUs.filter((m) => m.type === MessageType.BNDUPD);
      const theirAcks = new Map(fromIsc.filter((m) => m.type === MessageType.BNDACK).map((m) => [m.xid, m]));
      if (ours === 'primary') {
        expect(ourUpdates.filter((m) => m.bindingStatus === BindingStatus.BACKUP)).toHaveLength(20);
        for (const u of ourUpdates) {
          expect(theirAcks.get(u.xid)?.assignedIp, `ISC's BNDACK for xid ${u.xid}`).toBe(u.assignedIp);
          expect(theirAcks.get(u.xid)?.rejectReason, `ISC's BNDACK for xid ${u.xid}`).toBeUndefined();
        }
      } else {
        // As secondary we hold only what ISC gave us: nothing of ours to tell it.
        expect(ourUpdates).toEqual([]);
      }
      // ISC refused nothing and dropped nothing on the way (its words for a refused BNDACK, CONNECT or message).
      const iscComplaints = isc.proc
        .output()
        .split('\n')
        .filter((x) => /rejected|reject reason|Failover DISCONNECT|FAILOVER: |protocol error/.test(x));
      expect(iscComplaints).toEqual([]);
      expectNoOwnErrors(node);
    });
  }
});

function expectNoOwnErrors(node: LabProcess): void {
  const bad = nodeLines(node).filter((x) => x.type === 'log' && (x.level === 'error' || x.level === 'warn'));
  expect(bad.map((x) => x.msg)).toEqual([]);
  const status = nodeLines(node)
    .filter((x) => x.type === 'status')
    .at(-1)?.status as { counters: Record<string, number> } | undefined;
  const counters = Object.keys(status?.counters ?? {});
  expect(counters.filter((k) => /^(malformed|protocol|refused|internal|bndupd\.rejected)/.test(k))).toEqual(
    [],
  );
}
