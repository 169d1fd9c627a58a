// Issue 7: two hadhcp daemons as the two servers of one failover relationship (ISC dhcpd 4.4's protocol, TCP 647),
// no VRRP: dhcrelay forwards every request to both routers, as an `ip helper-address` per server does. Each test
// starts a fresh pair (rta primary 10.0.0.2, rtb secondary 10.0.0.3; max-response-delay 5 s, mclt 30 s, split 128)
// and checks one promise of lease sync: both reach normal and share the pool; a lease given by one is on the other
// within a second; kill -9 under perfdhcp load loses no acknowledged lease; a cut link (nftables) leaves each side
// serving its own addresses and heals without a conflict; a node whose disk was lost gets every lease back before
// it serves.
//
//   rta 10.0.0.2 --+                                         +-- cli1..cli6 (udhcpc)
//                  +-- lan0 -- relay 10.0.0.1 | 10.1.0.1 -- lan1
//   rtb 10.0.0.3 --+           dhcrelay -> both routers      +-- load 10.2.0.1/16 (perfdhcp, giaddr set, broadcast)
import { mkdirSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  relayTopology,
  requireRoot,
  runClient,
  startCapture,
  stopCapture,
  useLab,
  type ClientSpot,
  type LabProcess,
  type RelayTopology,
} from './lib/index.js';
import {
  leaseByIp,
  logMessages,
  startHadhcp,
  stopHadhcp,
  tshark,
  until,
  waitForLog,
  type Hadhcp,
} from './lib/dhcp-helpers.js';
import {
  activeLeases,
  allRecords,
  alternatingMacs,
  describeStatus,
  failoverStatus,
  leaseLines,
  pairConf,
  wipeState,
  type FailoverPeerStatus,
} from './lib/failover-pair.js';
import { addLoadSide, perfAcks, spawnPerfLoad } from './lib/load-side.js';
import { makeCa } from '../../packages/failover/test-vectors/tls-certs.js';

const skip = requireRoot({ commands: ['dhcrelay', 'udhcpc', 'perfdhcp', 'tcpdump', 'tshark', 'nft'] });

const NAME = 'lab-pair';
const A = '10.0.0.2';
const B = '10.0.0.3';
/** Seconds: small, so that a cut link is noticed quickly. */
const MRD = 5;
/** Seconds: the recover-wait of a node that lost its disk lasts this long. */
const MCLT = 30;
/**
 * Pool balance checks every few seconds instead of ISC's 60 s (min-balance), so a status's pool counts, taken at the
 * last balance, follow the BACKUP updates of the first one within seconds.
 */
const BALANCE = ['min-balance 3;', 'max-balance 5;'];
const CONF_A = pairConf({
  name: NAME,
  role: 'primary',
  address: A,
  peerAddress: B,
  maxResponseDelay: MRD,
  maxUnackedUpdates: 100,
  mclt: MCLT,
  split: 128,
  peerExtra: BALANCE,
});
const CONF_B = pairConf({
  name: NAME,
  role: 'secondary',
  address: B,
  peerAddress: A,
  maxResponseDelay: MRD,
  maxUnackedUpdates: 100,
  peerExtra: BALANCE,
});
/** Both pools of the relationship (pairConf): 50 relayed-client addresses and 1024 for perfdhcp. */
const POOL_SIZE = 50 + 1024;
/** cli1, cli3, cli5 hash to the primary, cli2, cli4, cli6 to the secondary (udhcpc's client identifier, split 128). */
const MACS = alternatingMacs(6);

interface Pair {
  a: Hadhcp;
  b: Hadhcp;
  /** startHadhcp's names: the same name restarts a node on its state folder. */
  names: { a: string; b: string };
}

describe.skipIf(skip)('failover pair: two hadhcp nodes behind one relay, no VRRP', () => {
  const lab = useLab();
  let topo: RelayTopology<unknown>;
  const daemons: Hadhcp[] = [];
  const running: LabProcess[] = [];
  let n = 0;

  beforeAll(async () => {
    topo = await relayTopology(lab(), {
      routers: ['rta', 'rtb'],
      relayTo: [A, B],
      clients: MACS.length,
      clientMacs: MACS,
    });
    // perfdhcp acts as a second relay on the clients' segment: giaddr 10.2.0.1, requests broadcast to dhcrelay,
    // which forwards them to both routers; the routers answer 10.2.0.1 through the relay.
    await addLoadSide(lab(), topo);
  });

  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop(2000);
    await lab().exec('rta', 'nft', ['delete', 'table', 'inet', 'folab']);
    // kill -9: each test starts a fresh pair, nothing of this one is kept.
    for (const d of daemons.splice(0)) if (d.proc.running) await stopHadhcp(d, 'SIGKILL');
    for (const c of topo.clients) await lab().exec(c.ns, 'ip', ['-4', 'addr', 'flush', 'dev', c.ifName]);
    for (const ns of ['relay', 'rta', 'rtb']) await lab().exec(ns, 'ip', ['neigh', 'flush', 'all']);
  });

  /** Both nodes from empty state folders; both start in recover, so neither waits MCLT (FACTS 4.3). */
  async function startPair(): Promise<Pair> {
    const names = { a: `pair${++n}-a`, b: `pair${n}-b` };
    lab().step('start the pair: rta primary, rtb secondary, empty state');
    const [a, b] = await Promise.all([
      startHadhcp(lab(), 'rta', { conf: CONF_A, name: names.a, fresh: true }),
      startHadhcp(lab(), 'rtb', { conf: CONF_B, name: names.b, fresh: true }),
    ]);
    daemons.push(a, b);
    return { a, b, names };
  }

  async function status(h: Hadhcp): Promise<FailoverPeerStatus> {
    const s = await failoverStatus(h, NAME);
    if (!s) throw new Error(`${h.ns}: status-get has no failover relationship "${NAME}"`);
    return s;
  }

  /** Polls both nodes until `ok` holds for both; the timeout names what each said last. */
  async function bothUntil(
    p: Pair,
    what: string,
    ok: (s: FailoverPeerStatus) => boolean,
    timeoutMs: number,
  ): Promise<[FailoverPeerStatus, FailoverPeerStatus]> {
    const t0 = Date.now();
    for (;;) {
      const [sa, sb] = [await status(p.a), await status(p.b)];
      if (ok(sa) && ok(sb)) return [sa, sb];
      if (Date.now() - t0 > timeoutMs)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}\n  rta: ${describeStatus(sa)}\n  rtb: ${describeStatus(sb)}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const normal = (s: FailoverPeerStatus): boolean =>
    s.state === 'normal' && s.partnerState === 'normal' && s.connected;
  const settled = (s: FailoverPeerStatus): boolean =>
    normal(s) && s.updates.queued === 0 && s.updates.unacked === 0;

  /** The addresses a node has as BACKUP (the secondary's to give), sorted. */
  async function backupOf(h: Hadhcp): Promise<string[]> {
    return (await allRecords(h))
      .filter((l) => l['binding-state'] === 'backup')
      .map((l) => l['ip-address'])
      .sort();
  }

  /** udhcpc through the relay; returns the address and the router (server identifier) that acknowledged it. */
  async function bind(c: ClientSpot): Promise<{ address: string; server: string; at: number }> {
    const l = await runClient('udhcpc', lab(), c.ns, c.ifName);
    const at = Date.now();
    const server = /obtained from (\d+\.\d+\.\d+\.\d+)/.exec(l.proc.output())?.[1] ?? '?';
    return { address: l.address, server, at };
  }

  it('both reach normal and balance the pool: about half of each pool becomes the secondary BACKUP', async () => {
    const p = await startPair();
    lab().step('wait for normal on both, every pool-balance update acknowledged');
    const [sa, sb] = await bothUntil(p, 'both normal, no update outstanding', settled, 60_000);
    expect(sa.role).toBe('primary');
    expect(sb.role).toBe('secondary');
    expect(sb.mclt).toBe(MCLT); // the secondary takes the primary's
    expect(sa.serve).toBe('all');
    expect(sb.serve).toBe('all');
    // The lease tables, free addresses included: both nodes say the same addresses are BACKUP, and the primary gave
    // the secondary about half of each pool: ISC balances pool by pool (each `pool { failover peer ...; }`), and
    // stops within max-lease-ownership (10 %) of the pool's size.
    lab().step('read both lease tables');
    const [backupA, backupB] = [await backupOf(p.a), await backupOf(p.b)];
    expect(backupB, 'BACKUP addresses: rtb vs rta').toEqual(backupA);
    for (const [pool, size, prefix] of [
      ['10.1.0.50-99 (relayed clients)', 50, '10.1.0.'],
      ['10.2.1.0-10.2.4.255 (perfdhcp)', 1024, '10.2.'],
    ] as const) {
      const backup = backupA.filter((ip) => ip.startsWith(prefix)).length;
      expect.soft(backup, `BACKUP addresses of pool ${pool} (${size})`).toBeGreaterThanOrEqual(size * 0.35);
      expect.soft(backup, `BACKUP addresses of pool ${pool} (${size})`).toBeLessThanOrEqual(size * 0.65);
    }
    // And the status says so on both nodes: free and backup roughly half each (counted at the last balance).
    lab().step('pool counts in both statuses');
    const half = (s: FailoverPeerStatus): boolean =>
      s.pool !== undefined &&
      s.pool.free + s.pool.backup === s.pool.total &&
      s.pool.free >= s.pool.total * 0.35 &&
      s.pool.backup >= s.pool.total * 0.35;
    await bothUntil(p, 'pool free and backup about half each in both statuses', half, 15_000);
  });

  it('a lease given by one node is on the other within a second (both ways)', async () => {
    const p = await startPair();
    await bothUntil(p, 'both normal', settled, 60_000);
    // cli1 hashes to the primary, cli2 to the secondary (split 128): each node hands out one lease.
    for (const [c, want] of [
      [topo.clients[0]!, A],
      [topo.clients[1]!, B],
    ] as const) {
      lab().step(`${c.ns} (${c.mac}) binds through the relay`);
      const got = await bind(c);
      // (Soft: the sync below is this test's point, whichever node answered.)
      expect.soft(got.server, `${c.ns}: the node its hash (split 128) gives it to`).toBe(want);
      const [giver, other] = got.server === A ? [p.a, p.b] : [p.b, p.a];
      expect((await leaseByIp(giver, got.address))?.['hw-address']).toBe(c.mac);
      lab().step(`${c.ns}'s lease ${got.address} on ${other.ns}`);
      // The ACK left only after the partner's BNDACK: the lease should be there already; a second at most.
      const seen = await until(
        `${got.address} active for ${c.mac} on ${other.ns}`,
        async () => {
          const l = await leaseByIp(other, got.address);
          return l?.['binding-state'] === 'active' && l['hw-address'] === c.mac ? Date.now() : undefined;
        },
        3_000,
      );
      expect(seen - got.at, `ms from ${c.ns}'s bind to the lease on ${other.ns}`).toBeLessThan(1_000);
    }
  });

  it('over TLS (hadhcp-tls-*): the pair reaches normal and shares a lease; a node whose certificate another CA issued never links, and the node it reached logs why', async () => {
    const dir = lab().file('tls');
    mkdirSync(dir, { recursive: true });
    const certs = { ...makeCa(dir, 'pair-ca', ['rta', 'rtb']), ...makeCa(dir, 'other-ca', ['stranger']) };
    const tlsLines = (c: { cert: string; key: string; ca: string }): string[] => [
      `hadhcp-tls-cert "${c.cert}";`,
      `hadhcp-tls-key "${c.key}";`,
      `hadhcp-tls-ca "${c.ca}";`,
    ];
    const conf = (base: string, c: { cert: string; key: string; ca: string }): string =>
      base.replace(
        /(failover peer "[^"]+" \{\n)/,
        `$1${tlsLines(c)
          .map((l) => `  ${l}\n`)
          .join('')}`,
      );
    const start = async (b: { cert: string; key: string; ca: string }): Promise<Pair> => {
      const names = { a: `pair${++n}-a`, b: `pair${n}-b` };
      const [a, bb] = await Promise.all([
        startHadhcp(lab(), 'rta', { conf: conf(CONF_A, certs.rta!.files), name: names.a, fresh: true }),
        startHadhcp(lab(), 'rtb', { conf: conf(CONF_B, b), name: names.b, fresh: true }),
      ]);
      daemons.push(a, bb);
      return { a, b: bb, names };
    };

    lab().step('both nodes with certificates from the pair CA');
    const p = await start(certs.rtb!.files);
    await bothUntil(p, 'both normal over TLS', settled, 60_000);
    const c = topo.clients[0]!;
    const got = await bind(c);
    const other = got.server === A ? p.b : p.a;
    await until(
      `${got.address} active for ${c.mac} on ${other.ns}`,
      async () => ((await leaseByIp(other, got.address))?.['binding-state'] === 'active' ? true : undefined),
      3_000,
    );
    await Promise.all([stopHadhcp(p.a), stopHadhcp(p.b)]);

    lab().step('rtb with a certificate from another CA (it trusts ours): no link, and rta says why');
    const q = await start({ ...certs.stranger!.files, ca: certs.rta!.files.ca });
    const why = await waitForLog(q.a, /TLS handshake from 10\.0\.0\.3 failed: /, 20_000);
    console.log(`rta: ${why}`);
    const [sa, sb] = [await status(q.a), await status(q.b)];
    expect(sa.connected, describeStatus(sa)).toBe(false);
    expect(sb.state, describeStatus(sb)).not.toBe('normal');
  });

  it('kill -9 of a serving node under perfdhcp load: every DHCPACK the clients saw is an ACTIVE lease on the survivor', async () => {
    const p = await startPair();
    await bothUntil(p, 'both normal', settled, 60_000);
    const pcap = lab().file('load-side.pcap');
    const cap = await startCapture(lab(), 'load', 'eth0', pcap, ['udp', 'port', '67']);
    running.push(cap);
    lab().step('perfdhcp: 150 new clients/s for 6 s through the relay (broadcast, giaddr 10.2.0.1)');
    const perf = spawnPerfLoad(lab(), { rate: 150, seconds: 6, clients: 100_000 });
    running.push(perf);
    const ackedBy = perfAcks;
    await until(
      '100 leases acknowledged by the primary',
      async () => (ackedBy(p.a) >= 100 ? true : undefined),
      20_000,
    );
    lab().step('kill -9 the primary in the middle of the load');
    p.a.proc.kill('SIGKILL');
    expect((await p.a.proc.exit).signal).toBe('SIGKILL');
    const fromA = ackedBy(p.a);
    const bAtKill = ackedBy(p.b);
    await perf.exit;
    await stopCapture(cap);

    lab().step('read the DHCPACKs on the clients side');
    const acks = await tshark(lab(), pcap, 'dhcp.option.dhcp == 5', [
      'ip.src',
      'dhcp.ip.your',
      'dhcp.hw.mac_addr',
    ]);
    const bySource = (ip: string): number => acks.filter((x) => x[0] === ip).length;
    console.log(
      `perfdhcp: ${acks.length} DHCPACKs seen (${bySource(A)} from rta, ${bySource(B)} from rtb); ` +
        `rta logged ${fromA} before its kill, rtb ${bAtKill} then ${ackedBy(p.b)} in all`,
    );
    expect(bySource(A), 'ACKs from the primary before its kill').toBeGreaterThanOrEqual(100);
    expect(ackedBy(p.b), 'the survivor went on serving after the kill').toBeGreaterThan(bAtKill);
    const owner = new Map<string, string>();
    for (const [, ip, mac] of acks) {
      // An address acknowledged to two clients is a conflict whatever the survivor says.
      expect(owner.get(ip!) ?? mac, `${ip} acknowledged to two clients`).toBe(mac);
      owner.set(ip!, mac!);
    }
    lab().step("audit the survivor's leases");
    const survivor = await activeLeases(p.b);
    const missing = [...owner]
      .filter(([ip, mac]) => survivor.get(ip) !== mac)
      .map(([ip, mac]) => `${ip} ${mac} (survivor: ${survivor.get(ip) ?? 'not active'})`);
    expect(
      missing,
      `${missing.length} of ${owner.size} acknowledged leases not ACTIVE on the survivor`,
    ).toEqual([]);
    const sb = await status(p.b);
    expect(sb.state, describeStatus(sb)).toBe('communications-interrupted');
  });

  it('a cut failover link (nftables): both communications-interrupted, each serves its own, and they heal without a conflict', async () => {
    const p = await startPair();
    await bothUntil(p, 'both normal', settled, 60_000);
    // A lease from each side before the cut, so there is something to agree on.
    await bind(topo.clients[0]!);
    await bind(topo.clients[1]!);

    // Who owns what when the link goes: the secondary its BACKUP addresses, the primary the FREE ones.
    const secondaryOwns = new Set(await backupOf(p.a));

    lab().step('cut TCP 647 both ways inside rta');
    const rules = lab().file(
      'cut-647.nft',
      `table inet folab {
  chain in { type filter hook input priority 0; policy accept; tcp dport 647 drop; tcp sport 647 drop; }
  chain out { type filter hook output priority 0; policy accept; tcp dport 647 drop; tcp sport 647 drop; }
}
`,
    );
    await lab().must('rta', 'nft', ['-f', rules]);
    const cutAt = Date.now();
    // Silence is noticed after max-response-delay (the CONTACTs stop arriving); a little slack for a busy machine.
    const [ia, ib] = await bothUntil(
      p,
      'both communications-interrupted',
      (s) => s.state === 'communications-interrupted',
      MRD * 1000 + 5_000,
    );
    console.log(`both communications-interrupted ${Date.now() - cutAt} ms after the cut`);
    expect(ia.connected).toBe(false);
    expect(ib.connected).toBe(false);
    // Only what each owns: its FREE (primary) or BACKUP (secondary) addresses and its clients' leases.
    expect(ia.serve).toBe('own');
    expect(ib.serve).toBe('own');

    lab().step('new clients bind while the link is cut');
    const during = [];
    for (const c of topo.clients.slice(2, 6)) during.push({ c, ...(await bind(c)) });
    expect(during.map((d) => d.address)).toHaveLength(4);
    expect(new Set(during.map((d) => d.address)).size).toBe(4);
    for (const d of during)
      expect(
        d.server === B ? secondaryOwns.has(d.address) : !secondaryOwns.has(d.address),
        `${d.c.ns} got ${d.address} from ${d.server}, which does not own it`,
      ).toBe(true);
    console.log(`during the cut: ${during.map((d) => `${d.c.ns} ${d.address} from ${d.server}`).join(', ')}`);

    lab().step('heal: delete the rules');
    await lab().must('rta', 'nft', ['delete', 'table', 'inet', 'folab']);
    // The link comes back at the next reconnect attempt (every 5 s), and the updates queued meanwhile are sent.
    await bothUntil(p, 'both normal again, every update acknowledged', settled, 45_000);

    lab().step('compare both lease tables');
    const [la, lb] = [await activeLeases(p.a, 3), await activeLeases(p.b, 3)];
    const conflicts = [...la]
      .filter(([ip, mac]) => lb.has(ip) && lb.get(ip) !== mac)
      .map(([ip, mac]) => `${ip}: ${mac} on rta, ${lb.get(ip)} on rtb`);
    expect(conflicts, 'addresses ACTIVE for two different clients').toEqual([]);
    expect(leaseLines(lb), 'rtb ACTIVE leases vs rta').toEqual(leaseLines(la));
    // The four bound during the cut are known to both (unless expiring already: leases are MCLT long, 30 s).
    for (const d of during)
      if (Date.now() - d.at < (MCLT - 5) * 1000) {
        expect(la.get(d.address), `${d.c.ns}'s lease ${d.address} on rta`).toBe(d.c.mac);
        expect(lb.get(d.address), `${d.c.ns}'s lease ${d.address} on rtb`).toBe(d.c.mac);
      }
  });

  it('a node restarted with an empty store gets every lease back before it serves', async () => {
    const p = await startPair();
    await bothUntil(p, 'both normal', settled, 60_000);
    for (const c of topo.clients.slice(0, 4)) await bind(c);
    await bothUntil(p, 'every update acknowledged', settled, 10_000);
    const before = await activeLeases(p.a);
    expect(before.size).toBe(4);
    expect(leaseLines(await activeLeases(p.b))).toEqual(leaseLines(before));

    lab().step('stop rtb (SIGTERM) and wipe its leases and failover state');
    await stopHadhcp(p.b);
    const gone = wipeState(p.b.stateDir);
    expect(gone, 'the failover state file was there to lose').toContain(`failover-${NAME}.json`);
    expect(gone.length, 'lease files were there to lose').toBeGreaterThan(1);

    lab().step('start rtb again on the empty folder');
    const b2 = await startHadhcp(lab(), 'rtb', { conf: CONF_B, name: p.names.b });
    daemons.push(b2);
    const p2 = { ...p, b: b2 };
    // Until normal: every status of rtb, and its lease table when it first leaves recover (UPDDONE received).
    const seen: string[] = [];
    let afterRecover: Map<string, string> | undefined;
    let backupAfterRecover: [string[], string[]] | undefined;
    let client: Promise<{ address: string; server: string } | { error: string }> | undefined;
    const t0 = Date.now();
    for (;;) {
      const s = await status(b2);
      const line = `${s.state}/${s.serve}`;
      if (seen.at(-1) !== line) seen.push(line);
      if (s.state !== 'normal')
        expect(s.serve, `rtb serves in ${s.state} (seen: ${seen.join(' -> ')})`).toBe('none');
      if (afterRecover === undefined && s.state !== 'recover' && s.state !== 'startup') {
        afterRecover = await activeLeases(b2);
        backupAfterRecover = [await backupOf(b2), await backupOf(p.a)];
        // A new client while rtb waits: rta (partner-down) must answer it, rtb must not.
        lab().step('a new client while rtb is not serving yet');
        client = bind(topo.clients[4]!).catch((e: unknown) => ({ error: String(e).split('\n')[0]! }));
      }
      if (normal(s)) break;
      if (Date.now() - t0 > MCLT * 1000 + 30_000)
        throw new Error(`rtb not normal after ${Date.now() - t0} ms: ${seen.join(' -> ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`rtb after its restart: ${seen.join(' -> ')} in ${Date.now() - t0} ms`);
    expect(seen[0], 'rtb starts in recover (empty store)').toMatch(/^(startup|recover)\//);
    // The other records came back too: rtb knows which addresses are its own (BACKUP) before it may serve.
    expect
      .soft(backupAfterRecover?.[0], "rtb's BACKUP addresses after recover vs rta's")
      .toEqual(backupAfterRecover?.[1]);
    expect(afterRecover, 'rtb left recover').toBeDefined();
    expect(leaseLines(afterRecover!), "rtb's ACTIVE leases after recover vs rta's").toEqual(
      leaseLines(before),
    );
    const late = await client!;
    expect.soft(late, 'a new client while rtb recovers: rta (partner-down) answers it').toMatchObject({
      server: A,
    });
    // rtb said nothing to any client before it was normal.
    const normalAt = logMessages(b2).findIndex((m) => /I move from \S+ to normal/.test(m));
    const spoke = logMessages(b2)
      .slice(0, normalAt < 0 ? undefined : normalAt)
      .filter((m) => /^DHCP(OFFER|ACK|NAK) /.test(m));
    expect(spoke, 'rtb answered clients before normal').toEqual([]);
    // And once both are normal, they agree.
    await bothUntil(p2, 'both normal, every update acknowledged', settled, 15_000);
    // (Leases are MCLT long, 30 s, as long as rtb's recover-wait: the first four may have expired by now.)
    const [la, lb] = [await activeLeases(p.a, 3), await activeLeases(b2, 3)];
    expect(leaseLines(lb), 'rtb ACTIVE leases vs rta, both normal again').toEqual(leaseLines(la));
  });
});
