// A full disk under load, and the way back. Router A keeps its leases on a 1 MiB tmpfs; perfdhcp (acting as a
// relay from the `load` host) asks for leases at 300/s through the VIP. The disk is filled: A stops acknowledging
// (no ACK without its lease on disk), says why, counts only stored leases, and gives the VIP to router B. The
// filler is removed: A's store recovers by itself, A serves again and takes the VIP back. After a restart, every
// ACK A put on the wire is one of its leases.
import { rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  relayTopology,
  requireRoot,
  sampleDhcpdConf,
  startCapture,
  stopCapture,
  useLab,
  type Lab,
  type RouterSpot,
} from './lib/index.js';
import {
  allLeases,
  ctl,
  leaseByIp,
  logMessages,
  startHadhcp,
  stopHadhcp,
  tshark,
  until,
  waitForLog,
  type Hadhcp,
} from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['dhcrelay', 'perfdhcp', 'tcpdump', 'tshark', 'mount', 'umount'] });
const VIP = '10.0.0.10';

/** The lab's sample plus the segment behind perfdhcp's relay address (its clients cannot answer ping). */
const DHCPD = sampleDhcpdConf(`
subnet 10.2.0.0 netmask 255.255.0.0 {
  ping-check false;
  range 10.2.1.0 10.2.60.255;
}
`);

const keepalived = (priority: number) => `vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 53
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    ${VIP}/24 dev eth0
  }
}
`;

interface Status {
  dhcp: { serving: boolean; reason?: string; leases: Record<string, number>; drops: Record<string, number> };
  vrrp: { state: string }[];
  store: { leases: number; failed?: string; recoveries: number };
}

const status = async (h: Hadhcp): Promise<Status> => (await ctl(h, 'status-get')).arguments as Status;

const ACK = /^DHCPACK on (10\.2\.\d+\.\d+) to ([0-9a-f:]+) /;
const UNSENT = /: not sent, the lease could not be stored/;
/** The ACKs A sent, as "address mac": a DHCPACK line is logged only for an ACK that leaves (else "not sent"). */
const acked = (h: Hadhcp): string[] =>
  logMessages(h)
    .filter((m) => ACK.test(m) && !UNSENT.test(m))
    .map((m) => m.match(ACK)!.slice(1, 3).join(' '));
const ackedAddresses = (h: Hadhcp): Set<string> => new Set(acked(h).map((a) => a.split(' ')[0]!));

async function holds(lab: Lab, ns: string): Promise<true | undefined> {
  return (await lab.ipv4(ns, 'eth0')).some((a) => a.startsWith(`${VIP}/`)) ? true : undefined;
}

describe.skipIf(skip)('a full disk under load', () => {
  const lab = useLab();

  it('stops acknowledging without losing an ACK, gives the VIP up, recovers by itself and takes it back', async () => {
    const server = async (l: Lab, at: RouterSpot): Promise<Hadhcp> => {
      // perfdhcp's replies go to its relay address on 10.2.0.0/16, which the routers reach directly.
      await l.addr(at.ns, 'eth0', `10.2.0.${2 + at.index}/16`);
      if (at.index === 0) {
        l.mountTmpfs(`hadhcp-${at.ns}`, '1m'); // the lab unmounts it in its cleanup
      }
      const conf = l.file(`${at.ns}.keepalived.conf`, keepalived(at.index === 0 ? 150 : 100));
      return startHadhcp(l, at.ns, { conf: DHCPD, args: ['--keepalived', conf] });
    };
    const topo = await relayTopology(lab(), { routers: ['rta', 'rtb'], relayTo: [VIP], server, clients: 0 });
    const a = topo.servers[0]!;
    await lab().addNamespace('load');
    await lab().link('load', 'eth0', topo.serverLan, 'l0');
    await lab().addr('load', 'eth0', '10.2.0.1/16');
    await lab().addr('load', 'eth0', '10.0.0.9/24');
    await until('router A to hold the VIP', () => holds(lab(), 'rta'));
    const aMac = (await lab().must('rta', 'cat', ['/sys/class/net/eth0/address'])).stdout.trim();

    // Every reply reaching the load host; A's are told apart by their Ethernet source.
    const pcap = lab().file('disk-full.pcap');
    const cap = await startCapture(lab(), 'load', 'eth0', pcap, ['udp', 'src', 'port', '67']);
    // DORA for up to 5000 simulated clients at 300/s, through the VIP, until stopped.
    const perf = lab().spawn('load', 'perfdhcp', ['-4', '-l', 'eth0', '-r', '300', '-R', '5000', VIP]);
    let ackedBeforeFull = 0;
    let ackedBeforeStop = 0;
    try {
      await until('A to acknowledge 200 leases', async () => (acked(a).length >= 200 ? true : undefined));
      ackedBeforeFull = ackedAddresses(a).size;

      // Fill A's disk. The journal's last page still takes a few records; the next append fails.
      const filler = `${a.stateDir}/filler`;
      try {
        writeFileSync(filler, Buffer.alloc(2 << 20));
      } catch {
        /* ENOSPC: the disk is full, which is the point */
      }
      await waitForLog(a, /^lease store write failed, no more leases will be acknowledged: .*ENOSPC/);
      await waitForLog(a, UNSENT);
      await until('router B to take the VIP', () => holds(lab(), 'rtb'));
      // A retries while the disk is full, and the retry fails: a full disk is not taken for a writable one.
      await waitForLog(a, /^lease store: recovery attempt 1 failed \(ENOSPC/);

      const failed = await status(a);
      expect(failed.dhcp.serving).toBe(false);
      expect(failed.dhcp.reason).toMatch(/lease store failed: .*ENOSPC.*\(retrying: \d+ attempt/);
      expect(failed.dhcp.drops['store-failed']).toBeGreaterThanOrEqual(1);
      expect(failed.vrrp[0]!.state).toBe('BACKUP');
      expect(failed.store.failed).toMatch(/ENOSPC/);
      // Only what is on disk counts: the active leases are exactly the acknowledged ones, and none it refused.
      const ackedSoFar = ackedAddresses(a);
      expect(failed.dhcp.leases).toEqual({ active: ackedSoFar.size });
      expect(failed.store.leases).toBe(ackedSoFar.size);
      const refused = logMessages(a)
        .filter((m) => UNSENT.test(m))
        .map((m) => m.match(ACK)?.[1])
        .filter((ip): ip is string => ip !== undefined && !ackedSoFar.has(ip));
      expect(refused.length).toBeGreaterThan(0);
      for (const ip of refused) expect((await leaseByIp(a, ip))?.['binding-state'], ip).not.toBe('active');

      // Space again: A recovers by itself, serves again and, with its priority back, takes the VIP back.
      rmSync(filler);
      await waitForLog(a, /^lease store writable again: DHCP serving again/, 40_000);
      await waitForLog(a, /^DHCP healthy again .*VRRP priority restored/);
      await until('router A to hold the VIP again', () => holds(lab(), 'rta'), 15_000);
      const before = acked(a).length;
      await until('A to acknowledge again', async () => (acked(a).length >= before + 100 ? true : undefined));
      const back = await status(a);
      expect(back.dhcp.serving).toBe(true);
      expect(back.store).toMatchObject({ recoveries: 1 });
      expect(back.store.failed).toBeUndefined();
      ackedBeforeStop = acked(a).length;
    } finally {
      perf.kill('SIGINT');
      await perf.exit;
      await stopCapture(cap);
    }

    // No ACK while the store was failed: none logged between the failure and the recovery, and the ACKs on the
    // wire are the logged ones (all of them, but for those logged after the capture stopped).
    const log = logMessages(a);
    const down = log.findIndex((m) => /^lease store write failed/.test(m));
    const up = log.findIndex((m) => /^lease store writable again/.test(m));
    expect(down).toBeGreaterThan(0);
    expect(log.slice(down, up).filter((m) => ACK.test(m) && !UNSENT.test(m))).toEqual([]);
    const wire = await tshark(lab(), pcap, `dhcp.option.dhcp == 5 && eth.src == ${aMac}`, [
      'dhcp.ip.your',
      'dhcp.hw.mac_addr',
    ]);
    const logged = acked(a);
    expect(wire.length).toBeGreaterThanOrEqual(ackedBeforeStop);
    expect(wire.length).toBeLessThanOrEqual(logged.length);
    const loggedSet = new Set(logged);
    expect(wire.filter(([ip, mac]) => !loggedSet.has(`${ip} ${mac}`))).toEqual([]);

    // Restart A on the same disk: every address it acknowledged on the wire is its client's active lease.
    await stopHadhcp(a);
    const again = await startHadhcp(lab(), 'rta', { conf: DHCPD });
    const owner = new Map<string, string>();
    for (const [ip, mac] of wire) {
      expect(owner.get(ip!) ?? mac, ip).toBe(mac);
      owner.set(ip!, mac!);
    }
    expect(owner.size).toBeGreaterThan(ackedBeforeFull);
    const leases = new Map((await allLeases(again)).map((l) => [l['ip-address'], l]));
    const missing = [...owner].filter(
      ([ip, mac]) => leases.get(ip)?.['hw-address'] !== mac || leases.get(ip)?.['binding-state'] !== 'active',
    );
    expect(missing, `${missing.length} of ${owner.size} ACKed leases missing after the restart`).toEqual([]);
    await stopHadhcp(again);
  });
});
