import { formatIp4, parseIp4 } from '@hadhcp/common';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../diagnostics.js';
import { checkKeepalivedConf, readKeepalivedConf } from './reader.js';

/** An in-memory file system: every test states its files, interfaces and users. */
function opts(files: Record<string, string>, interfaces = ['eth0', 'eth1', 'lo']) {
  return {
    readFile: (p: string) => {
      const t = files[p];
      if (t === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return t;
    },
    glob: (pattern: string) => {
      const re = new RegExp(
        '^' +
          pattern
            .replace(/[.+^${}()|\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]') +
          '$',
      );
      return Object.keys(files)
        .filter((f) => re.test(f))
        .sort();
    },
    interfaces,
    lookupUser: (u: string) =>
      u === 'root' ? { uid: 0, gid: 0 } : u === 'dhcp' ? { uid: 100, gid: 100 } : undefined,
    // Checked as root with every capability, whoever runs the tests (script-switch.test.ts covers the rest).
    identity: { uid: 0, gid: 0, canSetUid: true, canSetGid: true },
  };
}

const INST = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.10/24
    }
}
`;

function read(text: string, interfaces?: string[]) {
  return readKeepalivedConf('/etc/k.conf', opts({ '/etc/k.conf': text }, interfaces));
}

function at(ds: Diagnostic[], severity: Diagnostic['severity']): string[] {
  return ds.filter((d) => d.severity === severity).map((d) => `${d.line}:${d.col} ${d.message}`);
}

describe('readKeepalivedConf: statements into the model', () => {
  it('reads the capture config of router A into the model', () => {
    const r = read(`global_defs {
   router_id site-a
   vrrp_garp_master_repeat 3
   enable_script_security
   script_user root
}
vrrp_script chk_dhcp {
   script "/bin/true"
   interval 2
   weight -60
   fall 2
   rise 2
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        10.0.0.10/24 dev eth0
    }
    track_script {
        chk_dhcp
    }
}
`);
    expect(r.diagnostics).toEqual([]);
    const c = r.config!;
    expect(c.global).toMatchObject({
      routerId: 'site-a',
      garpMasterRepeat: 3,
      garpMasterDelay: 5,
      enableScriptSecurity: true,
      scriptUser: { user: 'root' },
    });
    expect(c.scripts).toEqual([
      {
        name: 'chk_dhcp',
        script: '/bin/true',
        interval: 2,
        timeout: 2,
        weight: -60,
        rise: 2,
        fall: 2,
        pos: { file: '/etc/k.conf', line: 7, col: 1 },
      },
    ]);
    const i = c.instances[0]!;
    expect(i).toMatchObject({
      name: 'VI_1',
      initialState: 'BACKUP',
      interface: 'eth0',
      vrid: 51,
      priority: 150,
      advertInt: 1,
      preempt: true,
    });
    expect(i.auth).toEqual({ type: 'PASS', pass: '1111' });
    expect(i.virtualAddresses.map((v) => [formatIp4(v.address), v.prefix, v.dev])).toEqual([
      ['10.0.0.10', 24, 'eth0'],
    ]);
    expect(i.trackScripts).toEqual([{ name: 'chk_dhcp' }]);
    expect(c.files).toEqual(['/etc/k.conf']);
  });

  it('reads every virtual address option, excluded addresses, peers, tracking and notify scripts', () => {
    const r = read(`vrrp_script s { 
  script /usr/bin/check --fast
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 7
    nopreempt
    preempt_delay 0
    virtual_ipaddress {
        10.0.0.10/24 brd 10.0.0.255 dev eth1 scope link label eth1:v
        10.0.0.11
    }
    virtual_ipaddress_excluded {
        10.0.9.1/16
    }
    unicast_src_ip 10.0.0.2
    unicast_peer {
        10.0.0.3
        10.0.0.4
    }
    track_interface {
        eth1 weight -30
    }
    track_script {
        s weight 5
    }
    garp_master_delay 2
    garp_master_refresh 60
    notify_master "/etc/k/notify.sh master"
    notify /etc/k/notify.sh
}
`);
    expect(at(r.diagnostics, 'error')).toEqual([]);
    const i = r.config!.instances[0]!;
    expect(r.config!.scripts[0]!.script).toBe('/usr/bin/check --fast');
    expect(i.preempt).toBe(false);
    expect(i.virtualAddresses[0]).toMatchObject({
      prefix: 24,
      brd: parseIp4('10.0.0.255'),
      dev: 'eth1',
      scope: 'link',
      label: 'eth1:v',
    });
    expect(i.virtualAddresses[1]).toMatchObject({ address: parseIp4('10.0.0.11'), prefix: 32 });
    expect(i.virtualAddressesExcluded.map((v) => v.prefix)).toEqual([16]);
    expect(i.unicastSrcIp).toBe(parseIp4('10.0.0.2'));
    expect(i.unicastPeers.map(formatIp4)).toEqual(['10.0.0.3', '10.0.0.4']);
    expect(i.trackInterfaces).toEqual([{ name: 'eth1', weight: -30 }]);
    expect(i.trackScripts).toEqual([{ name: 's', weight: 5 }]);
    expect(i).toMatchObject({
      garpMasterDelay: 2,
      garpMasterRefresh: 60,
      notifyMaster: '/etc/k/notify.sh master',
      notify: '/etc/k/notify.sh',
    });
  });

  it('follows include globs relative to the including file, in sorted order', () => {
    const r = readKeepalivedConf(
      '/etc/k/main.conf',
      opts({
        '/etc/k/main.conf': 'include conf.d/*.conf\n',
        '/etc/k/conf.d/20-b.conf': INST.replace(/VI_1/g, 'VI_2').replace('51', '52'),
        '/etc/k/conf.d/10-a.conf': INST,
      }),
    );
    expect(r.config!.instances.map((i) => i.name)).toEqual(['VI_1', 'VI_2']);
    expect(r.config!.files).toEqual([
      '/etc/k/main.conf',
      '/etc/k/conf.d/10-a.conf',
      '/etc/k/conf.d/20-b.conf',
    ]);
    expect(r.config!.instances[1]!.pos).toEqual({ file: '/etc/k/conf.d/20-b.conf', line: 1, col: 1 });
  });

  it('refuses an include loop instead of recursing forever', () => {
    const r = readKeepalivedConf(
      '/a.conf',
      opts({ '/a.conf': 'include /b.conf\n', '/b.conf': 'include /a.conf\n' }),
    );
    expect(at(r.diagnostics, 'error')[0]).toMatch(/^1:1 include nested too deep or in a loop/);
  });

  it('gives state MASTER without priority the owner priority 255, as keepalived 2.2.7 does', () => {
    const r = read(INST.replace('interface eth0', 'state MASTER\n    interface eth0'));
    expect(r.config!.instances[0]!.priority).toBe(255);
    expect(at(r.diagnostics, 'note')).toEqual([
      '2:11 state MASTER without priority means priority 255 (address owner), as in keepalived',
    ]);
  });

  it('rounds a fractional advert_int half up, like keepalived, with a warning', () => {
    for (const [v, want] of [
      ['1.5', 2],
      ['0.5', 1],
      ['1.4', 1],
      ['3', 3],
    ] as const) {
      const r = read(INST.replace('interface eth0', `advert_int ${v}\n    interface eth0`));
      expect(r.config!.instances[0]!.advertInt).toBe(want);
      expect(at(r.diagnostics, 'warning').length).toBe(v === '3' ? 0 : 1);
    }
  });

  it('truncates auth_pass to the 8 octets VRRPv2 carries, with a warning', () => {
    const r = read(
      INST.replace(
        'interface eth0',
        'authentication {\n auth_type PASS\n auth_pass 123456789\n}\n    interface eth0',
      ),
    );
    expect(r.config!.instances[0]!.auth).toEqual({ type: 'PASS', pass: '12345678' });
    expect(at(r.diagnostics, 'warning')[0]).toMatch(/^4:12 auth_pass is 9 characters/);
  });

  it('loads a config naming an interface this machine lacks, with a warning naming it', () => {
    const r = read(INST, ['lo']);
    expect(r.config).toBeDefined();
    expect(at(r.diagnostics, 'warning')).toEqual([
      '2:15 interface eth0 of vrrp_instance VI_1 does not exist on this machine',
    ]);
  });

  it('accepts keepalived keywords that do nothing here with a note, and records them', () => {
    const r = read(
      `global_defs {\n  notification_email {\n    a@b.c\n  }\n  smtp_server 127.0.0.1\n  vrrp_skip_check_adv_addr\n}\n${INST}`,
    );
    expect(at(r.diagnostics, 'error')).toEqual([]);
    expect(at(r.diagnostics, 'note').map((s) => s.slice(0, 4))).toEqual(['2:3 ', '5:3 ', '6:3 ']);
    expect(r.config!.global.ignored).toEqual([
      'notification_email',
      'smtp_server',
      'vrrp_skip_check_adv_addr',
    ]);
  });
});

describe('readKeepalivedConf: errors with position and advice', () => {
  const cases: [string, string, RegExp][] = [
    [
      'typo in global_defs',
      'global_defs {\n  rotuer_id x\n}\n' + INST,
      /^2:3 unknown keyword 'rotuer_id'.*\| did you mean 'router_id'\?$/,
    ],
    [
      'keyword in the wrong section',
      'global_defs {\n  priority 100\n}\n' + INST,
      /^2:3 'priority' does not belong in global_defs \| move it into a vrrp_instance block$/,
    ],
    ['VRID out of range', INST.replace('51', '256'), /^3:23 virtual_router_id 256 is outside 1-255/],
    [
      'priority 0',
      INST.replace('interface eth0', 'priority 0\n    interface eth0'),
      /^2:14 priority 0 is outside 1-255/,
    ],
    ['not a number', INST.replace('51', 'fifty'), /^3:23 virtual_router_id: 'fifty' is not a whole number/],
    [
      'bad state',
      INST.replace('interface eth0', 'state master\n    interface eth0'),
      /^2:11 state 'master' is not MASTER or BACKUP/,
    ],
    [
      'bad address',
      INST.replace('10.0.0.10/24', '10.0.0.10/40'),
      /^5:9 '10.0.0.10\/40': prefix length must be 0-32/,
    ],
    [
      'IPv6 address',
      INST.replace('10.0.0.10/24', 'fe80::1'),
      /^5:9 'fe80::1' is not an IPv4 address \| hadhcp is IPv4 only/,
    ],
    ['VRRPv3', 'global_defs {\n vrrp_version 3\n}\n' + INST, /^2:15 vrrp_version 3 is not implemented/],
    ['vrrp_strict', 'global_defs {\n vrrp_strict\n}\n' + INST, /^2:2 vrrp_strict is not implemented/],
    [
      'use_vmac',
      INST.replace('interface eth0', 'use_vmac\n    interface eth0'),
      /^2:5 use_vmac is not implemented/,
    ],
    ['LVS', INST + 'virtual_server 10.0.0.10 80 {\n}\n', /^8:1 virtual_server hadhcp has no LVS/],
    [
      'unknown track_script',
      INST.replace('}\n}', '}\n track_script {\n  chk\n }\n}'),
      /^8:3 track_script chk: no vrrp_script of that name/,
    ],
    [
      'missing interface',
      INST.replace('    interface eth0\n', ''),
      /^1:1 vrrp_instance VI_1 has no interface/,
    ],
    [
      'duplicate VRID',
      INST + INST.replace(/VI_1/g, 'VI_2').replace('10.0.0.10', '10.0.0.11'),
      /^8:1 VI_1 and VI_2 both use VRID 51 on eth0/,
    ],
    ['unclosed block', INST.slice(0, -2), /^1:20 '\{' of vrrp_instance is never closed/],
    ['extra brace', INST + '}\n', /^8:1 extra '\}' with no block open/],
    [
      'per-script user',
      INST.replace('}\n}', '}\n notify_master /bin/true nobody\n}'),
      /^7:26 a per-script user \('nobody'\) is not implemented/,
    ],
    [
      'weight reverse',
      'vrrp_script s {\n script /bin/true\n weight 10 reverse\n}\n' + INST,
      /^3:12 weight ... reverse is not implemented/,
    ],
  ];
  for (const [what, text, want] of cases) {
    it(what, () => {
      const r = read(text);
      expect(r.config).toBeUndefined();
      const errs = r.diagnostics
        .filter((d) => d.severity === 'error')
        .map((d) => `${d.line}:${d.col} ${d.message}${d.hint ? ` | ${d.hint}` : ''}`);
      expect(
        errs.some((e) => want.test(e)),
        errs.join('\n'),
      ).toBe(true);
      expect(r.diagnostics.every((d) => d.file === '/etc/k.conf')).toBe(true);
    });
  }

  it('warns, and follows keepalived, when nopreempt cannot work', () => {
    const owner = read(INST.replace('interface eth0', 'priority 255\n    nopreempt\n    interface eth0'));
    expect(owner.config!.instances[0]!.preempt).toBe(true);
    expect(at(owner.diagnostics, 'warning')[0]).toMatch(/^3:5 nopreempt is incompatible with priority 255/);
    const master = read(
      INST.replace('interface eth0', 'state MASTER\n    priority 100\n    nopreempt\n    interface eth0'),
    );
    expect(master.config!.instances[0]!.preempt).toBe(true);
    expect(at(master.diagnostics, 'warning')[0]).toMatch(/^4:5 nopreempt does not work with state MASTER/);
    const backup = read(INST.replace('interface eth0', 'state BACKUP\n    nopreempt\n    interface eth0'));
    expect(backup.config!.instances[0]!.preempt).toBe(false);
    expect(at(backup.diagnostics, 'warning')).toEqual([]);
  });
});

describe('checkKeepalivedConf: keepalived -t exit codes', () => {
  const files = (text: string) => opts({ '/k.conf': text });
  it('0 when there is nothing to report (notes allowed)', () => {
    expect(
      checkKeepalivedConf('/k.conf', files('global_defs {\n smtp_server 127.0.0.1\n}\n' + INST)).exitCode,
    ).toBe(0);
  });
  it('4 when the file cannot be read', () => {
    expect(checkKeepalivedConf('/nope.conf', files(INST)).exitCode).toBe(4);
  });
  it('5 for errors and for warnings', () => {
    expect(checkKeepalivedConf('/k.conf', files(INST.replace('51', '0'))).exitCode).toBe(5);
    expect(
      checkKeepalivedConf('/k.conf', files(INST.replace('interface eth0', 'advert_int 1.5\n interface eth0')))
        .exitCode,
    ).toBe(5);
  });
  it('6 when scripts run as root without enable_script_security', () => {
    const withScript = 'vrrp_script s {\n script /bin/true\n}\n' + INST;
    expect(checkKeepalivedConf('/k.conf', files(withScript)).exitCode).toBe(6);
    const asUser = 'global_defs {\n script_user dhcp\n}\n' + withScript;
    expect(checkKeepalivedConf('/k.conf', files(asUser)).exitCode).toBe(0);
  });
  it('5 and a warning naming the script when enable_script_security finds it unsafe', () => {
    const text =
      'global_defs {\n enable_script_security\n script_user root\n}\nvrrp_script s {\n script "/opt/x/check.sh arg"\n}\n' +
      INST;
    const root = { uid: 0, gid: 0, mode: 0o755, kind: 'dir' as const };
    const scriptFs = {
      lstat: (p: string) =>
        p === '/opt/x'
          ? { ...root, mode: 0o777 }
          : p.endsWith('.sh')
            ? { ...root, kind: 'file' as const }
            : root,
      stat: (p: string) => (p.endsWith('.sh') ? { ...root, kind: 'file' as const } : root),
      realpath: (p: string) => p,
    };
    const r = checkKeepalivedConf('/k.conf', { ...files(text), scriptFs });
    expect(r.exitCode).toBe(5);
    expect(at(r.diagnostics, 'warning')).toEqual([
      '5:1 vrrp_script s (/opt/x/check.sh) will not be run: /opt/x is writable by everyone, and the script runs as root',
    ]);
  });
});
