// Issue 8, the mission topology end to end: two routers, each one hadhcp with a keepalived.conf (one vrrp_instance,
// the VIP 10.0.0.10 on the server-side segment, advert_int 1, priorities 150/100) AND a dhcpd.conf with a failover
// peer block (rta primary, rtb secondary; max-response-delay 5, mclt 30, split 128), behind a relay whose helper
// address is the VIP. Each test starts a fresh pair and checks one promise: the VIP holder serves with the VIP as
// server identifier and the lease is on both nodes at once; the VIP moves after Skew_Time when a daemon dies (the
// death notice), after Master_Down_Interval when the host dies, after a priority-0 advert on a graceful stop; cutting
// the failover link, VRRP, or both never makes a partner-down nor binds an address twice; a node that lost its
// store resynchronises before it could take the VIP.
//
//   rta 10.0.0.2 --+                                         +-- cli1..cli8 (udhcpc)
//                  +-- lan0 -- relay 10.0.0.1 | 10.1.0.1 -- lan1
//   rtb 10.0.0.3 --+  (VIP     dhcrelay -> 10.0.0.10         +-- load 10.2.0.1/16 (perfdhcp, giaddr set, broadcast)
//                     10.0.0.10 on the master)
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  relayTopology,
  requireRoot,
  runClient,
  startCapture,
  stopCapture,
  useLab,
  type ClientSpot,
  type Lab,
  type LabProcess,
  type RelayTopology,
} from './lib/index.js';
import {
  leaseByIp,
  logMessages,
  sleep,
  stopHadhcp,
  until,
  waitForLog,
  type Hadhcp,
} from './lib/dhcp-helpers.js';
import { addLoadSide, DHCP_FILTER, perfAcks, spawnPerfLoad } from './lib/load-side.js';
import { activeLeases, allRecords, leaseLines, pairConf, wipeState } from './lib/failover-pair.js';
import {
  acksIn,
  CUT_647,
  CUT_VRRP_IN,
  doubleBound,
  holdsVip,
  macOf,
  nftCut,
  nftHeal,
  nodeStatus,
  PAIR_VIP as VIP,
  renew,
  startPairNode,
  startRenewingUdhcpc,
  statusLine,
  watchVip,
  type NodeStatus,
} from './lib/pair-lab.js';

const skip = requireRoot({ commands: ['dhcrelay', 'udhcpc', 'perfdhcp', 'tcpdump', 'tshark', 'nft'] });

const NAME = 'lab-pair';
const A = '10.0.0.2';
const B = '10.0.0.3';
const MRD = 5;
const MCLT = 30;
const CONF_A = pairConf({
  name: NAME,
  role: 'primary',
  address: A,
  peerAddress: B,
  maxResponseDelay: MRD,
  maxUnackedUpdates: 100,
  mclt: MCLT,
  split: 128,
});
const CONF_B = pairConf({
  name: NAME,
  role: 'secondary',
  address: B,
  peerAddress: A,
  maxResponseDelay: MRD,
  maxUnackedUpdates: 100,
});
/** RFC 3768 6.1: Skew_Time = (256 - Priority) / 256 s, for rtb (priority 100). */
const SKEW_MS = ((256 - 100) / 256) * 1000;
/** Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time. */
const MASTER_DOWN_MS = 3000 + SKEW_MS;
/**
 * The bound asserted for a death notice or a priority-0 advert (Skew_Time, 609 ms, is the target; issue 8 aims at
 * +50 ms): what a busy two-core CI machine meets reliably, and far below keepalived's ~3.6 s Master_Down_Interval.
 */
const QUICK_TAKEOVER_MS = 1500;
const NOT_CAUGHT_UP = new Set(['startup', 'recover', 'recover-wait', 'recover-done']);

interface Pair {
  a: Hadhcp;
  b: Hadhcp;
  names: { a: string; b: string };
}

/** One look at both routers: their status and who has the VIP on eth0. */
interface Sample {
  at: number;
  a?: NodeStatus;
  b?: NodeStatus;
  vipA: boolean;
  vipB: boolean;
}

const re = (s: string): string => s.replace(/\./g, '\\.');

/** The bound udhcpc on `rc` renews (SIGUSR1) after the takeover: rtb answers the RENEWING request, same address. */
async function renewsOnB(
  l: Lab,
  p: Pair,
  rc: ClientSpot,
  client: Awaited<ReturnType<typeof startRenewingUdhcpc>>,
): Promise<void> {
  l.step(`${rc.ns} renews (SIGUSR1)`);
  const r = await renew(client);
  console.log(`renewal: ${r.address} from ${r.server}; udhcpc: ${r.said.join(' | ')}`);
  console.log(`rtb failover: ${statusLine(await nodeStatus(p.b))}`);
  expect(r.said.join('\n'), 'a RENEWING request answered, no rebinding').not.toMatch(/rebinding/);
  expect(r.address, 'the renewing client keeps its address').toBe(client.address);
  expect(r.server).toBe(VIP);
  await waitForLog(p.b, new RegExp(`^DHCPACK on ${re(client.address)} to ${rc.mac}`), 5_000);
}

describe.skipIf(skip)(
  'pair: two routers, each hadhcp with VRRP + DHCP + failover, behind a relay to the VIP',
  () => {
    const lab = useLab();
    let topo: RelayTopology<unknown>;
    const daemons: Hadhcp[] = [];
    const running: LabProcess[] = [];
    const stoppers: (() => Promise<unknown>)[] = [];
    let n = 0;

    beforeAll(async () => {
      topo = await relayTopology(lab(), {
        routers: ['rta', 'rtb'],
        relayTo: [VIP],
        clients: 8,
      });
      // Renewals (unicast to the VIP) and the replies to perfdhcp's giaddr cross the relay, as a router's would.
      await addLoadSide(lab(), topo);
    });

    afterEach(async () => {
      for (const s of stoppers.splice(0)) await s().catch(() => undefined);
      for (const p of running.splice(0)) await p.stop(2000);
      for (const d of daemons.splice(0)) if (d.proc.running) await stopHadhcp(d, 'SIGKILL');
      await lab().exec('relay', 'ip', ['neigh', 'del', VIP, 'dev', 'eth0']);
      for (const r of topo.routers) {
        await nftHeal(lab(), r.ns);
        await lab().exec(r.ns, 'ip', ['link', 'set', 'eth0', 'up']);
        // kill -9 leaves the VIP on the interface; a link taken down took the routes with it.
        await lab().exec(r.ns, 'ip', ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
        await lab().exec(r.ns, 'ip', ['route', 'replace', '10.1.0.0/24', 'via', '10.0.0.1']);
        await lab().exec(r.ns, 'ip', ['route', 'replace', '10.2.0.0/16', 'via', '10.0.0.1']);
      }
      for (const c of topo.clients) {
        await lab().exec(c.ns, 'ip', ['-4', 'addr', 'flush', 'dev', c.ifName]);
        await lab().exec(c.ns, 'ip', ['route', 'flush', 'default']);
      }
      for (const ns of ['relay', 'rta', 'rtb', 'load']) await lab().exec(ns, 'ip', ['neigh', 'flush', 'all']);
    });

    /** Both nodes from empty state folders, started together; ready once rta holds the VIP and both are normal. */
    async function startPair(): Promise<Pair> {
      const names = { a: `pair${++n}-a`, b: `pair${n}-b` };
      lab().step('start the pair: rta primary priority 150, rtb secondary priority 100, empty state');
      const [a, b] = await Promise.all([
        startPairNode(lab(), 'rta', { dhcpd: CONF_A, priority: 150, name: names.a, fresh: true }),
        startPairNode(lab(), 'rtb', { dhcpd: CONF_B, priority: 100, name: names.b, fresh: true }),
      ]);
      daemons.push(a, b);
      const p = { a, b, names };
      lab().step(
        'wait: rta MASTER with the VIP and serving, rtb BACKUP, failover normal and settled on both',
      );
      await pairUntil(
        p,
        'rta holding the VIP and serving, rtb backup, both failover normal with nothing outstanding',
        (s) =>
          s.vipA &&
          !s.vipB &&
          s.a!.vrrp.state === 'MASTER' &&
          s.a!.dhcp.serving &&
          s.a!.dhcp.serverId === VIP &&
          s.b!.vrrp.state === 'BACKUP' &&
          settled(s.a!) &&
          settled(s.b!),
        60_000,
      );
      return p;
    }

    const normal = (s: NodeStatus): boolean =>
      s.failover.state === 'normal' && s.failover.partnerState === 'normal' && s.failover.connected;
    const settled = (s: NodeStatus): boolean =>
      normal(s) && s.failover.updates.queued === 0 && s.failover.updates.unacked === 0;

    async function sample(p: Pair): Promise<Sample> {
      const st = async (h: Hadhcp): Promise<NodeStatus | undefined> =>
        h.proc.running ? nodeStatus(h).catch(() => undefined) : undefined;
      const [a, b, vipA, vipB] = await Promise.all([
        st(p.a),
        st(p.b),
        holdsVip(lab(), 'rta'),
        holdsVip(lab(), 'rtb'),
      ]);
      return { at: Date.now(), a, b, vipA, vipB };
    }

    const describeSample = (s: Sample): string =>
      `  rta${s.vipA ? ' (VIP)' : ''}: ${statusLine(s.a)}\n  rtb${s.vipB ? ' (VIP)' : ''}: ${statusLine(s.b)}`;

    /** Polls both routers until `ok`; the timeout says what each said last. */
    async function pairUntil(
      p: Pair,
      what: string,
      ok: (s: Sample) => boolean,
      timeoutMs: number,
    ): Promise<Sample> {
      const t0 = Date.now();
      for (;;) {
        const s = await sample(p);
        if ((s.a !== undefined) === p.a.proc.running && (s.b !== undefined) === p.b.proc.running && ok(s))
          return s;
        if (Date.now() - t0 > timeoutMs)
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${describeSample(s)}`);
        await sleep(200);
      }
    }

    /** Samples both routers every ~250 ms in the background until stopped (also stopped by afterEach). */
    function sampler(p: Pair): { stop: () => Promise<Sample[]> } {
      const out: Sample[] = [];
      let on = true;
      const loop = (async () => {
        while (on) {
          out.push(await sample(p));
          await sleep(250);
        }
      })();
      const stop = async (): Promise<Sample[]> => {
        on = false;
        await loop;
        return out;
      };
      stoppers.push(stop);
      return { stop };
    }

    /** Samples where either node's failover was in partner-down. */
    const partnerDowns = (samples: readonly Sample[]): string[] =>
      samples
        .filter((s) => [s.a, s.b].some((x) => x?.failover.state === 'partner-down'))
        .map((s) => `+${s.at - samples[0]!.at} ms:\n${describeSample(s)}`);

    /** udhcpc (quits once bound) through the relay: the address and the server identifier it was given. */
    async function bind(c: ClientSpot): Promise<{ address: string; server: string; at: number }> {
      const l = await runClient('udhcpc', lab(), c.ns, c.ifName);
      const server = /obtained from (\d+\.\d+\.\d+\.\d+)/.exec(l.proc.output())?.[1] ?? '?';
      // When udhcpc printed the lease: the DHCPACK's arrival, give or take a pipe.
      const at = l.proc.recent(l.proc.lineCount).find((x) => /lease of \S+ obtained/.test(x.text))?.at;
      return { address: l.address, server, at: at ?? Date.now() };
    }

    /** The router's log has a DHCPACK of `ip` to `mac`. */
    const acked = (h: Hadhcp, ip: string, mac: string): boolean =>
      logMessages(h).some((m) => new RegExp(`^DHCPACK on ${re(ip)} to ${mac}`).test(m));

    /** The relay sends to the VIP at the MAC of `ns` only (both routers hold the VIP in a split brain). */
    async function pinVip(ns: string | undefined): Promise<void> {
      if (ns === undefined) {
        await lab().exec('relay', 'ip', ['neigh', 'del', VIP, 'dev', 'eth0']);
        return;
      }
      const mac = await macOf(lab(), ns);
      await lab().must('relay', 'ip', [
        'neigh',
        'replace',
        VIP,
        'lladdr',
        mac,
        'dev',
        'eth0',
        'nud',
        'permanent',
      ]);
    }

    /** ACTIVE for two different clients across the two nodes, and the lease sets side by side. */
    async function compareLeases(p: Pair): Promise<{ conflicts: string[]; a: string[]; b: string[] }> {
      const [la, lb] = [await activeLeases(p.a, 3), await activeLeases(p.b, 3)];
      const conflicts = [...la]
        .filter(([ip, mac]) => lb.has(ip) && lb.get(ip) !== mac)
        .map(([ip, mac]) => `${ip}: ${mac} on rta, ${lb.get(ip)} on rtb`);
      return { conflicts, a: leaseLines(la), b: leaseLines(lb) };
    }

    it('a new client is served through the VIP by its holder, with the VIP as server identifier; the lease is on both nodes within a second', async () => {
      const p = await startPair();
      const c = topo.clients[0]!;
      lab().step(`${c.ns} (${c.mac}) binds through the relay`);
      const got = await bind(c);
      expect(got.server, 'server identifier the client was given').toBe(VIP);
      await waitForLog(p.a, new RegExp(`^DHCPACK on ${re(got.address)} to ${c.mac}`), 5_000);
      expect(
        logMessages(p.b).filter((m) => /^DHCP(OFFER|ACK|NAK) /.test(m)),
        'rtb (backup) answered a relayed client',
      ).toEqual([]);
      expect((await leaseByIp(p.a, got.address))?.['hw-address']).toBe(c.mac);
      lab().step(`${got.address} on rtb`);
      const seen = await until(
        `${got.address} active for ${c.mac} on rtb`,
        async () => {
          const l = await leaseByIp(p.b, got.address);
          return l?.['binding-state'] === 'active' && l['hw-address'] === c.mac ? Date.now() : undefined;
        },
        5_000,
      );
      console.log(`lease ${got.address} on rtb ${Math.max(0, seen - got.at)} ms after udhcpc bound`);
      expect(seen - got.at, 'ms from the bind to the lease on rtb').toBeLessThan(1_000);
    });

    it('kill -9 of the master under perfdhcp load: the VIP moves within Skew_Time (death notice), no DHCPACK lost, a renewing client keeps its address', async () => {
      const p = await startPair();
      const rc = topo.clients[1]!;
      lab().step(`${rc.ns}: udhcpc that stays bound (renews on SIGUSR1)`);
      const client = await startRenewingUdhcpc(lab(), rc.ns);
      running.push(client.proc);
      expect(client.leases()[0]?.server).toBe(VIP);
      await waitForLog(p.a, new RegExp(`^DHCPACK on ${re(client.address)} to ${rc.mac}`), 5_000);

      const pcap = lab().file('clients-side.pcap');
      const cap = await startCapture(lab(), 'relay', 'eth1', pcap, DHCP_FILTER);
      running.push(cap);
      lab().step('perfdhcp: 150 new clients/s for 6 s through the relay (giaddr 10.2.0.1)');
      const perf = spawnPerfLoad(lab(), { rate: 150, seconds: 6, clients: 100_000 });
      running.push(perf);
      const ackedBy = perfAcks;
      await until(
        '100 perfdhcp leases acknowledged by rta',
        async () => (ackedBy(p.a) >= 100 ? true : undefined),
        20_000,
      );

      const watch = watchVip(lab(), 'rtb');
      running.push(watch.proc);
      await sleep(100); // the watcher's shell is looping
      lab().step('kill -9 rta daemon (its host lives: the kernel closes the failover connection)');
      const killAt = Date.now();
      p.a.proc.kill('SIGKILL');
      const vipAt = await watch.at(10_000);
      const took = vipAt - killAt;
      console.log(
        `kill -9 -> VIP on rtb: ${took} ms (Skew_Time ${SKEW_MS.toFixed(0)} ms, target +50 ms; ` +
          `Master_Down_Interval ${MASTER_DOWN_MS.toFixed(0)} ms)`,
      );
      const notice = logMessages(p.b).find((m) => /closed the link without a word/.test(m));
      console.log(`rtb death notice: ${notice ?? '(none logged)'}`);
      expect(took, 'ms from kill -9 to the VIP on rtb').toBeLessThan(QUICK_TAKEOVER_MS);
      expect.soft(notice, 'rtb logged the death notice').toBeDefined();
      const fromA = ackedBy(p.a);
      const bAtKill = ackedBy(p.b);
      await perf.exit;
      await stopCapture(cap);

      lab().step('audit the DHCPACKs on the clients side against rtb');
      const acks = await acksIn(lab(), pcap);
      console.log(
        `${acks.length} DHCPACKs on the clients side; rta logged ${fromA} perfdhcp ACKs, rtb ${bAtKill} before the kill ` +
          `and ${ackedBy(p.b)} in all`,
      );
      expect(acks.length).toBeGreaterThanOrEqual(100);
      expect(ackedBy(p.b), 'rtb served perfdhcp after the takeover').toBeGreaterThan(bAtKill);
      expect(doubleBound(acks), 'addresses acknowledged to two clients').toEqual([]);
      const survivor = await activeLeases(p.b);
      const owner = new Map(acks);
      const missing = [...owner]
        .filter(([ip, mac]) => survivor.get(ip) !== mac)
        .map(([ip, mac]) => `${ip} ${mac} (rtb: ${survivor.get(ip) ?? 'not active'})`);
      expect(missing, `${missing.length} of ${owner.size} acknowledged leases not ACTIVE on rtb`).toEqual([]);

      await renewsOnB(lab(), p, rc, client);
    });

    it('host death (link down, then kill -9): rtb takes the VIP after Master_Down_Interval, 3 s to 5 s', async () => {
      const p = await startPair();
      // Timed from an advert of rta heard on rtb's side: Master_Down_Timer restarts at each one.
      // (-tt: the capture's timestamp of the advert, whatever the pipe to this process adds.)
      const dump = lab().spawn('rtb', 'tcpdump', [
        '-l',
        '-tt',
        '-n',
        '-i',
        'eth0',
        '--immediate-mode',
        'ip',
        'proto',
        '112',
      ]);
      running.push(dump);
      await dump.waitForLine(/listening on/, 10_000);
      const adverts = (): string[] =>
        dump
          .output()
          .split('\n')
          .filter((l) => l.includes(` ${A} > `));
      const seen = adverts().length;
      const advert = await until('an advert of rta seen on rtb', async () => adverts()[seen], 5_000);
      const advertAt = Math.round(Number(advert.split(' ')[0]) * 1000);
      expect(Number.isFinite(advertAt), advert).toBe(true);
      const watch = watchVip(lab(), 'rtb');
      running.push(watch.proc);
      lab().step("host death: rta's eth0 down, then kill -9 of its daemon");
      await lab().down('rta', 'eth0');
      const killAt = Date.now();
      p.a.proc.kill('SIGKILL');
      const vipAt = await watch.at(15_000);
      console.log(
        `host death -> VIP on rtb: ${vipAt - advertAt} ms after rta's last advert, ${vipAt - killAt} ms after the kill ` +
          `(Master_Down_Interval ${MASTER_DOWN_MS.toFixed(0)} ms)`,
      );
      expect(vipAt - advertAt, "ms from rta's last advert to the VIP on rtb").toBeGreaterThanOrEqual(3_000);
      expect(vipAt - advertAt, "ms from rta's last advert to the VIP on rtb").toBeLessThanOrEqual(5_000);

      // No word from rta: rtb notices the silence after max-response-delay, then serves what it owns.
      lab().step('rtb communications-interrupted, then a new client');
      await pairUntil(
        p,
        'rtb communications-interrupted',
        (s) => s.b!.failover.state === 'communications-interrupted',
        MRD * 1000 + 10_000,
      );
      const c = topo.clients[2]!;
      const got = await bind(c);
      expect(got.server).toBe(VIP);
      await waitForLog(p.b, new RegExp(`^DHCPACK on ${re(got.address)} to ${c.mac}`), 5_000);
    });

    it('graceful stop (SIGTERM) of rta: rtb takes the VIP within ~1 s, goes partner-down, renewals keep their addresses', async () => {
      const p = await startPair();
      const rc = topo.clients[3]!;
      const client = await startRenewingUdhcpc(lab(), rc.ns);
      running.push(client.proc);
      await waitForLog(p.a, new RegExp(`^DHCPACK on ${re(client.address)} to ${rc.mac}`), 5_000);
      await pairUntil(p, 'the lease on rtb', (s) => settled(s.b!), 10_000);

      const watch = watchVip(lab(), 'rtb');
      running.push(watch.proc);
      await sleep(100);
      lab().step('SIGTERM rta');
      const termAt = Date.now();
      p.a.proc.kill('SIGTERM');
      const vipAt = await watch.at(10_000);
      console.log(
        `SIGTERM -> VIP on rtb: ${vipAt - termAt} ms (priority-0 advert: Skew_Time ${SKEW_MS.toFixed(0)} ms)`,
      );
      expect(vipAt - termAt, 'ms from SIGTERM to the VIP on rtb').toBeLessThan(QUICK_TAKEOVER_MS);
      expect((await p.a.proc.exit).code, 'rta exit code').toBe(0);

      lab().step('rtb partner-down (rta announced its shutdown)');
      const s = await pairUntil(
        p,
        'rtb in partner-down',
        (x) => x.b!.failover.state === 'partner-down',
        15_000,
      );
      expect(s.b!.vrrp.state).toBe('MASTER');
      expect(s.b!.dhcp.serving, statusLine(s.b)).toBe(true);
      expect(s.b!.dhcp.serverId).toBe(VIP);

      await renewsOnB(lab(), p, rc, client);
    });

    it('failover link cut alone (TCP 647): no VIP move, both communications-interrupted, no partner-down, the VIP holder serves; heal -> normal', async () => {
      const p = await startPair();
      const watch = sampler(p);
      lab().step('cut TCP 647 both ways inside rta');
      await nftCut(lab(), 'rta', 'cut-647.nft', CUT_647);
      await pairUntil(
        p,
        'both communications-interrupted',
        (s) =>
          s.a!.failover.state === 'communications-interrupted' &&
          s.b!.failover.state === 'communications-interrupted',
        MRD * 1000 + 10_000,
      );
      lab().step('a new client while the failover link is cut');
      const c = topo.clients[4]!;
      const got = await bind(c);
      expect(got.server).toBe(VIP);
      await waitForLog(p.a, new RegExp(`^DHCPACK on ${re(got.address)} to ${c.mac}`), 5_000);
      expect(acked(p.b, got.address, c.mac), 'rtb (backup) acknowledged a relayed client').toBe(false);
      await sleep(2_000);
      lab().step('heal: delete the rules');
      await nftHeal(lab(), 'rta');
      await pairUntil(
        p,
        'both normal again, nothing outstanding',
        (s) => settled(s.a!) && settled(s.b!),
        45_000,
      );
      const samples = await watch.stop();
      expect(partnerDowns(samples), 'samples with a partner-down').toEqual([]);
      const moved = samples.filter((s) => !s.vipA || s.vipB || s.b?.vrrp.state !== 'BACKUP');
      expect(moved.map(describeSample), 'samples where the VIP was not on rta alone').toEqual([]);
      const l = await compareLeases(p);
      expect(l.conflicts).toEqual([]);
      expect(l.b, 'rtb ACTIVE leases vs rta').toEqual(l.a);
    });

    it('VRRP cut alone (rtb hears no advert): both hold the VIP, failover stays normal, no partner-down; heal -> one master, no address bound twice', async () => {
      const p = await startPair();
      const watch = sampler(p);
      lab().step('drop VRRP (protocol 112) on input inside rtb');
      await nftCut(lab(), 'rtb', 'cut-vrrp.nft', CUT_VRRP_IN);
      const split = await pairUntil(
        p,
        'rtb MASTER too (split brain)',
        (s) => s.vipA && s.vipB && s.b!.vrrp.state === 'MASTER',
        MASTER_DOWN_MS + 10_000,
      );
      expect(normal(split.a!) && normal(split.b!), describeSample(split)).toBe(true);

      lab().step('a client through rta, another through rtb (relay ARP pinned to each)');
      const got: { c: ClientSpot; address: string; by: Hadhcp }[] = [];
      for (const [c, ns, by] of [
        [topo.clients[5]!, 'rta', p.a],
        [topo.clients[6]!, 'rtb', p.b],
      ] as const) {
        await pinVip(ns);
        const g = await bind(c);
        expect(g.server).toBe(VIP);
        await waitForLog(by, new RegExp(`^DHCPACK on ${re(g.address)} to ${c.mac}`), 5_000);
        got.push({ c, address: g.address, by });
      }
      await pinVip(undefined);
      expect(got[0]!.address).not.toBe(got[1]!.address);

      lab().step('heal: delete the rules');
      await nftHeal(lab(), 'rtb');
      await pairUntil(
        p,
        'one master (rta) again',
        (s) => s.vipA && !s.vipB && s.a!.vrrp.state === 'MASTER' && s.b!.vrrp.state === 'BACKUP',
        10_000,
      );
      await pairUntil(p, 'both settled', (s) => settled(s.a!) && settled(s.b!), 15_000);
      const samples = await watch.stop();
      expect(partnerDowns(samples), 'samples with a partner-down').toEqual([]);
      const notNormal = samples.filter((s) => !normal(s.a!) || !normal(s.b!));
      expect(notNormal.map(describeSample), 'samples where failover left normal').toEqual([]);
      const l = await compareLeases(p);
      expect(l.conflicts, 'addresses ACTIVE for two different clients').toEqual([]);
      expect(l.b, 'rtb ACTIVE leases vs rta').toEqual(l.a);
      for (const g of got) expect(l.a, `${g.c.ns}'s lease on both`).toContain(`${g.address} ${g.c.mac}`);
    });

    it('both cut (TCP 647 and VRRP): each side serves only what it owns, no partner-down; after the heal no address is ACTIVE for two clients and both agree', async () => {
      const p = await startPair();
      // Who owns what when the link goes: the secondary its BACKUP addresses, the primary the FREE ones.
      const secondaryOwns = new Set(
        (await allRecords(p.a)).filter((l) => l['binding-state'] === 'backup').map((l) => l['ip-address']),
      );
      expect(secondaryOwns.size).toBeGreaterThan(0);
      const watch = sampler(p);
      lab().step('cut TCP 647 and VRRP both ways inside rtb');
      await nftCut(lab(), 'rtb', 'cut-both.nft', {
        in: 'type filter hook input priority 0; policy accept; tcp dport 647 drop; tcp sport 647 drop; ip protocol 112 drop;',
        out: 'type filter hook output priority 0; policy accept; tcp dport 647 drop; tcp sport 647 drop; ip protocol 112 drop;',
      });
      await pairUntil(
        p,
        'both communications-interrupted, both holding the VIP',
        (s) =>
          s.vipA &&
          s.vipB &&
          s.a!.failover.state === 'communications-interrupted' &&
          s.b!.failover.state === 'communications-interrupted',
        MRD * 1000 + 15_000,
      );

      lab().step('two clients through rta, two through rtb (relay ARP pinned to each)');
      const during: { c: ClientSpot; address: string; ns: string; at: number }[] = [];
      for (const [cs, ns, by] of [
        [topo.clients.slice(4, 6), 'rta', p.a],
        [topo.clients.slice(6, 8), 'rtb', p.b],
      ] as const) {
        await pinVip(ns);
        for (const c of cs) {
          const g = await bind(c);
          expect(g.server).toBe(VIP);
          await waitForLog(by, new RegExp(`^DHCPACK on ${re(g.address)} to ${c.mac}`), 5_000);
          during.push({ c, address: g.address, ns, at: g.at });
        }
      }
      await pinVip(undefined);
      console.log(`during the cut: ${during.map((d) => `${d.c.ns} ${d.address} via ${d.ns}`).join(', ')}`);
      for (const d of during)
        expect(
          d.ns === 'rtb' ? secondaryOwns.has(d.address) : !secondaryOwns.has(d.address),
          `${d.c.ns} got ${d.address} from ${d.ns}, which does not own it`,
        ).toBe(true);
      expect(new Set(during.map((d) => d.address)).size, 'distinct addresses').toBe(during.length);

      lab().step('heal: delete the rules');
      await nftHeal(lab(), 'rtb');
      await pairUntil(
        p,
        'one master (rta), both normal, nothing outstanding',
        (s) => s.vipA && !s.vipB && s.b!.vrrp.state === 'BACKUP' && settled(s.a!) && settled(s.b!),
        60_000,
      );
      const samples = await watch.stop();
      expect(partnerDowns(samples), 'samples with a partner-down').toEqual([]);
      const l = await compareLeases(p);
      expect(l.conflicts, 'addresses ACTIVE for two different clients').toEqual([]);
      expect(l.b, 'rtb ACTIVE leases vs rta').toEqual(l.a);
      // (Unless expiring already: a lease given in communications-interrupted is MCLT long, 30 s.)
      for (const d of during)
        if (Date.now() - d.at < (MCLT - 5) * 1000)
          expect(l.a, `${d.c.ns}'s lease on both`).toContain(`${d.address} ${d.c.mac}`);
    });

    it('rtb restarted with an empty store resynchronises before it could take the VIP: not serving, priority lowered, until failover is normal', async () => {
      const p = await startPair();
      const c = topo.clients[0]!;
      const got = await bind(c);
      await pairUntil(p, 'the lease on rtb', (s) => settled(s.a!) && settled(s.b!), 10_000);

      lab().step('stop rtb (SIGTERM) and wipe its leases and failover state');
      await stopHadhcp(p.b);
      const gone = wipeState(p.b.stateDir);
      expect(gone, 'the failover state file was there to lose').toContain(`failover-${NAME}.json`);

      lab().step('start rtb again on the empty folder');
      const b2 = await startPairNode(lab(), 'rtb', { dhcpd: CONF_B, priority: 100, name: p.names.b });
      daemons.push(b2);
      const p2 = { ...p, b: b2 };
      const seen: string[] = [];
      const wrong: string[] = [];
      const t0 = Date.now();
      for (;;) {
        const s = await nodeStatus(b2);
        const vipB = await holdsVip(lab(), 'rtb');
        const line = `${s.failover.state}/${s.vrrp.state} ${s.vrrp.effectivePriority}`;
        if (seen.at(-1) !== line) seen.push(line);
        if (vipB) wrong.push(`rtb holds the VIP: ${statusLine(s)}`);
        if (NOT_CAUGHT_UP.has(s.failover.state)) {
          if (
            s.dhcp.serving ||
            !/not resynchronised/.test(s.dhcp.reason ?? '') ||
            s.vrrp.effectivePriority >= 100
          )
            wrong.push(statusLine(s));
        } else if (s.failover.state === 'normal') break;
        if (Date.now() - t0 > MCLT * 1000 + 45_000)
          throw new Error(
            `rtb not normal after ${Date.now() - t0} ms: ${seen.join(' -> ')}\n${statusLine(s)}`,
          );
        await sleep(100);
      }
      console.log(`rtb after its restart: ${seen.join(' -> ')} in ${Date.now() - t0} ms`);
      expect(
        seen.some((x) => NOT_CAUGHT_UP.has(x.split('/')[0]!)),
        'rtb went through recover',
      ).toBe(true);
      expect(
        wrong,
        'rtb statuses while not resynchronised that serve, keep full priority or hold the VIP',
      ).toEqual([]);

      lab().step('rtb normal: backup with full weight');
      const s = await pairUntil(
        p2,
        'rtb BACKUP with its full priority, not serving relayed clients',
        (x) =>
          x.vipA &&
          !x.vipB &&
          x.b!.vrrp.state === 'BACKUP' &&
          x.b!.vrrp.effectivePriority === 100 &&
          !x.b!.dhcp.serving &&
          normal(x.b!),
        10_000,
      );
      expect(s.b!.vrrp.priorityReasons).toEqual([]);
      expect((await leaseByIp(b2, got.address))?.['hw-address'], `${c.ns}'s lease back on rtb`).toBe(c.mac);
    });
  },
);
