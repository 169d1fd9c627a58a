// A lease's life against the built daemon behind ISC dhcrelay: INIT-REBOOT on the wrong network (NAK only when
// authoritative), RELEASE, unicast renewal, ping-check of an address already in use, and a restart that keeps every
// lease. One topology for the file (the relay routes, as a real router does); each test starts its own daemon.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  relayTopology,
  requireRoot,
  runClient,
  sampleDhcpdConf,
  startCapture,
  stopCapture,
  useLab,
  type LabProcess,
  type RelayTopology,
} from './lib/index.js';
import {
  allLeases,
  enableForwarding,
  leaseByIp,
  logMessages,
  releaseDhclient,
  spawnDhclient,
  startHadhcp,
  stats,
  stopHadhcp,
  tshark,
  until,
  waitForLog,
  type Hadhcp,
} from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['dhcrelay', 'dhclient', 'udhcpc', 'dhcpcd', 'tcpdump', 'tshark'] });
const POOL = /^10\.1\.0\.(5\d|[6-9]\d)$/;
const BOUND = /bound to (\d+\.\d+\.\d+\.\d+)/;

/** A dhclient lease file holding an unexpired lease on a network that is not the client's (a laptop moved). */
const FOREIGN_LEASE = `lease {
  interface "eth0";
  fixed-address 192.168.77.20;
  option subnet-mask 255.255.255.0;
  option routers 192.168.77.1;
  option dhcp-lease-time 86400;
  option dhcp-message-type 5;
  option dhcp-server-identifier 192.168.77.1;
  renew 5 2037/12/31 00:00:00;
  rebind 5 2037/12/31 00:00:00;
  expire 5 2037/12/31 00:00:00;
}
`;

describe.skipIf(skip)('lease lifecycle (relayed)', () => {
  const lab = useLab();
  let topo: RelayTopology<unknown>;
  let daemon: Hadhcp | undefined;
  let cap: LabProcess | undefined;
  const running: LabProcess[] = [];
  let n = 0;

  beforeAll(async () => {
    topo = await relayTopology(lab(), { clients: 3 });
    await enableForwarding(lab(), 'relay');
  });

  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop(2000);
    if (cap?.running) await stopCapture(cap);
    if (daemon?.proc.running) await stopHadhcp(daemon);
    daemon = undefined;
    for (const c of topo.clients) await lab().exec(c.ns, 'ip', ['-4', 'addr', 'flush', 'dev', c.ifName]);
    // Addresses move between clients from one test to the next: the router must not keep old ARP entries.
    await lab().exec('relay', 'ip', ['neigh', 'flush', 'all']);
  });

  async function serve(conf: string, name = `life${++n}`): Promise<{ h: Hadhcp; pcap: string }> {
    const pcap = lab().file(`${name}.pcap`);
    cap = await startCapture(lab(), 'srv', 'eth0', pcap, ['udp', 'port', '67', 'or', 'udp', 'port', '68']);
    daemon = await startHadhcp(lab(), 'srv', { conf, name, fresh: true });
    return { h: daemon, pcap };
  }

  it('INIT-REBOOT for an address of another network gets DHCPNAK when authoritative, then the client binds', async () => {
    const c = topo.clients[0]!;
    const { h, pcap } = await serve(sampleDhcpdConf());
    const d = spawnDhclient(lab(), c.ns, c.ifName, { leases: FOREIGN_LEASE });
    running.push(d.proc);
    // RFC 2131 3.2 / 4.3.2: the NAK sends the client back to INIT, and it gets an address of this network.
    const bound = await d.proc.waitForLine(BOUND, 20_000);
    expect(bound[1]).toMatch(POOL);
    expect(d.proc.output()).toMatch(/DHCPNAK from 10\.1\.0\.1/); // the relay's address
    await waitForLog(h, new RegExp(`^DHCPNAK on 192\\.168\\.77\\.20 to ${c.mac} via 10\\.1\\.0\\.1`));
    await stopCapture(cap!);
    const req = await tshark(
      lab(),
      pcap,
      `dhcp.option.dhcp == 3 && dhcp.option.requested_ip_address == 192.168.77.20`,
      ['dhcp.ip.client'],
    );
    expect(req.length).toBeGreaterThanOrEqual(1);
    expect(req[0]).toEqual(['0.0.0.0']); // INIT-REBOOT: ciaddr zero, address in option 50
    const naks = await tshark(lab(), pcap, `dhcp.option.dhcp == 6 && dhcp.hw.mac_addr == ${c.mac}`, [
      'ip.dst',
    ]);
    expect(naks.length).toBeGreaterThanOrEqual(1);
    expect(naks[0]).toEqual(['10.1.0.1']);
  });

  it('INIT-REBOOT for an address of another network gets no answer when not authoritative', async () => {
    const c = topo.clients[1]!;
    const { h, pcap } = await serve(sampleDhcpdConf().replace('authoritative;', 'not authoritative;'));
    // reboot 3: dhclient stays in INIT-REBOOT 3 s before it falls back to DISCOVER.
    const d = spawnDhclient(lab(), c.ns, c.ifName, { leases: FOREIGN_LEASE, conf: ['reboot 3;'] });
    running.push(d.proc);
    const bound = await d.proc.waitForLine(BOUND, 20_000);
    expect(bound[1]).toMatch(POOL);
    expect(d.proc.output()).not.toMatch(/DHCPNAK/);
    expect((await stats(h))['drop.not-authoritative']).toBeGreaterThanOrEqual(1);
    await stopCapture(cap!);
    const req = await tshark(
      lab(),
      pcap,
      `dhcp.option.dhcp == 3 && dhcp.option.requested_ip_address == 192.168.77.20`,
      ['frame.number'],
    );
    expect(req.length).toBeGreaterThanOrEqual(1);
    expect(await tshark(lab(), pcap, 'dhcp.option.dhcp == 6', ['frame.number'])).toEqual([]);
  });

  it('RELEASE frees the address: lease4-get shows it released and another client gets it', async () => {
    const [a, b] = topo.clients as [(typeof topo.clients)[0], (typeof topo.clients)[0]];
    // One address in the pool, so the second client can only bind once the first let it go.
    const { h, pcap } = await serve(
      sampleDhcpdConf().replace('range 10.1.0.50 10.1.0.99;', 'range 10.1.0.50 10.1.0.50;'),
    );
    const d = spawnDhclient(lab(), a.ns, a.ifName);
    running.push(d.proc);
    expect((await d.proc.waitForLine(BOUND, 20_000))[1]).toBe('10.1.0.50');
    expect(await leaseByIp(h, '10.1.0.50')).toMatchObject({ 'binding-state': 'active', 'hw-address': a.mac });
    await releaseDhclient(lab(), d);
    await waitForLog(h, new RegExp(`^DHCPRELEASE of 10\\.1\\.0\\.50 from ${a.mac}`));
    const freed = await leaseByIp(h, '10.1.0.50');
    expect(['released', 'free']).toContain(freed?.['binding-state'] ?? 'free');
    const lease = await runClient('udhcpc', lab(), b.ns, b.ifName);
    expect(lease.address).toBe('10.1.0.50');
    expect(await leaseByIp(h, '10.1.0.50')).toMatchObject({ 'binding-state': 'active', 'hw-address': b.mac });
    await stopCapture(cap!);
    // The RELEASE came from the client's own address, unicast to the server (RFC 2131 4.4.6), routed by the relay.
    // (dhcrelay also picks it up on its client side and relays a copy: whichever copy arrives first releases the
    // lease, the other is logged as not found.)
    const rel = await tshark(lab(), pcap, 'dhcp.option.dhcp == 7 && dhcp.ip.relay == 0.0.0.0', [
      'ip.src',
      'ip.dst',
      'dhcp.ip.client',
    ]);
    expect(rel).toEqual([['10.1.0.50', '10.0.0.2', '10.1.0.50']]);
    const releases = logMessages(h).filter((m) =>
      m.startsWith(`DHCPRELEASE of 10.1.0.50 from ${a.mac} via `),
    );
    expect(releases.filter((m) => / via (eth0|10\.1\.0\.1) \(found\)$/.test(m))).toHaveLength(1);
  });

  it('renewal: the REQUEST reaches the server unicast with ciaddr set and is ACKed unicast', async () => {
    const c = topo.clients[2]!;
    const { h, pcap } = await serve(
      sampleDhcpdConf()
        .replace('default-lease-time 600;', 'default-lease-time 6;')
        .replace('max-lease-time 1200;', 'max-lease-time 6;'),
    );
    const d = spawnDhclient(lab(), c.ns, c.ifName);
    running.push(d.proc);
    const addr = (await d.proc.waitForLine(BOUND, 20_000))[1]!;
    expect(addr).toMatch(POOL);
    // T1 = 3 s: dhclient renews with the server directly.
    await d.proc.waitForLine(
      new RegExp(`DHCPREQUEST for ${addr.replace(/\./g, '\\.')} on eth0 to 10\\.0\\.0\\.2 port 67`),
      15_000,
    );
    await until('a second bound line', async () =>
      (d.proc.output().match(/bound to /g) ?? []).length >= 2 ? true : undefined,
    );
    await stopCapture(cap!);
    const reqs = await tshark(lab(), pcap, `dhcp.option.dhcp == 3 && dhcp.hw.mac_addr == ${c.mac}`, [
      'ip.src',
      'ip.dst',
      'dhcp.ip.client',
      'dhcp.ip.relay',
      'dhcp.flags.bc',
    ]);
    // The first REQUEST (SELECTING) is broadcast and relayed; the renewal is the client's own unicast.
    expect(reqs[0]).toEqual(['10.0.0.1', '10.0.0.2', '0.0.0.0', '10.1.0.1', '0']);
    // (dhcrelay also relays a copy of the unicast it sees on its client side: the server answers that one via the
    // relay, so look for the client's own packet rather than at a position.)
    expect(reqs).toContainEqual([addr, '10.0.0.2', addr, '0.0.0.0', '0']);
    const acks = await tshark(lab(), pcap, `dhcp.option.dhcp == 5 && dhcp.hw.mac_addr == ${c.mac}`, [
      'ip.dst',
      'dhcp.ip.your',
    ]);
    expect(acks).toContainEqual([addr, addr]); // unicast to ciaddr (RFC 2131 4.1)
    // ISC names the interface when there is no giaddr.
    expect(logMessages(h)).toContain(`DHCPREQUEST for ${addr} from ${c.mac} via eth0`);
    expect(logMessages(h)).toContain(`DHCPACK on ${addr} to ${c.mac} via eth0`);
  });

  it('an address that answers ping is not offered: the client gets another and the address is abandoned', async () => {
    // A host already using the first pool address, with a route back to the server (it answers the ping).
    await lab().addNamespace('sq');
    await lab().link('sq', 'eth0', topo.clientLan, 'q0');
    await lab().addr('sq', 'eth0', '10.1.0.50/24');
    await lab().must('sq', 'ip', ['route', 'add', 'default', 'via', '10.1.0.1']);
    // The squatter really answers from the server's side (precondition, not the behaviour under test).
    await lab().must('srv', 'ping', ['-c', '1', '-W', '3', '10.1.0.50']);
    try {
      const { h } = await serve(sampleDhcpdConf());
      const c = topo.clients[0]!;
      const lease = await runClient('udhcpc', lab(), c.ns, c.ifName);
      expect(lease.address).toMatch(POOL);
      expect(lease.address).not.toBe('10.1.0.50');
      expect(await leaseByIp(h, '10.1.0.50')).toMatchObject({ 'binding-state': 'abandoned' });
      await waitForLog(h, /Abandoning IP address 10\.1\.0\.50/);
    } finally {
      // Later tests hand out 10.1.0.50 again.
      await lab().exec('sq', 'ip', ['link', 'set', 'eth0', 'down']);
    }
  });

  it('a restart (SIGTERM) keeps every lease, and each client gets its same address back', async () => {
    const { h } = await serve(sampleDhcpdConf(), 'restart');
    const kinds = ['dhclient', 'udhcpc', 'dhcpcd'] as const;
    const bound: { mac: string; address: string }[] = [];
    for (const [i, kind] of kinds.entries()) {
      const c = topo.clients[i]!;
      const l = await runClient(kind, lab(), c.ns, c.ifName);
      if (l.proc.running) running.push(l.proc);
      bound.push({ mac: c.mac, address: l.address });
    }
    for (const p of running.splice(0)) await p.stop(2000);
    await stopHadhcp(h);
    expect(h.proc.output()).toMatch(/hadhcp stopped/);

    const h2 = await startHadhcp(lab(), 'srv', { conf: sampleDhcpdConf(), name: 'restart' });
    daemon = h2;
    const after = await allLeases(h2);
    for (const b of bound)
      expect(after.find((l) => l['ip-address'] === b.address)).toMatchObject({
        'hw-address': b.mac,
        'binding-state': 'active',
      });
    expect(after.filter((l) => l['binding-state'] === 'active')).toHaveLength(3);
    for (const [i, b] of bound.entries()) {
      const c = topo.clients[i]!;
      await lab().exec(c.ns, 'ip', ['-4', 'addr', 'flush', 'dev', c.ifName]);
      const again = await runClient('udhcpc', lab(), c.ns, c.ifName);
      expect(again.address, b.mac).toBe(b.address);
    }
  });
});
