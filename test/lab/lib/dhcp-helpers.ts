// Shared bits of the hadhcp DHCP lab tests: the daemon under test (restartable on the same state folder),
// control-socket calls, its ISC-style log lines, tshark reads of a capture, a dhclient whose lease file the
// test prepares, and a sender of hand-made datagrams from inside a namespace.
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { controlRequest } from '../../../packages/control/src/index.js';
import type { Lab } from './lab.js';
import type { LabProcess } from './proc.js';
import { HADHCP_CLI } from './starters.js';

export interface Hadhcp {
  proc: LabProcess;
  ns: string;
  confPath: string;
  stateDir: string;
  socketPath: string;
}

export interface HadhcpRun {
  /** dhcpd.conf text. */
  conf: string;
  /** Names the config, state folder and socket: the same name restarts on the same leases. */
  name?: string;
  /** Start from an empty state folder (default false: keep what an earlier run with this name wrote). */
  fresh?: boolean;
  args?: string[];
}

/** Starts `hadhcp run` from the built CLI in `ns`; resolves once it logged that it serves. */
export async function startHadhcp(lab: Lab, ns: string, o: HadhcpRun): Promise<Hadhcp> {
  if (!existsSync(HADHCP_CLI)) throw new Error(`${HADHCP_CLI} missing: run npx tsc -b`);
  const name = o.name ?? ns;
  const stateDir = lab.file(`hadhcp-${name}`);
  if (o.fresh) rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const socketPath = `${stateDir}/control.sock`;
  const confPath = lab.file(`hadhcp-${name}.dhcpd.conf`, o.conf);
  const args = [HADHCP_CLI, 'run', '--dhcpd', confPath, '--state-dir', stateDir, '--socket', socketPath];
  const proc = lab.spawn(ns, process.execPath, [...args, ...(o.args ?? [])]);
  // Not the socket file: after a kill -9 the old one is still there.
  await proc.waitForLine(/hadhcp \S+ started/, 15_000);
  return { proc, ns, confPath, stateDir, socketPath };
}

export async function stopHadhcp(h: Hadhcp, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  h.proc.kill(signal);
  const t = setTimeout(() => h.proc.kill('SIGKILL'), 5000);
  await h.proc.exit;
  clearTimeout(t);
}

/** One control command; throws unless the daemon answered success (0) or empty (3). */
export async function ctl(
  h: Hadhcp,
  command: string,
  args?: Record<string, unknown>,
): Promise<{ result: number; text?: string; arguments?: any }> {
  const r = (await controlRequest(h.socketPath, command, args)) as {
    result: number;
    text?: string;
    arguments?: any;
  };
  if (r.result !== 0 && r.result !== 3) throw new Error(`${command}: result ${r.result}: ${r.text}`);
  return r;
}

export interface LeaseJson {
  'ip-address': string;
  'hw-address': string;
  hostname: string;
  'binding-state': string;
  'valid-lft': number;
  ends: number | 'never';
}

export async function leaseByIp(h: Hadhcp, ip: string): Promise<LeaseJson | undefined> {
  const r = await ctl(h, 'lease4-get', { 'ip-address': ip });
  return r.result === 0 ? (r.arguments as LeaseJson) : undefined;
}

export async function allLeases(h: Hadhcp): Promise<LeaseJson[]> {
  const r = await ctl(h, 'lease4-get-all');
  return r.result === 0 ? (r.arguments.leases as LeaseJson[]) : [];
}

/** statistic-get-all flattened to name -> latest value. */
export async function stats(h: Hadhcp): Promise<Record<string, number>> {
  const r = await ctl(h, 'statistic-get-all');
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.arguments as Record<string, [number, string][]>)) out[k] = v[0]![0];
  return out;
}

/** The daemon's log messages (it logs JSON lines; the `msg` field carries the ISC-style text). */
export function logMessages(h: Hadhcp): string[] {
  const out: string[] = [];
  for (const line of h.proc.output().split('\n')) {
    try {
      const m = (JSON.parse(line) as { msg?: unknown }).msg;
      if (typeof m === 'string') out.push(m);
    } catch {
      if (line.trim()) out.push(line);
    }
  }
  return out;
}

/** Waits for a log message matching `re`; fails with the log tail. */
export async function waitForLog(h: Hadhcp, re: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = logMessages(h).find((m) => re.test(m));
    if (hit) return hit;
    if (Date.now() > deadline)
      throw new Error(`no log line ${re} within ${timeoutMs} ms\n${logMessages(h).slice(-25).join('\n')}`);
    await sleep(100);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(150);
  }
}

/** tshark over a pcap: one row of `fields` per packet matching the display filter. */
export async function tshark(lab: Lab, pcap: string, filter: string, fields: string[]): Promise<string[][]> {
  const args = ['-r', pcap, '-Y', filter, '-T', 'fields', '-E', 'separator=|'];
  for (const f of fields) args.push('-e', f);
  const r = await lab.must(undefined, 'tshark', args);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('|'));
}

/** A client's unicasts (renew, release) and the server's pings cross the relay: it must route, as a router does. */
export async function enableForwarding(lab: Lab, ns: string): Promise<void> {
  await lab.must(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
}

// dhclient with a lease file and dhclient.conf the test writes (INIT-REBOOT, release, renew).
const DHCLIENT_HOOK = `#!/bin/sh
# lab hook: address and default route (routers option) inside the namespace only.
case "$reason" in
  PREINIT) ip link set dev "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then ip -4 addr flush dev "$interface"; fi
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    for r in $new_routers; do ip route replace default via "$r" dev "$interface"; break; done ;;
  EXPIRE|FAIL|RELEASE|STOP) ip -4 addr flush dev "$interface" ;;
esac
exit 0
`;

export interface Dhclient {
  proc: LabProcess;
  ns: string;
  ifName: string;
  /** Arguments shared by every dhclient call on this client (lease, pid, conf files). */
  common: string[];
  leaseFile: string;
}

export interface DhclientRun {
  /** Lines appended to dhclient.conf (e.g. `reboot 3;`). */
  conf?: string[];
  /** Initial lease file text. */
  leases?: string;
}

/** Starts ISC dhclient in the foreground (`-d`), retrying until stopped; wait on its output yourself. */
export function spawnDhclient(lab: Lab, ns: string, ifName: string, o: DhclientRun = {}): Dhclient {
  const base = `dhc-${ns}-${ifName}`;
  const hook = lab.file(`${base}.hook`, DHCLIENT_HOOK);
  chmodSync(hook, 0o755);
  const conf = ['request subnet-mask, broadcast-address, routers;', ...(o.conf ?? [])];
  const leaseFile = lab.file(`${base}.leases`, o.leases ?? '');
  const common = [
    '-4',
    '-sf',
    hook,
    '-cf',
    lab.file(`${base}.conf`, conf.join('\n') + '\n'),
    '-lf',
    leaseFile,
    '-pf',
    lab.file(`${base}.pid`),
    '-df',
    lab.file(`${base}.duid`),
  ];
  const proc = lab.spawn(ns, 'dhclient', ['-d', '-v', ...common, ifName]);
  return { proc, ns, ifName, common, leaseFile };
}

/** `dhclient -r`: stops the running instance (its pid file) and sends DHCPRELEASE for the lease in the lease file. */
export async function releaseDhclient(lab: Lab, c: Dhclient): Promise<string> {
  const r = await lab.exec(c.ns, 'dhclient', ['-r', '-v', ...c.common, c.ifName]);
  if (r.code !== 0) throw new Error(`dhclient -r -> ${r.code}: ${r.stderr}`);
  await c.proc.stop(3000);
  return r.stderr + r.stdout;
}

/**
 * Sends datagrams from inside `ns` with a short Node script (dgram): each payload to `dst`:`port`, `gapMs`
 * apart. For hand-made DHCP packets "from a relay".
 */
export async function sendDatagrams(
  lab: Lab,
  ns: string,
  dst: string,
  port: number,
  payloads: Uint8Array[],
  gapMs = 5,
): Promise<void> {
  const file = lab.file(`send-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.hex`);
  writeFileSync(file, payloads.map((p) => Buffer.from(p).toString('hex')).join('\n'));
  const script = `
const dgram = require('node:dgram');
const [file, dst, port, gap] = process.argv.slice(1);
const hex = require('node:fs').readFileSync(file, 'utf8').split('\\n').filter(Boolean);
const s = dgram.createSocket('udp4');
s.bind(0, async () => {
  s.setBroadcast(true);
  for (const h of hex) {
    await new Promise((res, rej) => s.send(Buffer.from(h, 'hex'), Number(port), dst, (e) => (e ? rej(e) : res())));
    await new Promise((r) => setTimeout(r, Number(gap)));
  }
  s.close();
});`;
  const r = await lab.exec(ns, process.execPath, ['-e', script, file, dst, String(port), String(gapMs)]);
  if (r.code !== 0) throw new Error(`datagram sender -> ${r.code}: ${r.stderr}`);
}

export interface BootRequest {
  op?: number;
  hops?: number;
  xid?: number;
  ciaddr?: string;
  giaddr?: string;
  chaddr: string;
  /** Raw bytes of the options field after the magic cookie (end option not added). */
  options: number[];
  /** Raw bytes of the file field (128 octets, zero padded). */
  file?: number[];
}

const ipBytes = (ip: string): number[] => ip.split('.').map(Number);

/** A BOOTREQUEST laid out byte by byte (RFC 2131 2), so tests can break it on purpose. */
export function bootRequest(b: BootRequest): Uint8Array {
  const buf = new Uint8Array(240 + b.options.length);
  buf[0] = b.op ?? 1; // op
  buf[1] = 1; // htype ethernet
  buf[2] = 6; // hlen
  buf[3] = b.hops ?? 1; // hops
  new DataView(buf.buffer).setUint32(4, b.xid ?? 0x1234abcd); // xid
  buf.set(ipBytes(b.ciaddr ?? '0.0.0.0'), 12); // ciaddr
  buf.set(ipBytes(b.giaddr ?? '0.0.0.0'), 24); // giaddr
  buf.set(
    b.chaddr.split(':').map((x) => parseInt(x, 16)),
    28,
  ); // chaddr
  if (b.file) buf.set(b.file, 108); // file
  buf.set([99, 130, 83, 99], 236); // magic cookie
  buf.set(b.options, 240);
  return buf;
}
