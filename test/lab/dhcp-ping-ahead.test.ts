// Ping-check that never makes a client wait (issue 9): bursts of new clients through a relay address (perfdhcp
// acting as the relay, as in the benchmark) with `ping-check true`, where nothing answers the pings but one host
// using an address of the pool. Every client gets an OFFER, the server's counters say none of them waited for a
// probe (offers.probe-ready, offers.waited-for-probe), and the address that answers is abandoned and never offered.
// Each burst stays within the window the previous one grew (core/ping-ahead.ts): how fast is the benchmark's.
import { describe, expect, it } from 'vitest';
import {
  relayTopology,
  requireRoot,
  sampleDhcpdConf,
  startCapture,
  stopCapture,
  useLab,
  type Lab,
} from './lib/index.js';
import { readPackets } from '../bench/lib/pcap.js';
import {
  leaseByIp,
  logMessages,
  startHadhcp,
  stats,
  stopHadhcp,
  until,
  waitForLog,
  type Hadhcp,
} from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['dhcrelay', 'perfdhcp', 'ping', 'tcpdump'] });
const SERVER = '10.0.0.2';
/** In the pool and in the first window: a host already uses it (the load host answers for it). */
const SQUATTER = '10.2.1.10';

/** The relay address's segment, behind the load host: the server's pings to it go there and are not forwarded. */
const DHCPD = sampleDhcpdConf(`
subnet 10.2.0.0 netmask 255.255.0.0 {
  ping-check true;
  ping-timeout 1;
  range 10.2.1.0 10.2.60.255;
}
`);

/** Probes answered, timed out or not sent (unknown): none is out once this equals ping.sent. */
const probesDone = (s: Record<string, number>): number =>
  (s['ping.silent'] ?? 0) + (s['ping.answered'] ?? 0) + (s['ping.unknown'] ?? 0);

/** Waits until every probe sent so far (the window grown by the last burst included) has ended. */
async function windowReady(h: Hadhcp): Promise<void> {
  // The window is resized every probe period (250 ms); give it two.
  await new Promise((r) => setTimeout(r, 600));
  const sent = (await stats(h))['ping.sent'] ?? 0;
  expect(sent).toBeGreaterThan(0);
  await until(
    'the probes out to end',
    async () => (probesDone(await stats(h)) >= sent ? true : undefined),
    20_000,
  );
}

/**
 * `clients` new clients at `rate`/s, DORA through perfdhcp's relay address; waits for perfdhcp to finish.
 * perfdhcp numbers its clients' MACs up from a base: a base per burst keeps every client new.
 */
async function burst(lab: Lab, clients: number, rate: number, k: number, dropS = 5): Promise<string> {
  const r = await lab.exec(
    'load',
    'perfdhcp',
    [
      ...`-4 -g single -l eth0 -r ${rate} -n ${clients} -R 1000000 -d ${dropS} -W ${dropS * 1_000_000}`.split(
        ' ',
      ),
      '-b',
      `mac=02:00:0${k}:00:00:00`,
      SERVER,
    ],
    60_000,
  );
  expect(r.stdout + r.stderr).toMatch(/sent packets: \d+/);
  return r.stdout + r.stderr;
}

/**
 * The server's namespace behind a relay address: ns load is perfdhcp's (giaddr 10.2.0.1) and holds the
 * squatter's address on its loopback, so the server's pings to it are answered and to the rest of the pool not.
 */
async function topology(lab: Lab): Promise<string> {
  const topo = await relayTopology(lab, { clients: 0 });
  const srv = topo.routers[0]!.ns;
  await lab.addNamespace('load');
  await lab.link('load', 'eth0', topo.serverLan, 'l0');
  // perfdhcp's giaddr is the first address; the squatter's address lives on the load host's loopback.
  await lab.addr('load', 'eth0', '10.2.0.1/16');
  await lab.addr('load', 'eth0', '10.0.0.9/24');
  await lab.addr('load', 'lo', `${SQUATTER}/32`);
  await lab.must(srv, 'ip', ['route', 'add', '10.2.0.0/16', 'via', '10.0.0.9']);
  // Preconditions: the squatter answers ping from the server; other pool addresses do not.
  await lab.must(srv, 'ping', ['-c', '1', '-W', '3', SQUATTER]);
  expect((await lab.exec(srv, 'ping', ['-c', '1', '-W', '1', '10.2.1.11'])).code).not.toBe(0);
  return srv;
}

describe.skipIf(skip)('ping-check ahead of the clients (relayed bursts)', () => {
  const lab = useLab();

  it('every client of each burst gets an OFFER without waiting for a probe; the address that answers is never offered', async () => {
    const srv = await topology(lab());
    const h = await startHadhcp(lab(), srv, { conf: DHCPD, fresh: true });
    try {
      // The idle window (32 addresses) is probed from the start; the squatter is among them.
      await windowReady(h);
      await waitForLog(
        h,
        new RegExp(`Abandoning IP address ${SQUATTER.replace(/\./g, '\\.')}: pinged before offer`),
      );

      // A burst within the idle window, then bursts within the window each one grew.
      const bursts: Array<[number, number]> = [
        [20, 50],
        [60, 100],
        [150, 200],
      ];
      let clients = 0;
      for (const [k, [n, rate]] of bursts.entries()) {
        await burst(lab(), n, rate, k + 1);
        clients += n;
        const s = await until(
          `OFFERs to ${clients} clients`,
          async () => {
            const s = await stats(h);
            return (s['tx.DHCPOFFER'] ?? 0) >= clients ? s : undefined;
          },
          20_000,
        );
        // Every DISCOVER was answered, at once: none waited for a probe.
        expect(s['rx.DHCPDISCOVER']).toBe(clients);
        expect(s['tx.DHCPOFFER']).toBe(clients);
        expect(s['offers.probe-ready']).toBe(clients);
        expect(s['offers.waited-for-probe'] ?? 0).toBe(0);
        await windowReady(h);
      }

      const s = await stats(h);
      expect(s['ping.answered']).toBeGreaterThanOrEqual(1);
      expect(s['abandoned.pinged']).toBe(1);
      expect(await leaseByIp(h, SQUATTER)).toMatchObject({ 'binding-state': 'abandoned' });
      const offered = logMessages(h).filter((m) => m.startsWith(`DHCPOFFER on ${SQUATTER} `));
      expect(offered).toEqual([]);
      expect(logMessages(h).filter((m) => m.startsWith('DHCPOFFER on ')).length).toBe(clients);
    } finally {
      await stopHadhcp(h);
    }
  }, 180_000);
});

describe.skipIf(skip)('ping-check in a burst beyond the look-ahead (relayed)', () => {
  const lab = useLab();

  it('a burst beyond the look-ahead degrades as ISC does: every client is offered, none waits more than about one ping-timeout, the address that answers is never offered', async () => {
    const srv = await topology(lab());
    const h = await startHadhcp(lab(), srv, { conf: DHCPD, fresh: true });
    try {
      // The idle window only (32 addresses, the squatter among them), then 400 new clients at 1,000/s at once:
      // the window grows within a probe period, but its new probes take a ping-timeout to come back, so the
      // clients of the first second each wait on a probe of their own, in parallel.
      await windowReady(h);
      // Timed on the wire at the relay's side (perfdhcp's own count misses OFFERs: the clients that waited are
      // answered close together a ping-timeout later, and its socket buffer overflows).
      const pcap = lab().file('burst.pcap');
      const cap = await startCapture(lab(), 'load', 'eth0', pcap, ['udp', 'port', '67']);
      const out = await burst(lab(), 400, 1000, 5, 3);
      const offers = out.slice(out.indexOf('Statistics for: DISCOVER-OFFER'));
      const clients = Number(offers.match(/sent packets: (\d+)/)?.[1]);
      expect(clients, out).toBeGreaterThanOrEqual(400);
      const s = await until(
        `OFFERs to ${clients} clients`,
        async () => {
          const s = await stats(h);
          return (s['tx.DHCPOFFER'] ?? 0) >= clients ? s : undefined;
        },
        20_000,
      );
      await stopCapture(cap);
      expect(s['tx.DHCPOFFER']).toBe(clients);
      // Some waited (the burst outran the window), each once at most: the offers split into the two kinds. (A
      // DISCOVER that waited is handled again when its probe ends, and counted in rx again.)
      const waited = s['offers.waited-for-probe'] ?? 0;
      expect(waited).toBeGreaterThan(0);
      expect((s['offers.probe-ready'] ?? 0) + waited).toBe(clients);
      expect(s['rx.DHCPDISCOVER']).toBe(clients + waited);
      expect(s['drop.no-probed-address'] ?? 0).toBe(0);
      // Every DISCOVER on the wire had its OFFER within one ping-timeout (1 s) and room for a loaded machine,
      // below the 2 s that a second wait would take.
      const sentAt = new Map<number, number>();
      const delays: number[] = [];
      for (const k of readPackets(pcap)) {
        if (k.kind !== 'dhcp') continue;
        if (k.type === 1 && !sentAt.has(k.xid)) sentAt.set(k.xid, k.tsMs);
        const t = sentAt.get(k.xid);
        if (k.type === 2 && t !== undefined && t !== Infinity) {
          delays.push(k.tsMs - t);
          sentAt.set(k.xid, Infinity);
        }
      }
      expect(sentAt.size).toBe(clients);
      expect(delays).toHaveLength(clients);
      expect(Math.max(...delays)).toBeLessThan(1900);

      expect(s['abandoned.pinged']).toBe(1);
      expect(logMessages(h).filter((m) => m.startsWith(`DHCPOFFER on ${SQUATTER} `))).toEqual([]);
    } finally {
      await stopHadhcp(h);
    }
  }, 180_000);
});
