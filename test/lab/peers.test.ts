// Proves the lab helpers against real peers only (no hadhcp): the topologies the hadhcp lab tests reuse.
import { describe, expect, it } from 'vitest';
import {
  directTopology,
  dhcpdStarter,
  keaStarter,
  relayTopology,
  requireRoot,
  runClient,
  startCapture,
  startKeepalived,
  stopCapture,
  useLab,
  type ClientKind,
} from './lib/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { formatIp4, formatMac } from '../../packages/common/src/index.js';
import { BindingState, isKeaLeaseFile, parseKeaLeases4 } from '../../packages/leases/src/index.js';

const skip = requireRoot({
  commands: ['dhcpd', 'dhcrelay', 'dhclient', 'udhcpc', 'dhcpcd', 'tcpdump', 'tshark'],
});
const KINDS: ClientKind[] = ['dhclient', 'udhcpc', 'dhcpcd'];
const POOL = /^10\.1\.0\.(5\d|[6-9]\d)$/;

describe.skipIf(skip)('relay topology with ISC dhcpd', () => {
  const lab = useLab();

  it('dhclient, udhcpc and dhcpcd each bind a distinct pool address through dhcrelay', async () => {
    const topo = await relayTopology(lab(), { server: dhcpdStarter(), clients: 3 });
    const pcap = lab().file('server-lan.pcap');
    const cap = await startCapture(lab(), 'srv', 'eth0', pcap, ['udp', 'port', '67']);

    const leases = [];
    for (const [i, kind] of KINDS.entries()) {
      const c = topo.clients[i]!;
      const lease = await runClient(kind, lab(), c.ns, c.ifName, { hostname: `lab-${kind}` });
      expect(lease.address, kind).toMatch(POOL);
      // The hook (or dhcpcd itself) configured the address inside the client's namespace only.
      expect(await lab().ipv4(c.ns, c.ifName), kind).toContain(`${lease.address}/24`);
      leases.push(lease);
    }
    expect(new Set(leases.map((l) => l.address)).size).toBe(3);

    // dhcpd saw each request relayed (giaddr 10.1.0.1), not broadcast on its own segment.
    const srv = topo.servers[0]!.proc;
    await srv.waitForLine(/DHCPACK on 10\.1\.0\.\d+ to 02:00:00:00:01:03 (\(.*\) )?via 10\.1\.0\.1/, 5000);
    for (const c of topo.clients) expect(srv.output()).toContain(`to ${c.mac}`);

    await stopCapture(cap);
    // The capture helper saw the relayed ACKs on the server segment, one per client address.
    const acks = await lab().must(undefined, 'tshark', [
      '-r',
      pcap,
      '-Y',
      'dhcp.option.dhcp == 5 && dhcp.ip.relay == 10.1.0.1',
      '-T',
      'fields',
      '-e',
      'dhcp.ip.your',
    ]);
    expect(acks.stdout.trim().split('\n').sort()).toEqual(leases.map((l) => l.address).sort());

    // The host's files were not touched by the clients.
    expect(existsSync(`/var/lib/dhcpcd/${topo.clients[2]!.ifName}.lease`)).toBe(false);
  });
});

describe.skipIf(skip)('direct topology with ISC dhcpd', () => {
  const lab = useLab();

  it('a client on the server bridge binds without a relay', async () => {
    const topo = await directTopology(lab(), { server: dhcpdStarter(), clients: 1 });
    const c = topo.clients[0]!;
    const lease = await runClient('udhcpc', lab(), c.ns, c.ifName);
    expect(lease.address).toMatch(POOL);
    await topo.server!.proc.waitForLine(
      /DHCPACK on 10\.1\.0\.\d+ to 02:00:00:00:01:01 (\(.*\) )?via eth0/,
      5000,
    );
  });
});

describe.skipIf(skip || !!requireKea())('relay topology with Kea', () => {
  const lab = useLab();

  it("udhcpc binds through the relay from kea-dhcp4; Kea's lease file imports as that client's active lease", async () => {
    const topo = await relayTopology(lab(), { server: keaStarter(), clients: 1 });
    const c = topo.clients[0]!;
    const lease = await runClient('udhcpc', lab(), c.ns, c.ifName);
    expect(lease.address).toMatch(POOL);
    // The migration path from Kea (`hadhcp leases import kea-leases4.csv`): Kea's own file, as Kea 2.2 wrote it.
    const text = readFileSync(topo.servers[0]!.leasePath, 'utf8');
    expect(isKeaLeaseFile(text)).toBe(true);
    const read = parseKeaLeases4(text, 'kea-leases4.csv');
    expect(read.diagnostics).toEqual([]);
    const mine = read.leases.find((l) => formatIp4(l.address) === lease.address);
    expect(mine?.state).toBe(BindingState.ACTIVE);
    const link = await lab().must(c.ns, 'ip', ['link', 'show', 'dev', c.ifName]);
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(link.stdout)?.[1];
    expect(formatMac(mine!.hwAddr!)).toBe(mac);
    expect(mine!.ends).toBeGreaterThan(Date.now() / 1000);
  });
});

describe.skipIf(skip)('keepalived pair on the server segment', () => {
  const lab = useLab();

  it('the higher priority router holds the VIP and the other takes it when the master dies', async () => {
    const topo = await relayTopology(lab(), { routers: ['srv', 'srv2'], clients: 0 });
    const conf = (prio: number): string => `global_defs { router_id lab${prio} }
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${prio}
  advert_int 1
  authentication { auth_type PASS
    auth_pass 1111 }
  virtual_ipaddress { 10.0.0.10/24 dev eth0 }
}
`;
    const a = await startKeepalived(lab(), 'srv', { conf: conf(150) });
    await startKeepalived(lab(), 'srv2', { conf: conf(100) });
    await a.waitForLine(/Entering MASTER STATE/, 10_000);
    expect(await lab().ipv4('srv', 'eth0')).toContain('10.0.0.10/24');
    expect(await lab().ipv4('srv2', 'eth0')).not.toContain('10.0.0.10/24');

    a.kill('SIGKILL');
    await a.exit;
    // RFC 3768 6.4.2: Master_Down_Interval = 3 * 1 s + skew; allow generous slack on a loaded CI box.
    const deadline = Date.now() + 10_000;
    while (!(await lab().ipv4('srv2', 'eth0')).includes('10.0.0.10/24')) {
      if (Date.now() > deadline) throw new Error('backup never took the VIP');
      await new Promise((r) => setTimeout(r, 200));
    }
    void topo;
  });
});

function requireKea(): string | undefined {
  return existsSync('/usr/sbin/kea-dhcp4') ? undefined : 'kea-dhcp4 not installed';
}
