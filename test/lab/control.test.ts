// The operator's side of the daemon, through the real CLI and control socket: ISC leases imported and served,
// every control command, config-test / config-reload / SIGHUP keeping leases and refusing a broken file,
// shutdown and SIGTERM leaving cleanly.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { controlRequest } from '../../packages/control/src/index.js';
import {
  HADHCP_CLI,
  hadhcpStarter,
  relayTopology,
  requireRoot,
  runClient,
  sampleDhcpdConf,
  useLab,
  type HadhcpHandle,
  type RelayTopology,
} from './lib/index.js';

const run = promisify(execFile);
const skip = requireRoot({ commands: ['dhcrelay', 'udhcpc'] });

const MAC1 = '02:00:00:00:01:01';
const MAC2 = '02:00:00:00:01:02';

/** An ISC dhcpd.leases as dhcpd 4.4 writes it: client 1 held 10.1.0.77 until an hour from now. */
function iscLeases(): string {
  const fmt = (t: Date) =>
    `${t.getUTCDay()} ${t.toISOString().slice(0, 19).replace('T', ' ').replace(/-/g, '/')}`;
  const now = new Date();
  const later = new Date(now.getTime() + 3600_000);
  return `# The format of this file is documented in the dhcpd.leases(5) manual page.
authoring-byte-order little-endian;
lease 10.1.0.77 {
  starts ${fmt(now)};
  ends ${fmt(later)};
  cltt ${fmt(now)};
  binding state active;
  next binding state free;
  hardware ethernet ${MAC1};
  client-hostname "imported-pc";
}
`;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [HADHCP_CLI, ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe.skipIf(skip)('control socket and CLI against a running daemon', () => {
  const lab = useLab();
  let topo: RelayTopology<never>;
  let srv: HadhcpHandle;
  let confPath: string;

  it('imports an ISC dhcpd.leases and serves the imported binding to its client', async () => {
    topo = await relayTopology(lab(), { clients: 2 });
    const at = topo.routers[0]!;
    // hadhcpStarter keeps its state in lab.file(`hadhcp-<ns>`): import there before the daemon starts.
    const stateDir = lab().file(`hadhcp-${at.ns}`);
    mkdirSync(stateDir, { recursive: true });
    const leasesFile = lab().file('dhcpd.leases', iscLeases());
    const imp = await cli('leases', 'import', leasesFile, '--state-dir', stateDir);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toMatch(/imported 1 leases \(1 active\)/);

    confPath = lab().file(`hadhcp-${at.ns}.dhcpd.conf`);
    srv = await hadhcpStarter({ dhcpd: sampleDhcpdConf() })(lab(), at);
    const c1 = topo.clients[0]!;
    const lease = await runClient('udhcpc', lab(), c1.ns, c1.ifName);
    expect(lease.address).toBe('10.1.0.77');
  });

  it('answers lease4-get by address, hardware address and client id, and lease4-get-all', async () => {
    const c2 = topo.clients[1]!;
    const l2 = await runClient('udhcpc', lab(), c2.ns, c2.ifName, { hostname: 'second' });

    const byIp = await controlRequest(srv.socketPath, 'lease4-get', { 'ip-address': l2.address });
    expect(byIp.result).toBe(0);
    expect(byIp.arguments).toMatchObject({
      'ip-address': l2.address,
      'hw-address': MAC2,
      hostname: 'second',
      'binding-state': 'active',
    });
    const byHw = await controlRequest(srv.socketPath, 'lease4-get', {
      'identifier-type': 'hw-address',
      identifier: MAC1,
    });
    expect(byHw.result).toBe(0);
    expect((byHw.arguments as { 'ip-address': string })['ip-address']).toBe('10.1.0.77');
    // udhcpc sends option 61 = 01:<mac>: the same lease is found by client id.
    const byCid = await controlRequest(srv.socketPath, 'lease4-get', {
      'identifier-type': 'client-id',
      identifier: `01:${MAC2}`,
    });
    expect(byCid.result).toBe(0);
    expect((byCid.arguments as { 'ip-address': string })['ip-address']).toBe(l2.address);

    const none = await controlRequest(srv.socketPath, 'lease4-get', { 'ip-address': '10.1.0.98' });
    expect(none.result).toBe(3);
    const bad = await controlRequest(srv.socketPath, 'lease4-get', { 'ip-address': 'nope' });
    expect(bad.result).toBe(1);

    const all = await controlRequest(srv.socketPath, 'lease4-get-all');
    const addrs = (all.arguments as { leases: { 'ip-address': string }[] }).leases.map(
      (l) => l['ip-address'],
    );
    expect(addrs.sort()).toEqual(['10.1.0.77', l2.address].sort());
  });

  it('pages through leases with lease4-get-page using the last address as cursor', async () => {
    const p1 = await controlRequest(srv.socketPath, 'lease4-get-page', { from: 'start', limit: 1 });
    const first = (p1.arguments as { leases: { 'ip-address': string }[]; count: number }).leases;
    expect(first).toHaveLength(1);
    const p2 = await controlRequest(srv.socketPath, 'lease4-get-page', {
      from: first[0]!['ip-address'],
      limit: 10,
    });
    const second = (p2.arguments as { leases: { 'ip-address': string }[] }).leases;
    expect(second).toHaveLength(1);
    expect(second[0]!['ip-address']).not.toBe(first[0]!['ip-address']);
    const p3 = await controlRequest(srv.socketPath, 'lease4-get-page', {
      from: second[0]!['ip-address'],
      limit: 10,
    });
    expect(p3.result).toBe(3);
    expect((await controlRequest(srv.socketPath, 'lease4-get-page', { from: 'start' })).result).toBe(1);
  });

  it('shows status, the lease table and statistics through the CLI', async () => {
    const st = await cli('status', '--socket', srv.socketPath);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/DHCP: serving/);
    expect(st.stdout).toMatch(/leases: active 2/);
    const leases = await cli('leases', '--socket', srv.socketPath);
    expect(leases.stdout).toMatch(/10\.1\.0\.77\s+active\s+02:00:00:00:01:01\s+imported-pc/);
    expect(leases.stdout).toMatch(/2 leases/);
    const stats = await controlRequest(srv.socketPath, 'statistic-get-all');
    const s = stats.arguments as Record<string, [[number, string]]>;
    expect(s['packets-received']![0]![0]).toBeGreaterThanOrEqual(4);
    // The server core's own counts: an ACK for each of the two clients.
    expect(s['tx.DHCPACK']![0]![0]).toBeGreaterThanOrEqual(2);
    const ctl = await cli('ctl', 'list-commands', '--socket', srv.socketPath);
    for (const c of [
      'status-get',
      'lease4-get',
      'lease4-get-all',
      'lease4-get-page',
      'lease4-del',
      'shutdown',
    ])
      expect(ctl.stdout).toContain(`"${c}"`);
  });

  it('lease4-del frees the address and a later query finds nothing', async () => {
    const del = await controlRequest(srv.socketPath, 'lease4-del', { 'ip-address': '10.1.0.77' });
    expect(del.result).toBe(0);
    expect((await controlRequest(srv.socketPath, 'lease4-get', { 'ip-address': '10.1.0.77' })).result).toBe(
      3,
    );
    expect((await controlRequest(srv.socketPath, 'lease4-del', { 'ip-address': '10.1.0.77' })).result).toBe(
      3,
    );
  });

  it('refuses a broken config on config-test and config-reload, keeping the running one and the leases', async () => {
    writeFileSync(
      confPath,
      sampleDhcpdConf().replace('range 10.1.0.50 10.1.0.99;', 'range 10.1.0.50 10.9.0.99;'),
    );
    const t = await controlRequest(srv.socketPath, 'config-test');
    expect(t.result).toBe(1);
    expect(t.text).toMatch(/dhcpd\.conf:\d+:\d+/);
    const r = await controlRequest(srv.socketPath, 'config-reload');
    expect(r.result).toBe(1);
    const check = await cli('check-config', '--dhcpd', confPath);
    expect(check.code).toBe(4);
    expect(check.stderr).toMatch(/dhcpd\.conf:\d+:\d+: error:/);
    // Still serving with the old configuration and the same leases.
    const st = await controlRequest(srv.socketPath, 'status-get');
    expect((st.arguments as { dhcp: { serving: boolean; leases: { active: number } } }).dhcp).toMatchObject({
      serving: true,
      leases: { active: 1 },
    });
  });

  it('applies a good config on SIGHUP, keeping the leases', async () => {
    writeFileSync(confPath, sampleDhcpdConf('option domain-name "reloaded.example";\n'));
    srv.proc.kill('SIGHUP');
    await srv.proc.waitForLine(/configuration reloaded/, 5000);
    const c2 = topo.clients[1]!;
    const again = await controlRequest(srv.socketPath, 'lease4-get', {
      'identifier-type': 'hw-address',
      identifier: MAC2,
    });
    expect(again.result).toBe(0);
    const l = await runClient('udhcpc', lab(), c2.ns, c2.ifName, { hostname: 'second' });
    expect(l.address).toBe((again.arguments as { 'ip-address': string })['ip-address']);
  });

  it('stops on the shutdown command and on SIGTERM, removing its socket, with exit code 0', async () => {
    const r = await controlRequest(srv.socketPath, 'shutdown');
    expect(r.result).toBe(0);
    const exit = await srv.proc.exit;
    expect(exit.code).toBe(0);
    expect(existsSync(srv.socketPath)).toBe(false);
    const again = await hadhcpStarter({ dhcpd: sampleDhcpdConf() })(lab(), topo.routers[0]!);
    again.proc.kill('SIGTERM');
    expect((await again.proc.exit).code).toBe(0);
    expect(again.proc.output()).toMatch(/hadhcp stopped/);
    expect(existsSync(again.socketPath)).toBe(false);
    // Nothing answers now: the CLI says so plainly.
    const st = await cli('status', '--socket', again.socketPath);
    expect(st.code).toBe(3);
    expect(st.stderr).toMatch(/is hadhcp running/);
  });
});
