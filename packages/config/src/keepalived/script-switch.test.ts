import { describe, expect, it } from 'vitest';
import type { ProcessIdentity } from '@hadhcp/vrrp';
import { checkKeepalivedConf } from './reader.js';

/** deploy/hadhcp.service: user hadhcp, CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE only. */
const unit: ProcessIdentity = { uid: 998, gid: 997, name: 'hadhcp', canSetUid: false, canSetGid: false };
const root: ProcessIdentity = { uid: 0, gid: 0, name: 'root', canSetUid: true, canSetGid: true };

const users: Record<string, { uid: number; gid: number }> = {
  root: { uid: 0, gid: 0 },
  hadhcp: { uid: 998, gid: 997 },
  nobody: { uid: 65534, gid: 65534 },
};

function check(
  text: string,
  identity: ProcessIdentity,
  extraUsers: Record<string, { uid: number; gid: number }> = {},
) {
  return checkKeepalivedConf('/etc/hadhcp/keepalived.conf', {
    readFile: (p) => {
      if (p !== '/etc/hadhcp/keepalived.conf') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return text;
    },
    glob: () => [],
    interfaces: ['eth0'],
    lookupUser: (u) => users[u] ?? extraUsers[u],
    // Every script is safe: this test is about who runs them, not who could modify them.
    scriptFs: {
      lstat: (p) => ({ uid: 0, gid: 0, mode: 0o755, kind: p.endsWith('.sh') ? 'file' : 'dir' }),
      stat: (p) => ({ uid: 0, gid: 0, mode: 0o755, kind: p.endsWith('.sh') ? 'file' : 'dir' }),
      realpath: (p) => p,
    },
    identity,
  });
}

const conf = (globals: string, scriptUser = '', notify = '') => `global_defs {
${globals}
}
vrrp_script chk_gw {
    script "/etc/hadhcp/chk_gw.sh"
    weight -20
${scriptUser}
}
vrrp_script chk_dhcp {
    script "/etc/hadhcp/chk_dhcp.sh"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        10.0.0.10/24
    }
    track_script {
        chk_gw
        chk_dhcp
    }
${notify}
}
`;

/** This check's warnings (others, such as keepalived's SECURITY VIOLATION, have their own tests). */
const warnings = (r: ReturnType<typeof check>) =>
  r.diagnostics
    .filter((d) => d.severity === 'warning' && /cannot be started/.test(d.message))
    .map((d) => `${d.line}: ${d.message}`);

describe('check-config: scripts run as a user this process cannot switch to', () => {
  const hardened = conf(
    '    enable_script_security\n    script_user root',
    '',
    '    notify "/etc/hadhcp/notify.sh"',
  );

  it('warns, run as the unit runs it, with the consequence of each failed run and the fix', () => {
    const r = check(hardened, unit);
    expect(warnings(r)).toEqual([
      '5: vrrp_script chk_gw runs as root (script_user), but hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID: it cannot be started, and each run counts as a failed check (weight -20 for VI_1)',
      '10: vrrp_script chk_dhcp runs as root (script_user), but hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID: it cannot be started, and each run counts as a failed check (FAULT for VI_1)',
      '13: the notify scripts of VI_1 run as root (script_user), but hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID: they cannot be started, and the notifications are lost',
    ]);
    const hints = r.diagnostics.filter((d) => /cannot be started/.test(d.message)).map((d) => d.hint);
    expect(hints[0]).toMatch(
      /^add CAP_SETUID CAP_SETGID to AmbientCapabilities= and CapabilityBoundingSet= /,
    );
    expect(hints[0]).toMatch(/script_user hadhcp in global_defs \(or user hadhcp in the vrrp_script\)$/);
    expect(hints[2]).toMatch(/script_user hadhcp in global_defs$/);
    // A warning, not an error: the daemon runs with it (the checks count as failed).
    expect(r.diagnostics.some((d) => d.severity === 'error')).toBe(false);
  });

  it("nothing to say as root, or when the scripts run as the daemon's own user", () => {
    expect(warnings(check(hardened, root))).toEqual([]);
    expect(warnings(check(conf('    enable_script_security\n    script_user hadhcp'), unit))).toEqual([]);
  });

  it('without script_user the scripts run as the daemon itself, unless keepalived_script exists', () => {
    expect(warnings(check(conf(''), unit))).toEqual([]);
    const w = warnings(check(conf(''), unit, { keepalived_script: { uid: 990, gid: 990 } }));
    expect(w[0]).toMatch(/^4: vrrp_script chk_gw runs as keepalived_script \(keepalived's default user/);
  });

  it("a vrrp_script's own user counts for that script", () => {
    const w = warnings(check(conf('    script_user hadhcp', '    user nobody'), unit));
    expect(w).toEqual([
      '4: vrrp_script chk_gw runs as nobody (its user), but hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID: it cannot be started, and each run counts as a failed check (weight -20 for VI_1)',
    ]);
  });
});
