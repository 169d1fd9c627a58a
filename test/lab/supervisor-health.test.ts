// DHCP health feeds the election: when router A's lease store cannot write (its disk is full), A sends no
// lease it could not store, says why in its status, and gives the VIP to router B, which serves the client.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { controlRequest } from '../../packages/control/src/index.js';
import {
  hadhcpStarter,
  relayTopology,
  requireRoot,
  runClient,
  sampleDhcpdConf,
  startDhcrelay,
  useLab,
  type HadhcpHandle,
  type Lab,
  type RouterSpot,
} from './lib/index.js';

const skip = requireRoot({ commands: ['dhcrelay', 'udhcpc', 'perfdhcp', 'mount', 'umount'] });
const VIP = '10.0.0.10';

/** The lab's sample plus a pool on the routers' own segment for perfdhcp's relayed load (it cannot answer ping). */
const DHCPD = sampleDhcpdConf().replace(
  'subnet 10.0.0.0 netmask 255.255.255.0 {\n}',
  'subnet 10.0.0.0 netmask 255.255.255.0 {\n  ping-check false;\n  range 10.0.0.100 10.0.0.250;\n}',
);

const keepalived = (priority: number) => `vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    ${VIP}/24 dev eth0
  }
}
`;

async function holdsVip(lab: Lab, ns: string): Promise<boolean> {
  return (await lab.ipv4(ns, 'eth0')).some((a) => a.startsWith(`${VIP}/`));
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skip)('supervisor: DHCP health and the VRRP election', () => {
  const lab = useLab();

  it('a router whose lease store fails withholds the reply it could not store, says why, and gives the VIP up', async () => {
    const starter = async (l: Lab, at: RouterSpot): Promise<HadhcpHandle> => {
      if (at.index === 0) {
        // Router A keeps its leases on a 1 MiB tmpfs, so the test can fill the disk under it.
        l.mountTmpfs(`hadhcp-${at.ns}`, '1m'); // the lab unmounts it in its cleanup
      }
      return hadhcpStarter({ dhcpd: DHCPD, keepalived: keepalived(at.index === 0 ? 150 : 100) })(l, at);
    };
    const topo = await relayTopology(lab(), {
      routers: ['rta', 'rtb'],
      relayTo: [VIP],
      server: starter,
      clients: 2,
    });
    const [a, b] = topo.servers as [HadhcpHandle, HadhcpHandle];
    await until('router A to hold the VIP', () => holdsVip(lab(), 'rta'), 10_000);

    const c1 = topo.clients[0]!;
    expect((await runClient('udhcpc', lab(), c1.ns, c1.ifName)).address).toMatch(/^10\.1\.0\./);

    // Fill A's disk, then bring new clients until the page the journal still had is used up and a write fails.
    try {
      writeFileSync(`${a.stateDir}/filler`, Buffer.alloc(2 << 20));
    } catch {
      /* ENOSPC is the point: the disk is now full */
    }
    // Load from the relay's server-side address: perfdhcp acts as a relay (giaddr 10.0.0.1, whose subnet has a
    // pool in this test's config) while dhcrelay steps aside.
    topo.relay.proc!.kill('SIGTERM');
    await topo.relay.proc!.exit;
    const load = lab().spawn('relay', 'perfdhcp', [
      '-4',
      '-l',
      '10.0.0.1',
      '-r',
      '50',
      '-R',
      '400',
      '-p',
      '6',
      VIP,
    ]);
    await a.proc.waitForLine(/not sent, the lease could not be stored/, 10_000);
    load.kill('SIGINT');
    await load.exit;
    await startDhcrelay(lab(), 'relay', { downstream: ['eth1'], upstream: ['eth0'], servers: [VIP] });

    // A said which reply did not leave and why, and gave the VIP to B, which serves.
    await until('router B to take the VIP', () => holdsVip(lab(), 'rtb'), 10_000);
    expect(await holdsVip(lab(), 'rta')).toBe(false);
    const c2 = topo.clients[1]!;
    const l2 = await runClient('udhcpc', lab(), c2.ns, c2.ifName);
    await b.proc.waitForLine(new RegExp(`DHCPACK on ${l2.address.replace(/\./g, '\\.')} to ${c2.mac}`), 5000);

    const st = (await controlRequest(a.socketPath, 'status-get')).arguments as {
      dhcp: { serving: boolean; reason: string; drops: Record<string, number> };
      vrrp: { state: string; effectivePriority: number }[];
    };
    expect(st.dhcp.serving).toBe(false);
    expect(st.dhcp.reason).toMatch(/lease store failed/);
    expect(st.dhcp.drops['store-failed']).toBeGreaterThanOrEqual(1);
    expect(st.vrrp[0]!.state).toBe('BACKUP');
    expect(st.vrrp[0]!.effectivePriority).toBeLessThan(100);
  });
});
