// Real peers on the server side: ISC dhcpd, dhcrelay, Kea, keepalived, tcpdump. Each gets its own config,
// lease and pid files in the lab folder (a shared pid file makes a second instance refuse to start).
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Lab } from '../lab.js';
import type { LabProcess } from '../proc.js';

export interface DhcpdOptions {
  /** dhcpd.conf text. */
  conf: string;
  /** Interfaces to listen on (none: dhcpd picks those with a declared subnet). */
  interfaces?: string[];
  /** Instance name, for file names when one namespace runs several. */
  name?: string;
  /** Initial dhcpd.leases text (default empty). */
  leases?: string;
  readyTimeoutMs?: number;
}

export interface DhcpdHandle {
  proc: LabProcess;
  confPath: string;
  leasePath: string;
}

/** ISC dhcpd 4.4 in the foreground (-f -d logs to stderr), IPv4; resolves once it serves. */
export async function startDhcpd(lab: Lab, ns: string, o: DhcpdOptions): Promise<DhcpdHandle> {
  const base = `dhcpd-${ns}-${o.name ?? '0'}`;
  const confPath = lab.file(`${base}.conf`, o.conf);
  const leasePath = lab.file(`${base}.leases`, o.leases ?? '');
  const pidPath = lab.file(`${base}.pid`);
  const args = ['-f', '-d', '-4', '-cf', confPath, '-lf', leasePath, '-pf', pidPath, ...(o.interfaces ?? [])];
  const proc = lab.spawn(ns, 'dhcpd', args);
  await proc.waitForLine(/^Server starting service/, o.readyTimeoutMs ?? 15_000);
  return { proc, confPath, leasePath };
}

export interface DhcrelayOptions {
  /** Client-side interfaces (requests accepted here; giaddr is taken from the first address). */
  downstream: string[];
  /** Server-side interfaces (replies accepted here). */
  upstream: string[];
  servers: string[];
  readyTimeoutMs?: number;
}

/** ISC dhcrelay with Debian 4.4's split interface flags: -id downstream, -iu upstream. */
export async function startDhcrelay(lab: Lab, ns: string, o: DhcrelayOptions): Promise<LabProcess> {
  const pidPath = lab.file(`dhcrelay-${ns}.pid`);
  const args = ['-d', '-4', '-pf', pidPath];
  for (const i of o.downstream) args.push('-id', i);
  for (const i of o.upstream) args.push('-iu', i);
  args.push(...o.servers);
  const proc = lab.spawn(ns, 'dhcrelay', args);
  // The last startup line names the fallback socket used to send upstream.
  await proc.waitForLine(/^Sending on\s+Socket\/fallback/, o.readyTimeoutMs ?? 10_000);
  return proc;
}

export interface KeaOptions {
  /** The "Dhcp4" object; interfaces-config, lease-database (memfile in the lab folder) and loggers are filled
   * in when absent. */
  dhcp4: Record<string, unknown>;
  /** Interfaces, used when dhcp4 has no interfaces-config. */
  interfaces?: string[];
  readyTimeoutMs?: number;
}

export interface KeaHandle {
  proc: LabProcess;
  confPath: string;
  leasePath: string;
}

/**
 * kea-dhcp4 with its pid and lock files in the lab folder (KEA_PIDFILE_DIR / KEA_LOCKFILE_DIR), logging to
 * stdout. Bring the interfaces up a moment before calling: Kea skips interfaces that are not up yet.
 */
export async function startKea(lab: Lab, ns: string, o: KeaOptions): Promise<KeaHandle> {
  const dir = lab.file(`kea-${ns}`);
  const leasePath = `${dir}/kea-leases4.csv`;
  const dhcp4: Record<string, unknown> = {
    'interfaces-config': { interfaces: o.interfaces ?? [] },
    'lease-database': { type: 'memfile', persist: true, name: leasePath, 'lfc-interval': 0 },
    loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'INFO' }],
    ...o.dhcp4,
  };
  mkdirSync(dir, { recursive: true });
  const confPath = `${dir}/kea-dhcp4.conf`;
  writeFileSync(confPath, JSON.stringify({ Dhcp4: dhcp4 }, null, 2));
  const env = {
    ...process.env,
    KEA_PIDFILE_DIR: dir,
    KEA_LOCKFILE_DIR: dir,
    KEA_LOGGER_DESTINATION: 'stdout',
  };
  const proc = lab.spawn(ns, 'kea-dhcp4', ['-c', confPath], { env });
  await proc.waitForLine(/DHCP4_STARTED/, o.readyTimeoutMs ?? 15_000);
  return { proc, confPath, leasePath };
}

export interface KeepalivedOptions {
  conf: string;
  name?: string;
  readyTimeoutMs?: number;
}

/** keepalived, VRRP only (-P), in the foreground logging to the console, with its own pid files. */
export async function startKeepalived(lab: Lab, ns: string, o: KeepalivedOptions): Promise<LabProcess> {
  const base = `keepalived-${ns}-${o.name ?? '0'}`;
  const confPath = lab.file(`${base}.conf`, o.conf);
  const args = ['-n', '-l', '-D', '-P', '-f', confPath];
  args.push('-p', lab.file(`${base}.pid`), '-r', lab.file(`${base}.vrrp.pid`));
  const proc = lab.spawn(ns, 'keepalived', args);
  await proc.waitForLine(
    /Entering BACKUP STATE|Entering MASTER STATE|Entering FAULT STATE/,
    o.readyTimeoutMs ?? 15_000,
  );
  return proc;
}

/**
 * tcpdump writing a pcap (immediate mode: packets still in a TPACKET_V3 block are lost on SIGINT; -Z root so it
 * can write into the root-only lab folder). A 32 MiB kernel buffer (-B, KiB): with the default 2 MiB, a loaded
 * machine dropped 35 of 11,043 packets under perfdhcp, and an audit of "every ACK on the wire" read a short pcap.
 */
export async function startCapture(
  lab: Lab,
  ns: string,
  ifName: string,
  pcapPath: string,
  filter: string[] = [],
): Promise<LabProcess> {
  const proc = lab.spawn(ns, 'tcpdump', [
    '-i',
    ifName,
    '-n',
    '-U',
    '--immediate-mode',
    '-B',
    '32768',
    '-Z',
    'root',
    '-w',
    pcapPath,
    ...filter,
  ]);
  await proc.waitForLine(/listening on/, 10_000);
  return proc;
}

/**
 * Stops a capture so the pcap is complete (SIGINT flushes). A capture whose packets the kernel dropped cannot
 * prove what was or was not on the wire, so that is an error here, with tcpdump's own count.
 */
export async function stopCapture(proc: LabProcess): Promise<void> {
  proc.kill('SIGINT');
  const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
  await proc.exit;
  clearTimeout(t);
  const dropped = Number(/(\d+) packets? dropped by kernel/.exec(proc.output())?.[1] ?? 0);
  if (dropped > 0)
    throw new Error(`capture incomplete: tcpdump says ${dropped} packets dropped by kernel (${proc.label})`);
}
