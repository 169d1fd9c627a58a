// Issue 8, directly attached segments: the two routers and their clients on one segment, no relay (the segment that
// carries the VIP, the clients' default router). Each router is one hadhcp with a keepalived.conf and a dhcpd.conf
// with a failover peer block (rta primary priority 150, rtb secondary priority 100, split 128, auto-partner-down 2)
// and a failover pool on that segment. Both routers hear every broadcast, so there the failover load-balancing hash
// decides, as ISC does: the VIP holder answers every client only for traffic relayed to the VIP. Checked with real
// clients of both hash halves (dhclient keys on its MAC, udhcpc and dhcpcd on their client identifier 01+MAC):
// each is acknowledged by the router owning its hash alone (the DHCPACKs each router put on the wire, captured on
// its own port), the other logs "load balance to peer"; the leases are in both stores. With the failover link cut
// alone (communications-interrupted, VRRP alive: no partner-down), both answer new clients, each from the addresses
// it owns (rtb its BACKUP ones). After the heal, rta's daemon is killed:
// rtb takes the VIP, goes partner-down on its own (no failover link and no advert for Master_Down_Interval, then
// the safety delay), and answers every client, each keeping its address.
//
//   rta 10.0.0.2 --+
//                  +-- lan0 --+-- cli1..cli6 (dhclient, udhcpc, dhcpcd; one of each per hash half), cli7, cli8 (udhcpc)
//   rtb 10.0.0.3 --+   (VIP 10.0.0.10 on the master)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  requireRoot,
  runClient,
  startCapture,
  stopCapture,
  useLab,
  type ClientKind,
  type ClientSpot,
  type LabProcess,
} from './lib/index.js';
import { logMessages, stats, stopHadhcp, tshark, until, type Hadhcp } from './lib/dhcp-helpers.js';
import { activeLeases, allRecords, balancedTo, DIRECT_POOL, macOn, pairConf } from './lib/failover-pair.js';
import {
  bothUntil,
  CUT_647,
  directPairTopology,
  doubleBound,
  holdsVip,
  macOf,
  nftCut,
  nftHeal,
  PAIR_VIP as VIP,
  startPairNode,
  type NodeStatus,
} from './lib/pair-lab.js';

const skip = requireRoot({ commands: ['dhclient', 'udhcpc', 'dhcpcd', 'tcpdump', 'tshark', 'nft'] });

const NAME = 'lab-direct';
const A = '10.0.0.2';
const B = '10.0.0.3';
const common = { name: NAME, maxResponseDelay: 5, maxUnackedUpdates: 100, directPool: true };
/** auto-partner-down 2: with VRRP beside failover, 2 s after both signals (link and adverts) say rta is gone. */
const CONF_A = pairConf({
  ...common,
  role: 'primary',
  address: A,
  peerAddress: B,
  mclt: 30,
  split: 128,
  peerExtra: ['auto-partner-down 2;'],
});
const CONF_B = pairConf({
  ...common,
  role: 'secondary',
  address: B,
  peerAddress: A,
  peerExtra: ['auto-partner-down 2;'],
});

type Side = 'primary' | 'secondary';
interface Client {
  spot: ClientSpot;
  kind: ClientKind;
  owner: Side;
}
/** One client of each kind per hash half. dhclient sends no client identifier: its key is the MAC. */
const KINDS: ClientKind[] = ['dhclient', 'udhcpc', 'dhcpcd'];
const taken = new Set<string>();
const PLAN = KINDS.flatMap((kind) =>
  (['primary', 'secondary'] as Side[]).map((owner) => ({
    kind,
    owner,
    mac: macOn(owner, kind !== 'dhclient', taken),
  })),
);
/** New clients while the failover link is cut, one per hash half. */
const CUT_PLAN = (['primary', 'secondary'] as Side[]).map((owner) => ({
  kind: 'udhcpc' as ClientKind,
  owner,
  mac: macOn(owner, true, taken, 3),
}));

const lastOctet = (ip: string): number => Number(ip.split('.')[3]);
const inPool = (ip: string): boolean =>
  ip.startsWith('10.0.0.') &&
  lastOctet(ip) >= lastOctet(DIRECT_POOL[0]) &&
  lastOctet(ip) <= lastOctet(DIRECT_POOL[1]);
const re = (s: string): string => s.replace(/[.:]/g, (c) => `\\${c}`);
const normal = (s: NodeStatus | undefined): boolean =>
  s !== undefined &&
  s.failover.state === 'normal' &&
  s.failover.partnerState === 'normal' &&
  s.failover.connected &&
  s.failover.updates.queued === 0 &&
  s.failover.updates.unacked === 0;

describe.skipIf(skip)(
  'pair-direct: two hadhcp routers (VRRP + failover) and their clients on one segment, no relay',
  () => {
    const lab = useLab();
    let clients: Client[] = [];
    let cutClients: Client[] = [];
    let a: Hadhcp;
    let b: Hadhcp;
    const running: LabProcess[] = [];
    const macs = { a: '', b: '' };

    beforeAll(async () => {
      // Each MAC really is on the side planned (the hash of the key the client sends).
      for (const p of [...PLAN, ...CUT_PLAN]) expect(balancedTo(p.mac, p.kind !== 'dhclient')).toBe(p.owner);
      const spots = await directPairTopology(
        lab(),
        [...PLAN, ...CUT_PLAN].map((p) => p.mac),
      );
      clients = PLAN.map((p, i) => ({ spot: spots[i]!, kind: p.kind, owner: p.owner }));
      cutClients = CUT_PLAN.map((p, i) => ({ spot: spots[PLAN.length + i]!, kind: p.kind, owner: p.owner }));
      macs.a = await macOf(lab(), 'rta');
      macs.b = await macOf(lab(), 'rtb');
    });

    afterAll(async () => {
      for (const p of running.splice(0)) await p.stop(2000);
      for (const d of [a, b]) if (d?.proc.running) await stopHadhcp(d, 'SIGKILL');
    });

    /** Runs every client once (the kinds in turn, both halves together); returns its address by MAC. */
    async function bindAll(who: Client[] = clients): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      for (const kind of KINDS) {
        const these = who.filter((c) => c.kind === kind);
        const leases = await Promise.all(
          these.map((c) => runClient(kind, lab(), c.spot.ns, c.spot.ifName, { timeoutMs: 40_000 })),
        );
        for (const [i, l] of leases.entries()) {
          running.push(l.proc);
          out.set(these[i]!.spot.mac, l.address);
        }
      }
      // dhclient stays running to renew: stop every client before the next phase (SIGTERM: no release).
      for (const p of running.splice(0)) await p.stop(3000);
      for (const c of who) await lab().exec(c.spot.ns, 'ip', ['-4', 'addr', 'flush', 'dev', 'eth0']);
      return out;
    }

    /** The DHCPACKs a router put on the wire (captured on its own port, sent from its MAC): chaddr, yiaddr, sid. */
    async function acksFrom(
      pcap: string,
      mac: string,
    ): Promise<{ chaddr: string; ip: string; sid: string }[]> {
      const rows = await tshark(lab(), pcap, `dhcp.option.dhcp == 5 && eth.src == ${mac}`, [
        'dhcp.hw.mac_addr',
        'dhcp.ip.your',
        'dhcp.option.dhcp_server_id',
      ]);
      return rows.map((r) => ({ chaddr: r[0]!.toLowerCase(), ip: r[1]!, sid: r[2]! }));
    }

    it('each client is answered by the router owning its hash; cut, both answer from their own addresses; after rta dies rtb answers all', async () => {
      lab().step('start the pair: rta primary priority 150, rtb secondary priority 100, empty state');
      [a, b] = await Promise.all([
        startPairNode(lab(), 'rta', { dhcpd: CONF_A, priority: 150, name: 'direct-a', fresh: true }),
        startPairNode(lab(), 'rtb', { dhcpd: CONF_B, priority: 100, name: 'direct-b', fresh: true }),
      ]);
      await bothUntil(
        a,
        b,
        'rta VRRP master with the VIP, rtb backup, failover normal and settled on both',
        (sa, sb) => sa?.vrrp.state === 'MASTER' && sb?.vrrp.state === 'BACKUP' && normal(sa) && normal(sb),
        60_000,
      );
      expect(await holdsVip(lab(), 'rta')).toBe(true);

      lab().step('phase 1: every client binds while both are normal; each router captures its own port');
      const pcap1 = { a: lab().file('direct-rta-1.pcap'), b: lab().file('direct-rtb-1.pcap') };
      const caps = [
        await startCapture(lab(), 'rta', 'eth0', pcap1.a, ['udp', 'port', '67', 'or', 'udp', 'port', '68']),
        await startCapture(lab(), 'rtb', 'eth0', pcap1.b, ['udp', 'port', '67', 'or', 'udp', 'port', '68']),
      ];
      const bound = await bindAll();
      for (const c of caps) await stopCapture(c);
      const acks = { a: await acksFrom(pcap1.a, macs.a), b: await acksFrom(pcap1.b, macs.b) };

      for (const c of clients) {
        const mac = c.spot.mac;
        const ip = bound.get(mac)!;
        const [owner, other] = c.owner === 'primary' ? [acks.a, acks.b] : [acks.b, acks.a];
        const [ownerH, otherH] = c.owner === 'primary' ? [a, b] : [b, a];
        const what = `${c.kind} ${mac} (${c.owner}'s hash) bound ${ip}`;
        expect(inPool(ip), what).toBe(true);
        // Acknowledged by its owner, never by the other router.
        expect(
          owner.filter((x) => x.chaddr === mac).map((x) => x.ip),
          `${what}: DHCPACKs from ${ownerH.ns}`,
        ).toContain(ip);
        expect(
          other.filter((x) => x.chaddr === mac),
          `${what}: DHCPACKs from ${otherH.ns}`,
        ).toEqual([]);
        // The server identifier names the owner: its own address (or the VIP, which rta holds now).
        const ids = c.owner === 'primary' ? [A, VIP] : [B];
        for (const x of owner.filter((y) => y.chaddr === mac))
          expect(ids, `${what}: server identifier of ${ownerH.ns}'s DHCPACK`).toContain(x.sid);
        // Each daemon's own account: the owner acknowledged it, the other left its DISCOVER to the peer.
        expect(
          logMessages(ownerH).some((m) => new RegExp(`^DHCPACK on ${re(ip)} to ${mac}`).test(m)),
          `${what}: ${ownerH.ns} logged its DHCPACK`,
        ).toBe(true);
        expect(
          logMessages(otherH).some((m) =>
            new RegExp(`^DHCPDISCOVER from ${mac} .*load balance to peer ${NAME}`).test(m),
          ),
          `${what}: ${otherH.ns} logged its DISCOVER as the peer's`,
        ).toBe(true);
        expect(
          logMessages(otherH).some((m) => new RegExp(`^DHCPACK on \\S+ to ${mac}`).test(m)),
          `${what}: ${otherH.ns} acknowledged nothing to it`,
        ).toBe(false);
      }
      // Both halves occurred, and each router counted the other's DISCOVERs as load balanced away.
      expect(acks.a.length).toBeGreaterThan(0);
      expect(acks.b.length).toBeGreaterThan(0);
      for (const h of [a, b]) {
        const counted = Object.entries(await stats(h)).filter(([k]) => k.includes('load-balanced-to-peer'));
        expect(
          counted.reduce((n, [, v]) => n + v, 0),
          `${h.ns} counters ${JSON.stringify(counted)}`,
        ).toBeGreaterThanOrEqual(3);
      }

      lab().step('every lease is in both stores');
      const want = [...bound].map(([mac, ip]) => `${ip} ${mac}`).sort();
      for (const h of [a, b])
        await until(
          `${h.ns} holding every client's lease`,
          async () => {
            const have = await activeLeases(h);
            return want.every((l) => {
              const [ip, mac] = l.split(' ');
              return have.get(ip!) === mac;
            })
              ? true
              : undefined;
          },
          10_000,
        ).catch(async (e: Error) => {
          throw new Error(
            `${e.message}\nwant ${want.join(', ')}\nhave ${[...(await activeLeases(h))].join(', ')}`,
          );
        });

      lab().step(
        'failover link cut alone (TCP 647 at rta): both communications-interrupted, rta keeps the VIP',
      );
      // Who owns what, as each router saw it in normal: rtb may make new bindings only on its BACKUP addresses.
      const owned = async (h: Hadhcp): Promise<Map<string, string>> =>
        new Map((await allRecords(h)).map((l) => [l['ip-address'], l['binding-state']]));
      const before = { a: await owned(a), b: await owned(b) };
      await nftCut(lab(), 'rta', 'direct-cut647.nft', CUT_647);
      await bothUntil(
        a,
        b,
        'both in communications-interrupted, rta still VRRP master',
        (sa, sb) =>
          sa?.failover.state === 'communications-interrupted' &&
          sb?.failover.state === 'communications-interrupted' &&
          sa.vrrp.state === 'MASTER' &&
          sb.vrrp.state === 'BACKUP',
        30_000,
      );
      const pcapCut = { a: lab().file('direct-rta-cut.pcap'), b: lab().file('direct-rtb-cut.pcap') };
      const capsCut = [
        await startCapture(lab(), 'rta', 'eth0', pcapCut.a, ['udp', 'port', '67', 'or', 'udp', 'port', '68']),
        await startCapture(lab(), 'rtb', 'eth0', pcapCut.b, ['udp', 'port', '67', 'or', 'udp', 'port', '68']),
      ];
      const boundCut = await bindAll(cutClients);
      for (const c of capsCut) await stopCapture(c);
      const acksCut = { a: await acksFrom(pcapCut.a, macs.a), b: await acksFrom(pcapCut.b, macs.b) };
      for (const c of cutClients) {
        const ip = boundCut.get(c.spot.mac)!;
        const mine = [
          ...acksCut.a.filter((x) => x.chaddr === c.spot.mac && x.ip === ip).map(() => 'rta'),
          ...acksCut.b.filter((x) => x.chaddr === c.spot.mac && x.ip === ip).map(() => 'rtb'),
        ];
        const what = `${c.kind} ${c.spot.mac} (${c.owner}'s hash) bound ${ip} while cut`;
        expect(inPool(ip), what).toBe(true);
        expect(mine.length, `${what}: DHCPACKs from rta or rtb`).toBeGreaterThan(0);
        // Each acknowledges only addresses it owns: the secondary its BACKUP ones, the primary the others.
        if (mine.includes('rtb'))
          expect(before.b.get(ip), `${what}: rtb's state of it before`).toBe('backup');
        if (mine.includes('rta'))
          expect(before.a.get(ip), `${what}: rta's state of it before`).not.toBe('backup');
      }
      expect(doubleBound([...acksCut.a, ...acksCut.b].map((x) => [x.ip, x.chaddr]))).toEqual([]);
      // No load balancing while cut: each router offered to every new client, whatever its hash.
      for (const [name, pcap, mac] of [
        ['rta', pcapCut.a, macs.a],
        ['rtb', pcapCut.b, macs.b],
      ] as const) {
        const offered = await tshark(lab(), pcap, `dhcp.option.dhcp == 2 && eth.src == ${mac}`, [
          'dhcp.hw.mac_addr',
        ]);
        for (const c of cutClients)
          expect(
            offered.some((r) => r[0]!.toLowerCase() === c.spot.mac),
            `${name} offered to ${c.spot.mac} (${c.owner}'s hash) while cut`,
          ).toBe(true);
      }
      const cutStatus = await bothUntil(a, b, 'both answering', (sa, sb) => !!sa && !!sb, 5_000);
      expect(cutStatus.b?.failover.state, 'no partner-down while rta advertises').toBe(
        'communications-interrupted',
      );
      await nftHeal(lab(), 'rta');
      await bothUntil(
        a,
        b,
        'failover normal again after the heal',
        (sa, sb) => normal(sa) && normal(sb),
        60_000,
      );

      lab().step('kill -9 of rta: rtb takes the VIP and goes partner-down by itself');
      await stopHadhcp(a, 'SIGKILL');
      const down = await bothUntil(
        a,
        b,
        'rtb holding the VIP, in partner-down and serving',
        (_, sb) => sb?.vrrp.state === 'MASTER' && sb.failover.state === 'partner-down' && sb.dhcp.serving,
        30_000,
      );
      expect(down.a).toBeUndefined();
      expect(await holdsVip(lab(), 'rtb')).toBe(true);
      expect(logMessages(b).some((m) => /moving to partner-down/.test(m))).toBe(true);

      lab().step('phase 2: every client again, both halves: rtb alone answers, each keeps its address');
      const pcap2 = lab().file('direct-rtb-2.pcap');
      const cap = await startCapture(lab(), 'rtb', 'eth0', pcap2, [
        'udp',
        'port',
        '67',
        'or',
        'udp',
        'port',
        '68',
      ]);
      const again = await bindAll();
      await stopCapture(cap);
      const acks2 = await acksFrom(pcap2, macs.b);
      for (const c of clients) {
        const mac = c.spot.mac;
        const what = `${c.kind} ${mac} (${c.owner}'s hash)`;
        expect(again.get(mac), `${what}: address after rta's death`).toBe(bound.get(mac));
        expect(
          acks2.filter((x) => x.chaddr === mac).map((x) => x.ip),
          `${what}: DHCPACK from rtb`,
        ).toContain(again.get(mac));
      }
    }, 240_000);
  },
);
