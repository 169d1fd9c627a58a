// The differential conformance test's network (test/lab/conformance.test.ts): one server namespace, a client
// segment and a relay agent, both driven by a small sender process of ours, and captures of what the server sends.
//
//   cli (no address, frames only) --lan1-- srv eth0 10.1.0.1/24          directly attached clients
//   relay eth0 10.0.0.1/24 ---veth--- srv eth1 10.0.0.2/24              relayed clients
//   relay lo: the giaddrs 10.1.2.1, 10.1.3.1, ... 10.1.9.1 (/32)       (srv routes their /24s via 10.0.0.1)
//
// Clients are hand-made Ethernet frames sent from `cli` through AF_PACKET (any chaddr, source address 0.0.0.0 or
// ciaddr), so one namespace plays every client. The relay sends as a relay does: from UDP port 67 to the server's
// port 67. tcpdump in `cli` and in `relay` records every UDP datagram the server sends; a reply is matched to the
// request that caused it by xid. The server's neighbour table maps every 10.1.0.0/24 address to cli's MAC, so a
// unicast to a ciaddr needs no ARP answer from a client that has no address.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { readPcap, pcapRecordToEthernet } from '../../../packages/common/src/index.js';
import {
  buildUdpFrame,
  decodeDhcp,
  isWireError,
  parseUdpFrame,
  type DhcpMessage,
  type UdpFrame,
} from '../../../packages/dhcp/src/index.js';
import type { Lab } from './lab.js';
import type { LabProcess } from './proc.js';
import { startCapture, stopCapture } from './peers/servers.js';
import { REPO_ROOT } from './starters.js';

export const SERVER_DIRECT = '10.1.0.1';
export const SERVER_RELAYED = '10.0.0.2';
export const RELAY_ADDRESS = '10.0.0.1';
/** Relayed segments behind the relay agent (their giaddr is .1). */
export const RELAYED_SUBNETS = [
  '10.1.2',
  '10.1.3',
  '10.1.4',
  '10.1.5',
  '10.1.6',
  '10.1.7',
  '10.1.8',
  '10.1.9',
];
const CLI_MAC = '02:00:00:00:ff:01';

/** What the server sent for one request: the frame as captured and the DHCP message in it. */
export interface CapturedReply {
  frame: UdpFrame;
  msg: DhcpMessage;
  /** UDP payload length. */
  size: number;
  /** Captured on the client segment or at the relay. */
  where: 'client-lan' | 'relay';
}

export interface ConformanceNet {
  serverMac: Uint8Array;
  cliSock: string;
  relaySock: string;
}

const macBytes = (m: string): Uint8Array => Uint8Array.from(m.split(':').map((x) => parseInt(x, 16)));

/** The sender: a Unix socket (reachable across network namespaces) taking one JSON command per line. */
const AGENT = String.raw`
'use strict';
const net = require('node:net');
const dgram = require('node:dgram');
const fs = require('node:fs');
const [sock, nativePath, ifname, bindPort] = process.argv.slice(2);
const native = require(nativePath);
const ps = native.openPacketSocket(ifname);
let udp;
async function handle(cmd) {
  const bytes = Buffer.from(cmd.hex, 'hex');
  if (cmd.kind === 'frame') { native.sendFrame(ps.fd, bytes); return { ok: true }; }
  await new Promise((res, rej) => udp.send(bytes, cmd.port, cmd.dst, (e) => (e ? rej(e) : res())));
  return { ok: true };
}
function ready() {
  try { fs.unlinkSync(sock); } catch {}
  net.createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        handle(JSON.parse(line)).then(
          (r) => c.write(JSON.stringify(r) + '\n'),
          (e) => c.write(JSON.stringify({ error: String(e) }) + '\n'),
        );
      }
    });
  }).listen(sock, () => console.log('agent ready'));
}
if (bindPort) {
  udp = dgram.createSocket('udp4');
  udp.on('message', () => {});
  udp.bind(Number(bindPort), () => { udp.setBroadcast(true); ready(); });
} else ready();
`;

/** Builds the namespaces and starts the two senders. */
export async function conformanceNet(lab: Lab): Promise<ConformanceNet> {
  const lan = await lab.addBridge(undefined, 'lan1');
  await lab.addNamespace('srv');
  await lab.link('srv', 'eth0', lan, 's0');
  await lab.addr('srv', 'eth0', `${SERVER_DIRECT}/24`);
  await lab.addNamespace('cli');
  await lab.link('cli', 'eth0', lan, 'c0', { macA: CLI_MAC });
  await lab.addNamespace('relay');
  await lab.link('relay', 'eth0', 'srv', 'eth1');
  await lab.addr('relay', 'eth0', `${RELAY_ADDRESS}/24`);
  await lab.addr('srv', 'eth1', `${SERVER_RELAYED}/24`);
  for (const s of RELAYED_SUBNETS) {
    await lab.addr('relay', 'lo', `${s}.1/32`);
    await lab.must('srv', 'ip', ['route', 'add', `${s}.0/24`, 'via', RELAY_ADDRESS]);
  }
  const batch = [];
  for (let i = 2; i < 255; i++)
    batch.push(`neigh replace 10.1.0.${i} lladdr ${CLI_MAC} dev eth0 nud permanent`);
  await lab.must('srv', 'ip', ['-batch', lab.file('conformance-neigh.batch', batch.join('\n') + '\n')]);
  const link = JSON.parse((await lab.must('srv', 'ip', ['-j', 'link', 'show', 'eth0'])).stdout) as {
    address: string;
  }[];
  const agentPath = lab.file('conformance-agent.cjs', AGENT);
  const native = `${REPO_ROOT}native/index.cjs`;
  const cliSock = lab.file('agent-cli.sock');
  const relaySock = lab.file('agent-relay.sock');
  const a = lab.spawn('cli', process.execPath, [agentPath, cliSock, native, 'eth0']);
  const b = lab.spawn('relay', process.execPath, [agentPath, relaySock, native, 'eth0', '67']);
  await a.waitForLine(/agent ready/, 15_000);
  await b.waitForLine(/agent ready/, 15_000);
  // Kea-style servers skip interfaces that came up a moment ago; dhcpd does not, but let the links settle.
  await new Promise((r) => setTimeout(r, 300));
  return { serverMac: macBytes(link[0]!.address), cliSock, relaySock };
}

function agentCall(sock: string, cmd: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(sock);
    let buf = '';
    c.setTimeout(5000, () => c.destroy(new Error('sender: no answer in 5 s')));
    c.on('error', reject);
    c.on('data', (d) => {
      buf += d.toString();
      if (!buf.includes('\n')) return;
      c.end();
      const r = JSON.parse(buf) as { ok?: boolean; error?: string };
      if (r.error) reject(new Error(`sender: ${r.error}`));
      else resolve();
    });
    c.write(JSON.stringify(cmd) + '\n');
  });
}

const ip4 = (s: string): number => s.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0);

/** A client's frame on the client segment: broadcast, or unicast to the server (`toServer`). */
export async function sendFromClient(
  net: ConformanceNet,
  payload: Uint8Array,
  o: { chaddr: Uint8Array; srcIp?: string; toServer?: boolean },
): Promise<void> {
  const frame = buildUdpFrame({
    srcMac: o.chaddr.subarray(0, 6),
    dstMac: o.toServer ? net.serverMac : macBytes('ff:ff:ff:ff:ff:ff'),
    srcIp: ip4(o.srcIp ?? '0.0.0.0'),
    dstIp: ip4(o.toServer ? SERVER_DIRECT : '255.255.255.255'),
    srcPort: 68,
    dstPort: 67,
    payload,
  });
  await agentCall(net.cliSock, { kind: 'frame', hex: Buffer.from(frame).toString('hex') });
}

/** A relay agent's datagram: from 10.0.0.1 port 67 to the server's port 67. */
export async function sendFromRelay(net: ConformanceNet, payload: Uint8Array): Promise<void> {
  await agentCall(net.relaySock, {
    kind: 'udp',
    dst: SERVER_RELAYED,
    port: 67,
    hex: Buffer.from(payload).toString('hex'),
  });
}

/** tcpdump on both sides; `replies(xid)` reads what has been captured so far. */
export class ReplyCapture {
  private readonly read = { 'client-lan': 0, relay: 0 };
  private readonly byXid = new Map<number, CapturedReply[]>();

  private constructor(
    private readonly files: { 'client-lan': string; relay: string },
    private readonly procs: LabProcess[],
  ) {}

  static async start(lab: Lab, tag: string): Promise<ReplyCapture> {
    const files = {
      'client-lan': lab.file(`conf-${tag}-cli.pcap`),
      relay: lab.file(`conf-${tag}-relay.pcap`),
    };
    // Only what the server sends: the client's own frames come from port 68, the relay's from 10.0.0.1.
    const cli = await startCapture(lab, 'cli', 'eth0', files['client-lan'], [
      'udp',
      'and',
      'src',
      'port',
      '67',
    ]);
    const relay = await startCapture(lab, 'relay', 'eth0', files.relay, [
      'udp and src port 67 and not src host 10.0.0.1',
    ]);
    return new ReplyCapture(files, [cli, relay]);
  }

  async stop(): Promise<void> {
    for (const p of this.procs) await stopCapture(p);
  }

  /** Every reply captured so far with this xid, in capture order per side. */
  replies(xid: number): CapturedReply[] {
    this.poll();
    return this.byXid.get(xid >>> 0) ?? [];
  }

  private poll(): void {
    for (const where of ['client-lan', 'relay'] as const) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(this.files[where]));
      } catch {
        continue;
      }
      if (bytes.length < 24) continue;
      const recs = readPcap(bytes);
      for (const rec of recs.slice(this.read[where])) {
        const eth = pcapRecordToEthernet(rec);
        const frame = eth && parseUdpFrame(eth);
        if (!frame || isWireError(frame)) continue;
        const msg = decodeDhcp(frame.payload);
        if (isWireError(msg)) continue;
        const list = this.byXid.get(msg.xid >>> 0) ?? [];
        list.push({ frame, msg, size: frame.payload.length, where });
        this.byXid.set(msg.xid >>> 0, list);
      }
      this.read[where] = recs.length;
    }
  }
}
