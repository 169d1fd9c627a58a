// Two routers each running one hadhcp (VRRP + DHCP) behind a relay whose helper address is the VIP:
// the supervisor's promises — the VIP holder answers, with the VIP as server identifier; the other is silent;
// when the holder dies the other takes the VIP and serves.
import { describe, expect, it } from 'vitest';
import { controlRequest } from '../../packages/control/src/index.js';
import {
  hadhcpStarter,
  relayTopology,
  requireRoot,
  runClient,
  sampleDhcpdConf,
  startCapture,
  stopCapture,
  useLab,
  type HadhcpHandle,
  type Lab,
  type RouterSpot,
} from './lib/index.js';
import { PAIR_VIP, pairKeepalivedConf } from './lib/pair-lab.js';

const skip = requireRoot({ commands: ['dhcrelay', 'udhcpc', 'tcpdump', 'tshark'] });
const VIP = PAIR_VIP;

const starter = (lab: Lab, at: RouterSpot): Promise<HadhcpHandle> =>
  hadhcpStarter({ dhcpd: sampleDhcpdConf(), keepalived: pairKeepalivedConf(at.index === 0 ? 150 : 100) })(
    lab,
    at,
  );

async function holdsVip(lab: Lab, ns: string): Promise<boolean> {
  return (await lab.ipv4(ns, 'eth0')).some((a) => a.startsWith(`${VIP}/`));
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

describe.skipIf(skip)('supervisor: VRRP and DHCP in one daemon on two routers', () => {
  const lab = useLab();

  it('the VIP holder serves with the VIP as server identifier; after kill -9 the other router serves', async () => {
    const topo = await relayTopology(lab(), {
      routers: ['rta', 'rtb'],
      relayTo: [VIP],
      server: starter,
      clients: 2,
    });
    const [a, b] = topo.servers as [HadhcpHandle, HadhcpHandle];

    // Router A (priority 150) wins; the VIP is on exactly one router.
    await waitFor('the VIP on router A', () => holdsVip(lab(), 'rta'), 10_000);
    expect(await holdsVip(lab(), 'rtb')).toBe(false);

    const pcap = lab().file('relay-side.pcap');
    const cap = await startCapture(lab(), 'relay', 'eth0', pcap, ['udp', 'port', '67']);
    const c1 = topo.clients[0]!;
    const l1 = await runClient('udhcpc', lab(), c1.ns, c1.ifName);
    expect(l1.address).toMatch(/^10\.1\.0\./);
    // The server identifier the client saw is the VIP, so its renewals follow the VIP, not router A.
    expect(l1.proc.output()).toContain(`obtained from ${VIP}`);
    await a.proc.waitForLine(new RegExp(`DHCPACK on ${l1.address.replace(/\./g, '\\.')} to ${c1.mac}`), 5000);
    // RFC 2131 4.1: the replies reach the relay from the address it sent to, the VIP, not router A's own.
    await stopCapture(cap);
    const replies = await lab().must(undefined, 'tshark', [
      '-r',
      pcap,
      '-Y',
      'dhcp.type == 2',
      '-T',
      'fields',
      '-e',
      'ip.src',
    ]);
    const sources = new Set(replies.stdout.trim().split('\n'));
    expect([...sources]).toEqual([VIP]);

    const sa = (await controlRequest(a.socketPath, 'status-get')).arguments as any;
    const sb = (await controlRequest(b.socketPath, 'status-get')).arguments as any;
    expect(sa.dhcp.serving).toBe(true);
    expect(sa.dhcp.serverId).toBe(VIP);
    expect(sb.dhcp.serving).toBe(false);
    expect(sa.vrrp[0].state).toBe('MASTER');
    expect(sb.vrrp[0].state).toBe('BACKUP');

    // kill -9: router B takes the VIP within Master_Down_Interval (3 s + skew for priority 100, ~0.61 s) + slack.
    a.proc.kill('SIGKILL');
    const took = await waitFor('the VIP on router B', () => holdsVip(lab(), 'rtb'), 8_000);
    expect(took).toBeLessThan(5_000);

    const c2 = topo.clients[1]!;
    const l2 = await runClient('udhcpc', lab(), c2.ns, c2.ifName);
    expect(l2.proc.output()).toContain(`obtained from ${VIP}`);
    await b.proc.waitForLine(new RegExp(`DHCPACK on ${l2.address.replace(/\./g, '\\.')} to ${c2.mac}`), 5000);
    // The VIP killed with router A's process is still configured there (kill -9 leaves it): a restart cleans it.
    expect(await holdsVip(lab(), 'rta')).toBe(true);
    const a2 = await starter(lab(), topo.routers[0]!);
    // A removes the leftover, then (higher priority, preempt on) takes the VIP back from B.
    await waitFor('router B to give the VIP back', async () => !(await holdsVip(lab(), 'rtb')), 10_000);
    expect(await holdsVip(lab(), 'rta')).toBe(true);
    const sa2 = (await controlRequest(a2.socketPath, 'status-get')).arguments as any;
    expect(sa2.vrrp[0].state).toBe('MASTER');

    // A SIGHUP with keepalived.conf unchanged (an operator reloading dhcpd.conf) must not move the VIP.
    const before = a2.proc.output().length;
    a2.proc.kill('SIGHUP');
    await a2.proc.waitForLine(/configuration reloaded/, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await holdsVip(lab(), 'rta')).toBe(true);
    expect(await holdsVip(lab(), 'rtb')).toBe(false);
    expect(a2.proc.output().slice(before)).not.toMatch(/Entering BACKUP STATE|sent 0 priority/);
  });
});
