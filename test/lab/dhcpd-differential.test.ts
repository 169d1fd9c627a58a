// Issue 10's differential lab with real clients: one dhcpd.conf as a site writes it (lib/fixtures/differential/
// dhcpd.conf: classes by vendor class and by MAC, pools per class, an iPXE `if` chain, an option space sent as
// option 43, a computed option, `set` in pools and `on commit { log(...) }`) is served by ISC dhcpd 4.4.3 and then by
// hadhcp, fresh, on the same address in the same namespaces: directly attached (10.1.0.1), then behind ISC dhcrelay
// (10.0.0.2, giaddr 10.1.0.1). The same dhclient, udhcpc and dhcpcd clients,
// sending vendor classes, user classes and client architectures, get a lease from each. tcpdump in the server's
// namespace records the replies; each client's DHCPACK from ISC and from hadhcp are compared field by field and option
// by option (wire order and bytes), and so are the `on commit` log lines.
//
// Addresses are compared by pool: which free address a pool hands out first is the server's choice (RFC 2131
// 4.3.1). The one accepted difference, asserted below, is the conformance lab's "T1/T2 sent unasked": hadhcp sends
// options 58/59 (RFC 2131 4.4.5's 0.5 and 0.875 of the lease), ISC only when configured.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatIp4, pcapRecordToEthernet, readPcap } from '../../packages/common/src/index.js';
import {
  decodeDhcp,
  getMessageType,
  isWireError,
  MessageType,
  parseUdpFrame,
  type DhcpMessage,
} from '../../packages/dhcp/src/index.js';
import { sleep, startHadhcp, stopHadhcp, until } from './lib/dhcp-helpers.js';
import {
  directTopology,
  relayTopology,
  requireRoot,
  runClient,
  startCapture,
  startDhcpd,
  stopCapture,
  useLab,
  type ClientKind,
  type ClientLease,
  type ClientOptions,
  type ClientSpot,
  type Lab,
} from './lib/index.js';

const skip = requireRoot({ commands: ['dhcpd', 'dhcrelay', 'dhclient', 'udhcpc', 'dhcpcd', 'tcpdump'] });
const CONF = readFileSync(new URL('./lib/fixtures/differential/dhcpd.conf', import.meta.url), 'utf8');

/** The fixture's pools, by the name its `set pool-name` gives them. */
const POOLS: Record<string, [number, number]> = {
  general: [50, 99],
  phones: [100, 119],
  pxe: [120, 139],
  printers: [140, 149],
};

const PXE_EFI = 'PXEClient:Arch:00007:UNDI:003016';
const PXE_BIOS = 'PXEClient:Arch:00000:UNDI:002001';

interface Case {
  name: string;
  kind: ClientKind;
  opts: ClientOptions;
  /** What the fixture means for this client (checked on ISC's reply first, so the expectation is ISC's). */
  pool: keyof typeof POOLS;
  file: string;
  /** Options expected in the ACK, code -> text value. */
  text?: Record<number, string>;
  /** Options configured for the client that it must not get (it did not ask for them). */
  absent?: number[];
}

// In client order: cli1 .. cli8 (MACs 02:00:00:00:01:01 ..). cli5's MAC is the fixture's printer subclass.
const CASES: Case[] = [
  {
    name: 'dhclient as iPXE on EFI (user class "iPXE" wins over arch 7)',
    kind: 'dhclient',
    opts: { vendorClass: PXE_EFI, userClass: 'iPXE', clientArch: 7, request: [15, 66, 67] },
    pool: 'pxe',
    file: 'http://10.1.0.80/boot.ipxe',
    text: { 15: 'boot.lab.example' },
  },
  {
    name: 'udhcpc as EFI PXE firmware (-V, -x 0x5d:0007)',
    kind: 'udhcpc',
    opts: { vendorClass: PXE_EFI, clientArch: 7, request: [66, 67] },
    pool: 'pxe',
    file: 'ipxe.efi',
    // Its host declaration (no fixed address) gives the domain name, over the pxe pool's; named by its MAC.
    text: { 15: 'efi-box.lab.example', 12: 'pc-0-1-2' },
  },
  {
    name: 'udhcpc as iPXE on BIOS (-x 0x4d:"iPXE", arch 0)',
    kind: 'udhcpc',
    opts: { vendorClass: PXE_BIOS, userClass: 'iPXE', clientArch: 0 },
    pool: 'pxe',
    file: 'http://10.1.0.80/boot.ipxe',
  },
  {
    // dhcpcd sends RFC 3004's user class, 04 "iPXE": not equal to the text "iPXE", so the chain's else branch.
    name: 'dhcpcd as BIOS PXE with --userclass iPXE (RFC 3004 form)',
    kind: 'dhcpcd',
    opts: { vendorClass: PXE_BIOS, userClass: 'iPXE', request: [15] },
    pool: 'pxe',
    file: 'undionly.kpxe',
    text: { 15: 'boot.lab.example' },
  },
  {
    name: 'dhclient on the printer subclass MAC (match hardware)',
    kind: 'dhclient',
    opts: { request: [15] },
    pool: 'printers',
    file: '',
    text: { 15: 'printers.lab.example' },
  },
  {
    name: 'dhcpcd as an ACME phone (-i ACME-SIP-T46): option 43 from the ACME space, computed option 66',
    kind: 'dhcpcd',
    opts: { vendorClass: 'ACME-SIP-T46', request: [43, 66] },
    pool: 'phones',
    file: '',
    text: { 66: 't46.tftp.lab.example' },
  },
  {
    // Asks for neither 43 nor 66: only what it asks for, as ISC sends it.
    name: 'udhcpc as an ACME phone (-V ACME-SIP-T48) that does not ask for option 43',
    kind: 'udhcpc',
    opts: { vendorClass: 'ACME-SIP-T48' },
    pool: 'phones',
    file: '',
    absent: [43, 66],
  },
  {
    name: 'udhcpc with its own vendor class: no class, the general pool',
    kind: 'udhcpc',
    opts: { request: [15] },
    pool: 'general',
    file: '',
    text: { 15: 'lab.example' },
  },
];

/** A DHCPACK as compared: the fields a client uses, with yiaddr named by its pool. */
interface AckView {
  pool: string;
  siaddr: string;
  giaddr: string;
  file: string;
  sname: string;
  /** Options in wire order: `code=hex`. */
  options: string[];
}

const cstr = (b: Uint8Array): string => {
  const end = b.indexOf(0);
  return Buffer.from(end < 0 ? b : b.subarray(0, end)).toString('latin1');
};
const macOf = (m: DhcpMessage): string =>
  [...m.chaddr.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

function poolOf(ip: string): string {
  const last = Number(ip.split('.')[3]);
  if (!ip.startsWith('10.1.0.')) return `outside (${ip})`;
  for (const [name, [lo, hi]] of Object.entries(POOLS)) if (last >= lo && last <= hi) return name;
  return `no pool (${ip})`;
}

function view(m: DhcpMessage): AckView {
  return {
    pool: poolOf(formatIp4(m.yiaddr)),
    siaddr: formatIp4(m.siaddr),
    giaddr: formatIp4(m.giaddr),
    file: cstr(m.file),
    sname: cstr(m.sname),
    options: m.options.map((o) => `${o.code}=${Buffer.from(o.data).toString('hex')}`),
  };
}

/** The last DHCPACK to each MAC in a capture of what the server sent. */
function acksByMac(pcap: string): Map<string, DhcpMessage> {
  const out = new Map<string, DhcpMessage>();
  for (const rec of readPcap(new Uint8Array(readFileSync(pcap)))) {
    const eth = pcapRecordToEthernet(rec);
    const frame = eth && parseUdpFrame(eth);
    if (!frame || isWireError(frame)) continue;
    const msg = decodeDhcp(frame.payload);
    if (isWireError(msg) || getMessageType(msg) !== MessageType.ACK) continue;
    out.set(macOf(msg), msg);
  }
  return out;
}

/** The fixture's `on commit` lines, sorted (each server's order of clients is its own). */
const commitLines = (output: string): string[] =>
  [...output.matchAll(/lab-commit [0-9a-f:]+ pool=\S+ vendor=[^"\n]+/g)].map((m) => m[0].trim()).sort();

interface Run {
  leases: ClientLease[];
  acks: Map<string, DhcpMessage>;
  commits: string[];
}

/** Every case's client, at once, against whatever server runs in `srv` now; stops the clients after. */
async function runClients(lab: Lab, clients: ClientSpot[], tag: string): Promise<Omit<Run, 'commits'>> {
  for (const c of clients) await lab.must(c.ns, 'ip', ['-4', 'addr', 'flush', 'dev', c.ifName]);
  const pcap = lab.file(`differential-${tag}.pcap`);
  const cap = await startCapture(lab, 'srv', 'eth0', pcap, ['udp', 'and', 'src', 'port', '67']);
  try {
    const leases = await Promise.all(
      CASES.map((k, i) =>
        runClient(k.kind, lab, clients[i]!.ns, clients[i]!.ifName, { ...k.opts, timeoutMs: 60_000 }),
      ),
    );
    for (const l of leases) await l.proc.stop(3000);
    await sleep(300);
    return { leases, acks: acksByMac(pcap) };
  } finally {
    await stopCapture(cap);
  }
}

/**
 * Both shapes of a site: clients on the server's own segment (server 10.1.0.1), and clients behind ISC dhcrelay
 * (server 10.0.0.2, giaddr 10.1.0.1), the relay left running while the servers change behind it.
 */
const SHAPES = {
  direct: async (lab: Lab): Promise<ClientSpot[]> =>
    (await directTopology(lab, { clients: CASES.length })).clients,
  'through ISC dhcrelay': async (lab: Lab): Promise<ClientSpot[]> =>
    (await relayTopology(lab, { clients: CASES.length })).clients,
};

for (const [shape, topology] of Object.entries(SHAPES))
  describe.skipIf(skip)(
    `ISC dhcpd 4.4.3 and hadhcp serve one site-shaped dhcpd.conf to real clients, ${shape}`,
    () => {
      const lab = useLab();
      let clients: ClientSpot[] = [];
      const runs: Record<'isc' | 'hadhcp', Run> = {} as never;

      beforeAll(async () => {
        clients = await topology(lab());

        lab().step('ISC dhcpd: fresh, every client');
        const dhcpd = await startDhcpd(lab(), 'srv', { conf: CONF, interfaces: ['eth0'] });
        const isc = await runClients(lab(), clients, 'isc');
        runs.isc = { ...isc, commits: commitLines(dhcpd.proc.output()) };
        await dhcpd.proc.stop(3000);

        lab().step('hadhcp: fresh, every client');
        const h = await startHadhcp(lab(), 'srv', { conf: CONF, fresh: true });
        const ours = await runClients(lab(), clients, 'hadhcp');
        // Events run once the ACK's lease is on disk, after the reply.
        const commits = await until(
          'hadhcp on commit lines',
          async () => {
            const l = commitLines(h.proc.output());
            return l.length >= runs.isc.commits.length ? l : undefined;
          },
          10_000,
        ).catch(() => commitLines(h.proc.output()));
        runs.hadhcp = { ...ours, commits };
        await stopHadhcp(h);
      }, 240_000);

      for (const [i, k] of CASES.entries()) {
        it(k.name, () => {
          const mac = clients[i]!.mac;
          const isc = runs.isc.acks.get(mac);
          const ours = runs.hadhcp.acks.get(mac);
          expect(isc, 'ISC sent no DHCPACK').toBeDefined();
          expect(ours, 'hadhcp sent no DHCPACK').toBeDefined();
          // The clients bound what was acknowledged.
          expect(runs.isc.leases[i]!.address).toBe(formatIp4(isc!.yiaddr));
          expect(runs.hadhcp.leases[i]!.address).toBe(formatIp4(ours!.yiaddr));

          const a = view(isc!);
          const b = view(ours!);
          // What the fixture means, as ISC serves it.
          expect(a.pool).toBe(k.pool);
          expect(a.giaddr).toBe(shape === 'direct' ? '0.0.0.0' : '10.1.0.1');
          expect(a.file).toBe(k.file);
          for (const [code, value] of Object.entries(k.text ?? {}))
            expect(a.options, `option ${code}`).toContain(`${code}=${Buffer.from(value).toString('hex')}`);
          for (const code of k.absent ?? [])
            expect(a.options.some((o) => o.startsWith(`${code}=`))).toBe(false);

          // The accepted difference: hadhcp's T1 and T2, where ISC sends none.
          const secs = Buffer.from(ours!.options.find((o) => o.code === 51)!.data).readUInt32BE(0);
          for (const [code, t] of [
            [58, Math.floor(secs * 0.5)],
            [59, Math.floor(secs * 0.875)],
          ] as const) {
            if (a.options.some((o) => o.startsWith(`${code}=`))) continue;
            const at = b.options.findIndex((o) => o.startsWith(`${code}=`));
            expect(at, `hadhcp's option ${code}`).toBeGreaterThanOrEqual(0);
            expect(b.options.splice(at, 1)[0]).toBe(`${code}=${t.toString(16).padStart(8, '0')}`);
          }
          expect(b).toEqual(a);
        });
      }

      it('the phone gets option 43 built from the ACME space', () => {
        const i = CASES.findIndex((k) => k.pool === 'phones');
        const ack = runs.hadhcp.acks.get(clients[i]!.mac)!;
        const o43 = ack.options.find((o) => o.code === 43);
        // ACME.tftp (1) 10.1.0.5, ACME.config (2) "acme-phone.cfg", ACME.vlan (3) 42, in whichever order both send.
        const hex = Buffer.from(o43?.data ?? []).toString('hex');
        expect(hex).toContain('01040a010005');
        expect(hex).toContain(`020e${Buffer.from('acme-phone.cfg').toString('hex')}`);
        expect(hex).toContain('0302002a');
        expect(hex.length).toBe(2 * (6 + 16 + 4));
      });

      it('on commit logs the same lines from both servers', () => {
        expect(runs.isc.commits).toHaveLength(CASES.length);
        expect(runs.isc.commits).toContain('lab-commit 2:0:0:0:1:5 pool=printers vendor=none');
        expect(runs.hadhcp.commits).toEqual(runs.isc.commits);
      });
    },
  );
