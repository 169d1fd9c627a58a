// Ping-check that never makes a client wait (issue 9): bursts of new clients through a relay address (perfdhcp
// acting as the relay, as in the benchmark) with `ping-check true`, where nothing answers the pings but one host
// using an address of the pool. Every client gets an OFFER, the server's counters say none of them waited for a
// probe (offers.probe-ready, offers.waited-for-probe), and the address that answers is abandoned and never offered.
// Each burst stays within the window the previous one grew (core/ping-ahead.ts): how fast is the benchmark's.
import { describe, expect, it } from 'vitest';
import { relayTopology, requireRoot, sampleDhcpdConf, useLab } from './lib/index.js';
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

const skip = requireRoot({ commands: ['dhcrelay', 'perfdhcp', 'ping'] });
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

/** Probes answered or timed out: none is out once this equals ping.sent. */
const probesDone = (s: Record<string, number>): number => (s['ping.silent'] ?? 0) + (s['ping.answered'] ?? 0);

describe.skipIf(skip)('ping-check ahead of the clients (relayed bursts)', () => {
  const lab = useLab();

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
  async function burst(clients: number, rate: number, k: number): Promise<void> {
    const r = await lab().exec(
      'load',
      'perfdhcp',
      [
        ...`-4 -g single -l eth0 -r ${rate} -n ${clients} -R 1000000 -d 5`.split(' '),
        '-b',
        `mac=02:00:0${k}:00:00:00`,
        SERVER,
      ],
      60_000,
    );
    expect(r.stdout + r.stderr).toMatch(/sent packets: \d+/);
  }

  it('every client of each burst gets an OFFER without waiting for a probe; the address that answers is never offered', async () => {
    const topo = await relayTopology(lab(), { clients: 0 });
    const srv = topo.routers[0]!.ns;
    await lab().addNamespace('load');
    await lab().link('load', 'eth0', topo.serverLan, 'l0');
    // perfdhcp's giaddr is the first address; the squatter's address lives on the load host's loopback.
    await lab().addr('load', 'eth0', '10.2.0.1/16');
    await lab().addr('load', 'eth0', '10.0.0.9/24');
    await lab().addr('load', 'lo', `${SQUATTER}/32`);
    await lab().must(srv, 'ip', ['route', 'add', '10.2.0.0/16', 'via', '10.0.0.9']);
    // Preconditions: the squatter answers ping from the server; other pool addresses do not.
    await lab().must(srv, 'ping', ['-c', '1', '-W', '3', SQUATTER]);
    expect((await lab().exec(srv, 'ping', ['-c', '1', '-W', '1', '10.2.1.11'])).code).not.toBe(0);

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
        await burst(n, rate, k + 1);
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
