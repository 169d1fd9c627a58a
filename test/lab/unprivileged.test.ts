// hadhcp run the way deploy/hadhcp.service runs it: an unprivileged user with only CAP_NET_ADMIN, CAP_NET_RAW
// and CAP_NET_BIND_SERVICE (emulated with setpriv inside the router's namespace), VRRP + DHCP, and a hardened
// keepalived.conf (enable_script_security, script_user root, a weighted vrrp_script) whose script it cannot
// start: switching to root needs CAP_SETUID/CAP_SETGID. Before, spawn EPERM was an unhandled rejection that ended
// the daemon at start (a restart loop under systemd). Now the check counts as failed (its weight), the reason
// and the fix are logged once and shown in `hadhcp status`, and the router serves: it wins the election against
// a second router, holds the VIP, answers a relayed client, and gives the VIP up when stopped.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  type Lab,
  type RouterSpot,
} from './lib/index.js';

const skip = requireRoot({ commands: ['dhcrelay', 'udhcpc', 'setpriv'] });
const VIP = '10.0.0.10';
/** The unit's user: nobody stands in for `hadhcp` (it exists everywhere; the test creates no user). */
const UID = 65534;
const CAPS = '-all,+net_admin,+net_raw,+net_bind_service';
/** deploy/hadhcp.service's User= and AmbientCapabilities= / CapabilityBoundingSet=, for the command that follows. */
const asUnit = (argv: string[]): string[] => [
  `--reuid=${UID}`,
  `--regid=${UID}`,
  '--clear-groups',
  `--inh-caps=${CAPS}`,
  `--ambient-caps=${CAPS}`,
  `--bounding-set=${CAPS}`,
  ...argv,
];

function keepalivedConf(priority: number, script?: string, notify?: string): string {
  const hardened = script
    ? `global_defs {
    enable_script_security
    script_user root
}
vrrp_script chk_gw {
    script "${script}"
    interval 1
    weight -20
}
`
    : '';
  return `${hardened}vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority ${priority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        ${VIP}/24 dev eth0
    }
${script ? '    track_script {\n        chk_gw\n    }\n' : ''}${notify ? `    notify_master "${notify}"\n` : ''}}
`;
}

interface Files {
  dhcpd: string;
  keepalived: string;
  stateDir: string;
  marker: string;
}

/** The unprivileged router's files: configs readable by all, state and socket directory owned by its user. */
function unitFiles(lab: Lab): Files {
  chmodSync(lab.dir, 0o755); // the daemon's user must reach its files (and enable_script_security the script)
  const marker = lab.file('chk-ran');
  const script = lab.file('chk_gw.sh', `#!/bin/sh\ntouch ${marker}\nexit 0\n`);
  chmodSync(script, 0o755);
  const notify = lab.file('notify.sh', `#!/bin/sh\ntouch ${marker}\n`);
  chmodSync(notify, 0o755);
  const stateDir = lab.file('unit-state');
  mkdirSync(stateDir, { mode: 0o750 });
  chownSync(stateDir, UID, UID);
  return {
    dhcpd: lab.file('unit.dhcpd.conf', sampleDhcpdConf()),
    keepalived: lab.file('unit.keepalived.conf', keepalivedConf(150, script, notify)),
    stateDir,
    marker,
  };
}

/** `hadhcp run` under setpriv in the router's namespace; ready when its control socket exists. */
async function startAsUnit(lab: Lab, at: RouterSpot, f: Files): Promise<HadhcpHandle> {
  const socketPath = `${f.stateDir}/control.sock`;
  const run = [HADHCP_CLI, 'run', '--dhcpd', f.dhcpd, '--keepalived', f.keepalived];
  const proc = lab.spawn(
    at.ns,
    'setpriv',
    asUnit([process.execPath, ...run, '--state-dir', f.stateDir, '--socket', socketPath]),
  );
  const deadline = Date.now() + 15_000;
  while (!existsSync(socketPath)) {
    if (!proc.running) throw new Error(`hadhcp (unprivileged) exited before it was ready\n${proc.tail()}`);
    if (Date.now() > deadline) throw new Error(`hadhcp (unprivileged): no control socket\n${proc.tail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, socketPath, stateDir: f.stateDir };
}

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

/** The `msg` of each JSON log line. */
function messages(h: HadhcpHandle): string[] {
  return h.proc
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        const m = (JSON.parse(l) as { msg?: unknown }).msg;
        return typeof m === 'string' ? [m] : [];
      } catch {
        return [];
      }
    });
}

const REASON =
  'cannot switch to user root (uid 0, gid 0): hadhcp runs as nobody (uid 65534) without CAP_SETUID and CAP_SETGID (spawn EPERM)';

describe.skipIf(skip)('hadhcp as deploy/hadhcp.service runs it (unprivileged, three capabilities)', () => {
  const lab = useLab();

  it('serves with a vrrp_script it cannot run as script_user root: weight applied, said once, shown in status', async () => {
    const f = unitFiles(lab());
    const topo = await relayTopology(lab(), {
      routers: ['rta', 'rtb'],
      relayTo: [VIP],
      clients: 1,
      server: (l, at) =>
        at.index === 0
          ? startAsUnit(l, at, f)
          : hadhcpStarter({ dhcpd: sampleDhcpdConf(), keepalived: keepalivedConf(100) })(l, at),
    });
    const [a, b] = topo.servers as [HadhcpHandle, HadhcpHandle];

    // It really runs as the unit would: nobody, with exactly the three capabilities in effect.
    const st = readFileSync(`/proc/${a.proc.pid}/status`, 'utf8');
    expect(st).toMatch(new RegExp(`^Uid:\\s+${UID}\\s+${UID}\\s+${UID}\\s+${UID}$`, 'm'));
    expect(st).toMatch(/^CapEff:\s+0000000000003400$/m); // NET_BIND_SERVICE (10), NET_ADMIN (12), NET_RAW (13)

    // The election: 150 - 20 (the failed check) = 130 beats router B's 100; the VIP goes on router A.
    await waitFor('the VIP on router A', () => holdsVip(lab(), 'rta'), 10_000);
    expect(await holdsVip(lab(), 'rtb')).toBe(false);

    // DHCP through the relay to the VIP: router A (unprivileged, UDP 67 and raw sockets) answers.
    const c1 = topo.clients[0]!;
    const lease = await runClient('udhcpc', lab(), c1.ns, c1.ifName);
    expect(lease.address).toMatch(/^10\.1\.0\./);
    expect(lease.proc.output()).toContain(`obtained from ${VIP}`);
    await a.proc.waitForLine(
      new RegExp(`DHCPACK on ${lease.address.replace(/\./g, '\\.')} to ${c1.mac}`),
      5000,
    );

    // A few more check intervals: still running, and the reason was logged once, not once per run.
    await new Promise((r) => setTimeout(r, 2500));
    expect(a.proc.running).toBe(true);
    const cannot = messages(a).filter((m) => m.startsWith('Cannot run '));
    expect(cannot).toEqual([
      expect.stringMatching(
        /^Cannot run track script chk_gw \(\/\S+\/chk_gw\.sh\) as root: cannot switch to user root .*; each run counts as a failed check .*; fix: add CAP_SETUID CAP_SETGID to AmbientCapabilities= and CapabilityBoundingSet= in hadhcp\.service .*script_user nobody in global_defs/,
      ),
      expect.stringMatching(/^Cannot run notify script of VI_1 \(\/\S+\/notify\.sh\) as root: cannot switch/),
    ]);
    expect(cannot[0]).toContain(REASON);
    expect(existsSync(f.marker)).toBe(false); // neither script ran, as root or as anyone else

    // The control socket (vrrp-status-get, status-get) and `hadhcp status` (text and --json) say which and why.
    const v = (await controlRequest(a.socketPath, 'vrrp-status-get')).arguments as {
      instances: Array<Record<string, any>>;
    };
    const inst = v.instances[0]!;
    expect(inst).toMatchObject({
      state: 'MASTER',
      configuredPriority: 150,
      effectivePriority: 130,
      priorityReasons: ['-20 script:chk_gw failing'],
      disabledScripts: [], // accepted by enable_script_security: it counts as failed, it is not disabled
    });
    expect(inst.scriptsNotRun).toEqual([
      expect.objectContaining({ script: 'track script chk_gw', user: 'root', reason: REASON }),
      expect.objectContaining({ script: 'notify script of VI_1', user: 'root', reason: REASON }),
    ]);
    expect(inst.scriptsNotRun[0].attempts).toBeGreaterThanOrEqual(4);
    const all = (await controlRequest(a.socketPath, 'status-get')).arguments as Record<string, any>;
    expect(all.dhcp.serving).toBe(true);
    expect(all.vrrp[0].scriptsNotRun[0].reason).toBe(REASON);

    const text = await lab().must(undefined, process.execPath, [
      HADHCP_CLI,
      'status',
      '--socket',
      a.socketPath,
    ]);
    expect(text.stdout).toMatch(/VI_1\s+MASTER\s+150\s+130 \(-20 script:chk_gw failing\)/);
    expect(text.stdout).toMatch(
      new RegExp(
        `VI_1 cannot run track script chk_gw \\(\\S+\\) as root \\(\\d+ attempts, first \\d+s ago\\): ${REASON.replace(/[()]/g, '\\$&')}`,
      ),
    );
    expect(text.stdout).toMatch(/^ {4}fix: add CAP_SETUID CAP_SETGID to AmbientCapabilities=/m);
    const json = await lab().must(undefined, process.execPath, [
      HADHCP_CLI,
      'status',
      '--json',
      '--socket',
      a.socketPath,
    ]);
    expect(JSON.parse(json.stdout).arguments.vrrp[0].scriptsNotRun[0]).toMatchObject({
      script: 'track script chk_gw',
      reason: REASON,
    });

    // check-config, run as ExecStartPre runs it, knows in advance, and warns without failing the start.
    const check = await lab().exec(
      'rta',
      'setpriv',
      asUnit([
        process.execPath,
        HADHCP_CLI,
        'check-config',
        '--dhcpd',
        f.dhcpd,
        '--keepalived',
        f.keepalived,
      ]),
    );
    expect(check.code).toBe(0);
    expect(check.stderr).toMatch(
      /warning: vrrp_script chk_gw runs as root \(script_user\), but hadhcp runs as nobody \(uid 65534\) without CAP_SETUID and CAP_SETGID: it cannot be started, and each run counts as a failed check \(weight -20 for VI_1\)/,
    );

    // Stopped, it sends priority 0 and removes the VIP itself (CAP_NET_ADMIN); router B takes over at once.
    expect(a.proc.running).toBe(true);
    a.proc.kill('SIGTERM');
    await waitFor('the VIP on router B', () => holdsVip(lab(), 'rtb'), 3_000);
    expect(await holdsVip(lab(), 'rta')).toBe(false);
    expect(await a.proc.exit).toEqual({ code: 0, signal: null }); // a clean stop, not a crash
    expect(b.proc.running).toBe(true);
  });
});
