// The three DHCP clients users run: ISC dhclient, busybox udhcpc, dhcpcd. Each is kept inside its namespace:
// our own hook script only sets the interface address (no /etc/resolv.conf, no hostname), and dhcpcd's
// hard-wired /run/dhcpcd and /var/lib/dhcpcd are replaced by lab folders in a private mount namespace.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Lab } from '../lab.js';
import type { LabProcess } from '../proc.js';

export type ClientKind = 'dhclient' | 'udhcpc' | 'dhcpcd';

export interface ClientOptions {
  /** Host name sent in option 12. */
  hostname?: string;
  timeoutMs?: number;
  /** dhcpcd only: keep its ARP probe of the offered address (RFC 5227; adds ~5 s). */
  arpProbe?: boolean;
  /** Option 60, vendor class identifier (e.g. "PXEClient:Arch:00007:UNDI:003016"). */
  vendorClass?: string;
  /**
   * Option 77, user class. dhclient and udhcpc send the bare text, as iPXE does ("iPXE"); dhcpcd knows only
   * RFC 3004's form, each class prefixed by its length.
   */
  userClass?: string;
  /** Option 93, RFC 4578 client system architecture (7: EFI x86-64). dhclient and udhcpc only. */
  clientArch?: number;
  /** Options asked for in option 55 on top of the client's own list, by code (dhclient: codes in DHCLIENT_NAMES). */
  request?: number[];
}

/** ISC names for the codes `request` may hold with dhclient, whose dhclient.conf asks for options by name. */
const DHCLIENT_NAMES: Record<number, string> = {
  6: 'domain-name-servers',
  15: 'domain-name',
  43: 'vendor-encapsulated-options',
  66: 'tftp-server-name',
  67: 'bootfile-name',
};

const hex = (s: string): string => Buffer.from(s).toString('hex');

export interface ClientLease {
  kind: ClientKind;
  /** The address the client reports it bound. */
  address: string;
  /** The client, still running unless it exits after binding (udhcpc -q, dhcpcd -1). */
  proc: LabProcess;
}

// dhclient passes $reason and new_* variables; udhcpc passes the event as $1 and $ip/$subnet.
// iproute2 accepts a dotted netmask after the slash.
const HOOK = `#!/bin/sh
# hadhcp lab client hook: apply the lease to the interface, touch nothing else.
ev="\${reason:-$1}"
case "$ev" in
  PREINIT|deconfig) ip link set dev "$interface" up; ip -4 addr flush dev "$interface" ;;
  BOUND|RENEW|REBIND|REBOOT)
    if [ "$old_ip_address" != "$new_ip_address" ]; then ip -4 addr flush dev "$interface"; fi
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  bound|renew) ip addr replace "$ip/$subnet" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP) ip -4 addr flush dev "$interface" ;;
esac
exit 0
`;

/** Written once per lab: rewriting it while another client's hook runs it fails with ETXTBSY (clients at once). */
function hookScript(lab: Lab): string {
  const p = lab.file('client-hook.sh');
  if (existsSync(p)) return p;
  lab.file('client-hook.sh', HOOK);
  chmodSync(p, 0o755);
  return p;
}

/** ISC dhclient in the foreground (-d), one attempt (-1); stays running to renew until stopped. */
export async function runDhclient(
  lab: Lab,
  ns: string,
  ifName: string,
  o: ClientOptions = {},
): Promise<ClientLease> {
  const base = `dhclient-${ns}-${ifName}`;
  const args = ['-d', '-1', '-v', '-4', '-sf', hookScript(lab)];
  // Our own dhclient.conf: the packaged one would send the host's name.
  const conf = ['request subnet-mask, broadcast-address, routers, domain-name-servers;'];
  if (o.hostname) conf.push(`send host-name "${o.hostname}";`);
  if (o.vendorClass !== undefined) conf.push(`send vendor-class-identifier "${o.vendorClass}";`);
  if (o.userClass !== undefined) conf.push(`send user-class "${o.userClass}";`);
  if (o.clientArch !== undefined)
    conf.push(
      'option lab-client-arch code 93 = unsigned integer 16;',
      `send lab-client-arch ${o.clientArch};`,
    );
  for (const code of o.request ?? []) {
    const name = DHCLIENT_NAMES[code];
    if (!name) throw new Error(`runDhclient: no dhclient.conf name for option ${code}`);
    conf.push(`also request ${name};`);
  }
  args.push('-cf', lab.file(`${base}.conf`, conf.join('\n') + '\n'));
  args.push('-lf', lab.file(`${base}.leases`, ''), '-pf', lab.file(`${base}.pid`));
  args.push('-df', lab.file(`${base}.duid`));
  args.push(ifName);
  const proc = lab.spawn(ns, 'dhclient', args);
  const m = await proc.waitForLine(/bound to (\d+\.\d+\.\d+\.\d+)/, o.timeoutMs ?? 30_000);
  return { kind: 'dhclient', address: m[1]!, proc };
}

/** busybox udhcpc: foreground, quit once bound (-q), give up if no lease (-n). */
export async function runUdhcpc(
  lab: Lab,
  ns: string,
  ifName: string,
  o: ClientOptions = {},
): Promise<ClientLease> {
  const args = ['-f', '-q', '-n', '-i', ifName, '-s', hookScript(lab), '-t', '5', '-T', '2'];
  if (o.hostname) args.push('-x', `hostname:${o.hostname}`);
  if (o.vendorClass !== undefined) args.push('-V', o.vendorClass);
  if (o.userClass !== undefined) args.push('-x', `0x4d:${hex(o.userClass)}`);
  if (o.clientArch !== undefined) args.push('-x', `0x5d:${o.clientArch.toString(16).padStart(4, '0')}`);
  for (const code of o.request ?? []) args.push('-O', String(code));
  const proc = lab.spawn(ns, 'udhcpc', args);
  const m = await proc.waitForLine(/lease of (\d+\.\d+\.\d+\.\d+) obtained/, o.timeoutMs ?? 30_000);
  // udhcpc prints the line before it runs the hook that configures the address, and with -q exits right after
  // the hook: wait for that exit, so the address is on the interface when this returns.
  const done = await Promise.race([
    proc.exit,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), o.timeoutMs ?? 30_000).unref()),
  ]);
  if (done === undefined) throw new Error(`udhcpc in ${ns}: bound ${m[1]} but did not exit after its hook`);
  return { kind: 'udhcpc', address: m[1]!, proc };
}

/**
 * dhcpcd 9 (dhcpcd-base): IPv4 only, foreground, exit once bound (-1), no IPv4LL, no hooks. It sets the
 * address itself; its pid/socket (/run/dhcpcd) and lease/DUID (/var/lib/dhcpcd) paths are fixed at build
 * time, so they are bind-mounted from the lab folder inside the private mount namespace of `ip netns exec`.
 */
export async function runDhcpcd(
  lab: Lab,
  ns: string,
  ifName: string,
  o: ClientOptions = {},
): Promise<ClientLease> {
  const dir = lab.file(`dhcpcd-${ns}-${ifName}`);
  // Each run starts from nothing, as runDhclient's empty lease file does: no lease of an earlier run to reboot into.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(`${dir}/run`, { recursive: true });
  mkdirSync(`${dir}/db`, { recursive: true });
  // clientid (hardware address) instead of the packaged config's DUID, so no host state is created.
  const conf = lab.file(`dhcpcd-${ns}-${ifName}.conf`, 'clientid\noption subnet_mask, routers\n');
  const dargs = ['-B', '-1', '-4', '-L', '-K', '-d', '-t', String(Math.ceil((o.timeoutMs ?? 30_000) / 1000))];
  dargs.push('-f', conf, '-c', '/bin/true');
  if (!o.arpProbe) dargs.push('-A');
  if (o.hostname) dargs.push('-h', o.hostname);
  if (o.vendorClass !== undefined) dargs.push('-i', o.vendorClass);
  if (o.userClass !== undefined) dargs.push('-u', o.userClass);
  if (o.clientArch !== undefined) throw new Error('runDhcpcd: dhcpcd cannot send option 93');
  for (const code of o.request ?? []) dargs.push('-o', String(code));
  dargs.push(ifName);
  const script = [
    'mkdir -p /run/dhcpcd',
    `mount --bind "$0/run" /run/dhcpcd`,
    `mount --bind "$0/db" /var/lib/dhcpcd`,
    'exec dhcpcd "$@"',
  ].join(' && ');
  const proc = lab.spawn(ns, 'sh', ['-c', script, dir, ...dargs]);
  const m = await proc.waitForLine(/leased (\d+\.\d+\.\d+\.\d+) for/, o.timeoutMs ?? 30_000);
  return { kind: 'dhcpcd', address: m[1]!, proc };
}

export function runClient(
  kind: ClientKind,
  lab: Lab,
  ns: string,
  ifName: string,
  o: ClientOptions = {},
): Promise<ClientLease> {
  switch (kind) {
    case 'dhclient':
      return runDhclient(lab, ns, ifName, o);
    case 'udhcpc':
      return runUdhcpc(lab, ns, ifName, o);
    case 'dhcpcd':
      return runDhcpcd(lab, ns, ifName, o);
  }
}
