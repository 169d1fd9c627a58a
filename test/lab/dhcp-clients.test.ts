// The three clients users run (ISC dhclient, busybox udhcpc, dhcpcd) get leases from hadhcp, through ISC dhcrelay and
// directly attached (libpcap in, raw frames out to clients that have no address yet), and the daemon logs what ISC
// dhcpd would.
import { describe, expect, it } from 'vitest';
import {
  directTopology,
  relayTopology,
  requireRoot,
  runClient,
  sampleDhcpdConf,
  startCapture,
  stopCapture,
  useLab,
  type ClientKind,
} from './lib/index.js';
import { leaseByIp, logMessages, startHadhcp, tshark, until, type Hadhcp } from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['dhcrelay', 'dhclient', 'udhcpc', 'dhcpcd', 'tcpdump', 'tshark'] });
const KINDS: ClientKind[] = ['dhclient', 'udhcpc', 'dhcpcd'];
const POOL = /^10\.1\.0\.(5\d|[6-9]\d)$/;

async function bindAll(
  lab: () => import('./lib/index.js').Lab,
  clients: { ns: string; ifName: string; mac: string }[],
  h: Hadhcp,
  via: string,
): Promise<string[]> {
  const addresses: string[] = [];
  for (const [i, kind] of KINDS.entries()) {
    const c = clients[i]!;
    const lease = await runClient(kind, lab(), c.ns, c.ifName, { hostname: `lab-${kind}` });
    expect(lease.address, kind).toMatch(POOL);
    // udhcpc says "obtained" just before its script sets the address: give the hook a moment.
    await until(
      `${kind} address on ${c.ns}`,
      async () => ((await lab().ipv4(c.ns, c.ifName)).includes(`${lease.address}/24`) ? true : undefined),
      5000,
    );
    // The daemon's own record agrees with the client.
    const l = await leaseByIp(h, lease.address);
    expect(l?.['binding-state'], kind).toBe('active');
    expect(l?.['hw-address'], kind).toBe(c.mac);
    // ISC dhcpd's log lines, which operators grep for.
    const log = logMessages(h);
    expect(log, kind).toContain(`DHCPDISCOVER from ${c.mac} via ${via}`);
    expect(
      log.some((m) => m.startsWith(`DHCPACK on ${lease.address} to ${c.mac}`) && m.endsWith(`via ${via}`)),
      `${kind}: DHCPACK line\n${log.slice(-10).join('\n')}`,
    ).toBe(true);
    addresses.push(lease.address);
  }
  expect(new Set(addresses).size).toBe(3);
  return addresses;
}

describe.skipIf(skip)('hadhcp through ISC dhcrelay', () => {
  const lab = useLab();

  it('dhclient, udhcpc and dhcpcd each bind a distinct pool address; replies go back to the relay', async () => {
    const topo = await relayTopology(lab(), { clients: 3 });
    const pcap = lab().file('relay-srv.pcap');
    const cap = await startCapture(lab(), 'srv', 'eth0', pcap, ['udp', 'port', '67']);
    const h = await startHadhcp(lab(), 'srv', { conf: sampleDhcpdConf() });
    const addresses = await bindAll(lab, topo.clients, h, '10.1.0.1');
    await stopCapture(cap);
    // Every ACK left the server for the relay (giaddr 10.1.0.1, port 67), one per client.
    const acks = await tshark(lab(), pcap, 'dhcp.option.dhcp == 5 && ip.src == 10.0.0.2', [
      'ip.dst',
      'udp.dstport',
      'dhcp.ip.relay',
      'dhcp.ip.your',
    ]);
    expect(acks.map((a) => a.slice(0, 3))).toEqual(addresses.map(() => ['10.1.0.1', '67', '10.1.0.1']));
    expect(acks.map((a) => a[3]).sort()).toEqual([...addresses].sort());
  });
});

describe.skipIf(skip)('hadhcp directly attached (no relay)', () => {
  const lab = useLab();

  it('dhclient, udhcpc and dhcpcd bind on the server bridge; replies to address-less clients are raw frames', async () => {
    const topo = await directTopology(lab(), { clients: 3 });
    const pcap = lab().file('direct.pcap');
    const cap = await startCapture(lab(), 'srv', 'eth0', pcap, ['udp', 'port', '67', 'or', 'port', '68']);
    const h = await startHadhcp(lab(), 'srv', { conf: sampleDhcpdConf() });
    const addresses = await bindAll(lab, topo.clients, h, 'eth0');
    await stopCapture(cap);
    // One DISCOVER per client: each was answered the first time, including the very first frame after the daemon
    // started (libpcap used to lose it).
    const discovers = await tshark(lab(), pcap, 'dhcp.option.dhcp == 1', ['dhcp.hw.mac_addr']);
    expect(discovers.map((r) => r[0]!.split(',')[0])).toEqual(topo.clients.map((c) => c.mac));
    // Each OFFER and ACK went out from the server at 10.1.0.1:67 to a client port 68, at layer 2 to the client's MAC
    // (unicast to yiaddr) or broadcast, as RFC 2131 4.1 says for a client without an address.
    const replies = await tshark(lab(), pcap, 'ip.src == 10.1.0.1 && udp.srcport == 67 && dhcp', [
      'dhcp.option.dhcp',
      'eth.dst',
      'ip.dst',
      'udp.dstport',
      'dhcp.ip.your',
      'dhcp.hw.mac_addr',
    ]);
    for (const [i, addr] of addresses.entries()) {
      const mac = topo.clients[i]!.mac;
      const mine = replies.filter((r) => r[5] === mac);
      expect(mine.map((r) => r[0]).sort(), mac).toEqual(['2', '5']);
      for (const r of mine) {
        expect(r[3], mac).toBe('68');
        expect(r[4], mac).toBe(addr);
        expect([`${mac}|${addr}`, 'ff:ff:ff:ff:ff:ff|255.255.255.255'], mac).toContain(`${r[1]}|${r[2]}`);
      }
    }
  });
});
