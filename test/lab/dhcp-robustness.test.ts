// The built daemon under stress: kill -9 in the middle of a perfdhcp run loses no lease it acknowledged on the wire,
// and malformed packets from the server segment are dropped and counted while a real client still binds.
// One topology: the relay topology plus a `load` host on the server segment (perfdhcp acting as a relay from
// 10.2.0.1, and the sender of hand-made bad packets from 10.0.0.9).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  directTopology,
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
  bootRequest,
  ctl,
  logMessages,
  sendDatagrams,
  startHadhcp,
  stats,
  stopHadhcp,
  tshark,
  until,
  type Hadhcp,
} from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['dhcrelay', 'udhcpc', 'perfdhcp', 'tcpdump', 'tshark'] });

/** The sample configuration plus a large segment behind the `load` relay (10.2.0.1). */
const LOAD_CONF = sampleDhcpdConf(`
subnet 10.2.0.0 netmask 255.255.0.0 {
  # perfdhcp's clients cannot answer ping; the run is about durability, not ping-check.
  ping-check false;
  range 10.2.1.0 10.2.60.255;
}
`);

const BAD_MAC = '02:00:00:00:0b:ad';

/**
 * Waits until the bad packets, each kind sent `rounds` times, have all been counted, then asserts each reason
 * counted once per packet: `rounds`, or 2 × `rounds` for `twice`, the reason two of the kinds sent fall under.
 */
async function dropsCounted(
  h: Hadhcp,
  reasons: string[],
  rounds: number,
  twice: string,
): Promise<Record<string, number>> {
  const st = await until('all bad packets counted', async () => {
    const s = await stats(h);
    return (s['drop.hops-exceeded'] ?? 0) >= rounds && (s[`drop.${twice}`] ?? 0) >= 2 * rounds
      ? s
      : undefined;
  });
  for (const reason of reasons)
    expect(st[`drop.${reason}`], reason).toBe(reason === twice ? 2 * rounds : rounds);
  return st;
}

/** One packet per malformed kind, keyed by the drop reason it must be counted under. */
function badPackets(giaddr: string): Record<string, Uint8Array> {
  const base = { giaddr, chaddr: BAD_MAC };
  const DISCOVER = [53, 1, 1];
  const file = new Array(128).fill(0);
  file.splice(0, 4, 52, 1, 3, 255); // option 52 inside the file field: a loop (RFC 2131 4.1)
  return {
    'truncated-header': bootRequest({ ...base, options: DISCOVER }).slice(0, 100),
    'bad-option-length': bootRequest({ ...base, options: [53, 2, 1, 1, 255] }),
    'option-overrun': bootRequest({ ...base, options: [...DISCOVER, 12, 200, 0x61, 0x62] }),
    'overload-loop': bootRequest({ ...base, options: [...DISCOVER, 52, 1, 1, 255], file }),
    'hops-exceeded': bootRequest({ ...base, hops: 17, options: [...DISCOVER, 255] }),
  };
}

describe.skipIf(skip)('robustness (relayed)', () => {
  const lab = useLab();
  let topo: RelayTopology<unknown>;
  const daemons: Hadhcp[] = [];
  const procs: LabProcess[] = [];

  beforeAll(async () => {
    topo = await relayTopology(lab(), { clients: 1 });
    await lab().addNamespace('load');
    await lab().link('load', 'eth0', topo.serverLan, 'l0');
    await lab().addr('load', 'eth0', '10.2.0.1/16');
    await lab().addr('load', 'eth0', '10.0.0.9/24');
    await lab().addr('srv', 'eth0', '10.2.0.2/16');
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop(2000);
    for (const d of daemons.splice(0)) if (d.proc.running) await stopHadhcp(d);
  });

  it('kill -9 under perfdhcp load: every DHCPACK seen on the wire is a lease after the restart', async () => {
    const pcap = lab().file('load.pcap');
    // Only what the server sends: its OFFERs and ACKs.
    const cap = await startCapture(lab(), 'srv', 'eth0', pcap, ['udp', 'src', 'port', '67']);
    procs.push(cap);
    const first = await startHadhcp(lab(), 'srv', { conf: LOAD_CONF, name: 'load', fresh: true });
    daemons.push(first);
    // perfdhcp as a relay (giaddr = its address on eth0) doing DORA for up to 5000 simulated clients, 300/s for 6 s.
    const perf = lab().spawn('load', 'perfdhcp', [
      '-4',
      '-l',
      'eth0',
      '-r',
      '300',
      '-R',
      '5000',
      '-p',
      '6',
      '10.2.0.2',
    ]);
    procs.push(perf);
    await until(
      '300 leases acknowledged',
      async () =>
        logMessages(first).filter((m) => m.startsWith('DHCPACK on 10.2.')).length >= 300 ? true : undefined,
      15_000,
    );
    first.proc.kill('SIGKILL');
    expect((await first.proc.exit).signal).toBe('SIGKILL');
    const ackedBeforeKill = logMessages(first).filter((m) => m.startsWith('DHCPACK on 10.2.')).length;

    const second = await startHadhcp(lab(), 'srv', { conf: LOAD_CONF, name: 'load' });
    daemons.push(second);
    await perf.exit;
    await stopCapture(cap);

    const acks = await tshark(lab(), pcap, 'dhcp.option.dhcp == 5 && ip.src == 10.2.0.2', [
      'dhcp.ip.your',
      'dhcp.hw.mac_addr',
    ]);
    expect(acks.length).toBeGreaterThanOrEqual(ackedBeforeKill);
    // Each address went to one client only: a lost lease handed to someone else would show up here.
    const owner = new Map<string, string>();
    for (const [ip, mac] of acks) {
      expect(owner.get(ip!) ?? mac, ip).toBe(mac);
      owner.set(ip!, mac!);
    }
    const leases = new Map((await allLeases(second)).map((l) => [l['ip-address'], l]));
    const missing = [...owner].filter(([ip, mac]) => leases.get(ip)?.['hw-address'] !== mac);
    expect(missing, `${missing.length} of ${owner.size} ACKed leases missing after kill -9`).toEqual([]);
    for (const ip of owner.keys()) expect(leases.get(ip)?.['binding-state'], ip).toBe('active');
    // And the restarted daemon served the rest of the run.
    expect(logMessages(second).some((m) => m.startsWith('DHCPACK on 10.2.'))).toBe(true);
  });

  it('malformed packets are dropped and counted by reason while a real client binds', async () => {
    const h = await startHadhcp(lab(), 'srv', { conf: LOAD_CONF, name: 'bad', fresh: true });
    daemons.push(h);
    const relay = { giaddr: '10.1.0.1', chaddr: BAD_MAC };
    const bad = badPackets(relay.giaddr);
    // The largest datagram UDP carries (65507 octets, IP-fragmented on the way), ending in an option that overruns.
    const huge = new Uint8Array(65507);
    huge.set(bootRequest({ ...relay, options: [53, 1, 1] }));
    huge.set([12, 255, 0x61], huge.length - 3);
    const ROUNDS = 10;
    const packets: Uint8Array[] = [];
    for (let i = 0; i < ROUNDS; i++) packets.push(...Object.values(bad), huge);

    const c = topo.clients[0]!;
    const [lease] = await Promise.all([
      runClient('udhcpc', lab(), c.ns, c.ifName),
      sendDatagrams(lab(), 'load', '10.0.0.2', 67, packets, 20),
    ]);
    expect(lease.address).toMatch(/^10\.1\.0\./);
    expect(logMessages(h)).toContain(`DHCPDISCOVER from ${c.mac} via 10.1.0.1`);
    expect(logMessages(h).some((m) => m.startsWith(`DHCPACK on ${lease.address} to ${c.mac}`))).toBe(true);

    // Every bad packet counted once, under its reason (the huge ones as option overruns).
    const st = await dropsCounted(h, Object.keys(bad), ROUNDS, 'option-overrun');
    // Logged (rate limited) with the sender and the reason.
    for (const reason of Object.keys(bad))
      expect(
        logMessages(h).some((m) => m.startsWith(`dropped packet from 10.0.0.9: ${reason}`)),
        reason,
      ).toBe(true);
    // Still serving, and nothing was mistaken for a client.
    expect((await ctl(h, 'status-get')).arguments.dhcp.serving).toBe(true);
    expect(logMessages(h).some((m) => m.includes(BAD_MAC))).toBe(false);
    expect(st['drop.internal-error']).toBeUndefined();
    // The huge datagrams' fragments seen by libpcap are not counted as drops of their own.
    expect(
      Object.keys(st)
        .filter((k) => k.startsWith('drop.'))
        .sort(),
    ).toEqual(
      Object.keys(bad)
        .map((r) => `drop.${r}`)
        .sort(),
    );
  });
});

describe.skipIf(skip)('robustness (directly attached)', () => {
  const lab = useLab();

  it('malformed broadcasts on the client segment are dropped and counted once (libpcap path) while a client binds', async () => {
    const topo = await directTopology(lab(), { clients: 2 });
    const h = await startHadhcp(lab(), 'srv', { conf: sampleDhcpdConf() });
    // A misbehaving host on the client segment broadcasting as a client would (giaddr 0).
    const [good, noisy] = topo.clients as [(typeof topo.clients)[0], (typeof topo.clients)[0]];
    await lab().addr(noisy.ns, noisy.ifName, '10.1.0.200/24');
    const bad = badPackets('0.0.0.0');
    const ROUNDS = 10;
    const packets: Uint8Array[] = [];
    // Plus a runt shorter than giaddr's offset, which only the UDP socket may count.
    for (let i = 0; i < ROUNDS; i++)
      packets.push(...Object.values(bad), bootRequest({ chaddr: BAD_MAC, options: [] }).slice(0, 20));
    const [lease] = await Promise.all([
      runClient('udhcpc', lab(), good.ns, good.ifName),
      sendDatagrams(lab(), noisy.ns, '10.1.0.255', 67, packets, 20),
    ]);
    expect(lease.address).toMatch(/^10\.1\.0\.(5\d|[6-9]\d)$/);
    expect(logMessages(h)).toContain(`DHCPDISCOVER from ${good.mac} via eth0`);
    const st = await dropsCounted(h, Object.keys(bad), ROUNDS, 'truncated-header');
    expect(
      Object.keys(st)
        .filter((k) => k.startsWith('drop.'))
        .sort(),
    ).toEqual(
      Object.keys(bad)
        .map((r) => `drop.${r}`)
        .sort(),
    );
    expect(logMessages(h).some((m) => m.includes(BAD_MAC))).toBe(false);
  });
});
