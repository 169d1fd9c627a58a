// dhcpd.conf features users rely on, checked on the wire against the built daemon behind ISC dhcrelay: reservations
// with a host name, `deny unknown-clients`, infinite leases and PXE fields. One topology for the file; each test
// starts its own daemon on its own configuration and state.
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
  leaseByIp,
  logMessages,
  startHadhcp,
  stats,
  stopHadhcp,
  tshark,
  type Hadhcp,
} from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['dhcrelay', 'dhclient', 'udhcpc', 'tcpdump', 'tshark'] });
const POOL = /^10\.1\.0\.(5\d|[6-9]\d)$/;

describe.skipIf(skip)('dhcpd.conf features on the wire (relayed)', () => {
  const lab = useLab();
  let topo: RelayTopology<unknown>;
  let daemon: Hadhcp | undefined;
  let cap: LabProcess | undefined;
  let n = 0;

  beforeAll(async () => {
    topo = await relayTopology(lab(), { clients: 2 });
  });

  afterEach(async () => {
    if (cap?.running) await stopCapture(cap);
    if (daemon) await stopHadhcp(daemon);
    daemon = undefined;
    // Clients keep nothing from one test to the next.
    for (const c of topo.clients) await lab().exec(c.ns, 'ip', ['-4', 'addr', 'flush', 'dev', c.ifName]);
  });

  /** A fresh daemon on `conf` and a capture of the server's DHCP traffic. */
  async function serve(conf: string): Promise<{ h: Hadhcp; pcap: string }> {
    const pcap = lab().file(`config-${++n}.pcap`);
    cap = await startCapture(lab(), 'srv', 'eth0', pcap, ['udp', 'port', '67']);
    daemon = await startHadhcp(lab(), 'srv', { conf, name: `conf${n}`, fresh: true });
    return { h: daemon, pcap };
  }

  it('a reservation gets its fixed address and host name', async () => {
    const c = topo.clients[0]!;
    const { h, pcap } = await serve(
      sampleDhcpdConf(
        `host printer { hardware ethernet ${c.mac}; fixed-address 10.1.0.20; option host-name "printer-1"; }\n`,
      ),
    );
    // udhcpc asks for option 12 (host name) by default.
    const lease = await runClient('udhcpc', lab(), c.ns, c.ifName);
    expect(lease.address).toBe('10.1.0.20');
    await stopCapture(cap!);
    const acks = await tshark(lab(), pcap, 'dhcp.option.dhcp == 5', ['dhcp.ip.your', 'dhcp.option.hostname']);
    expect(acks).toEqual([['10.1.0.20', 'printer-1']]);
    expect(logMessages(h).some((m) => m.startsWith(`DHCPACK on 10.1.0.20 to ${c.mac}`))).toBe(true);
  });

  it('deny unknown-clients: a stranger gets no OFFER and is counted; a known host still binds', async () => {
    const [known, stranger] = topo.clients as [(typeof topo.clients)[0], (typeof topo.clients)[0]];
    const { h, pcap } = await serve(`authoritative;
default-lease-time 600;
subnet 10.0.0.0 netmask 255.255.255.0 { }
subnet 10.1.0.0 netmask 255.255.255.0 {
  option routers 10.1.0.1;
  option subnet-mask 255.255.255.0;
  pool { deny unknown-clients; range 10.1.0.50 10.1.0.99; }
}
host known { hardware ethernet ${known.mac}; }
`);
    // The stranger keeps trying (udhcpc -t 3 -T 1: three DISCOVERs a second apart) while the known host binds.
    const s = lab().spawn(stranger.ns, 'udhcpc', [
      '-f',
      '-q',
      '-n',
      '-t',
      '3',
      '-T',
      '1',
      '-i',
      stranger.ifName,
      '-s',
      '/bin/true',
    ]);
    const lease = await runClient('udhcpc', lab(), known.ns, known.ifName);
    expect(lease.address).toMatch(POOL);
    const exit = await s.exit;
    expect(exit.code, s.output()).not.toBe(0);
    expect(s.output()).not.toMatch(/obtained/);
    const st = await stats(h);
    expect(st['drop.unknown-client-denied']).toBeGreaterThanOrEqual(3);
    await stopCapture(cap!);
    const offersToStranger = await tshark(
      lab(),
      pcap,
      `dhcp.option.dhcp == 2 && dhcp.hw.mac_addr == ${stranger.mac}`,
      ['frame.number'],
    );
    expect(offersToStranger).toEqual([]);
    const discovers = await tshark(
      lab(),
      pcap,
      `dhcp.option.dhcp == 1 && dhcp.hw.mac_addr == ${stranger.mac}`,
      ['frame.number'],
    );
    expect(discovers.length).toBeGreaterThanOrEqual(3);
    // ISC dhcpd's words for it.
    expect(logMessages(h)).toContain(`DHCPDISCOVER from ${stranger.mac} via 10.1.0.1: unknown client`);
    expect(await leaseByIp(h, lease.address)).toMatchObject({
      'hw-address': known.mac,
      'binding-state': 'active',
    });
  });

  it('default-lease-time -1 / max-lease-time -1: the client sees lease time 0xffffffff and the lease never ends', async () => {
    const c = topo.clients[0]!;
    const { h, pcap } = await serve(
      sampleDhcpdConf()
        .replace('default-lease-time 600;', 'default-lease-time -1;')
        .replace('max-lease-time 1200;', 'max-lease-time -1;'),
    );
    const lease = await runClient('udhcpc', lab(), c.ns, c.ifName);
    expect(lease.address).toMatch(POOL);
    await stopCapture(cap!);
    const acks = await tshark(lab(), pcap, 'dhcp.option.dhcp == 5', [
      'dhcp.ip.your',
      'dhcp.option.ip_address_lease_time',
    ]);
    expect(acks).toEqual([[lease.address, '4294967295']]);
    // RFC 2131 4.4.5: no T1/T2 for an infinite lease, or if sent, infinite too.
    const t1 = await tshark(lab(), pcap, 'dhcp.option.dhcp == 5 && dhcp.option.renewal_time_value', [
      'dhcp.option.renewal_time_value',
    ]);
    for (const [v] of t1) expect(v).toBe('4294967295');
    expect(await leaseByIp(h, lease.address)).toMatchObject({ 'binding-state': 'active', ends: 'never' });
  });

  it('PXE: next-server and filename reach the client as siaddr and file', async () => {
    const c = topo.clients[1]!;
    await serve(
      sampleDhcpdConf().replace(
        'range 10.1.0.50 10.1.0.99;',
        'range 10.1.0.50 10.1.0.99;\n  next-server 10.0.0.5;\n  filename "pxelinux.0";',
      ),
    );
    const lease = await runClient('udhcpc', lab(), c.ns, c.ifName);
    expect(lease.address).toMatch(POOL);
    await stopCapture(cap!);
    const pcap = lab().file(`config-${n}.pcap`);
    // OFFER and ACK both carry them (RFC 2131 2: siaddr is the next server in bootstrap; file the boot file name).
    const replies = await tshark(
      lab(),
      pcap,
      `(dhcp.option.dhcp == 2 || dhcp.option.dhcp == 5) && dhcp.hw.mac_addr == ${c.mac}`,
      ['dhcp.option.dhcp', 'dhcp.ip.server', 'dhcp.file'],
    );
    expect(replies).toEqual([
      ['2', '10.0.0.5', 'pxelinux.0'],
      ['5', '10.0.0.5', 'pxelinux.0'],
    ]);
  });
});
