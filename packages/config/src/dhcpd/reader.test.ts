import { describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import { param, type DhcpServerConfig } from '@hadhcp/dhcp';
import type { Diagnostic } from '../diagnostics.js';
import { checkDhcpdConf, formatDiagnostics, readDhcpdConf } from './index.js';

const ip = (s: string) => parseIp4(s)!;
const hex = (s: string) => Uint8Array.from(s.split(/[\s:]+/).filter(Boolean), (h) => parseInt(h, 16));

/** Reads from an in-memory file system rooted at /etc/dhcp (the working directory for relative paths). */
function read(files: Record<string, string>, main = 'dhcpd.conf') {
  const readFile = (p: string) => {
    const f = files[p.replace('/etc/dhcp/', '')];
    if (f === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return f;
  };
  return readDhcpdConf(main, { readFile, cwd: '/etc/dhcp' });
}
function ok(src: string): DhcpServerConfig {
  const r = read({ 'dhcpd.conf': src });
  expect(r.config, formatDiagnostics(r.diagnostics)).toBeDefined();
  return r.config!;
}
function errors(src: string): Diagnostic[] {
  const r = read({ 'dhcpd.conf': src });
  expect(r.config).toBeUndefined();
  return r.diagnostics.filter((d) => d.severity === 'error');
}
const at = (d: Diagnostic) => `${d.line}:${d.col}`;

describe('model: scopes and inheritance', () => {
  const c = ok(`
authoritative;
default-lease-time 600;
shared-network office {
  max-lease-time 7200;
  subnet 10.10.0.0 netmask 255.255.255.0 { option routers 10.10.0.1; }
  pool { default-lease-time 300; range 10.10.0.10 10.10.0.99; }
}
subnet 192.168.7.0 netmask 255.255.255.128 {
  range 192.168.7.20 192.168.7.30;
  group {
    use-host-decl-names on;
    host printer { hardware ethernet 00:11:22:33:44:55; fixed-address 192.168.7.5, 192.168.7.6; }
  }
}
`);

  it('builds shared networks, with an implicit one for a lone subnet', () => {
    expect(c.sharedNetworks.map((s) => [s.name, s.implicit])).toEqual([
      ['office', false],
      ['192.168.7.0/25', true],
    ]);
    expect(c.subnets.map((s) => [s.network, s.prefix])).toEqual([
      [ip('10.10.0.0'), 24],
      [ip('192.168.7.0'), 25],
    ]);
    expect(c.subnets[0]!.sharedNetwork).toBe(c.sharedNetworks[0]);
  });

  it('parameters inherit from the nearest scope that sets them', () => {
    const [pool] = c.sharedNetworks[0]!.pools;
    expect(param(pool!.scope, 'defaultLeaseTime')).toBe(300);
    expect(param(pool!.scope, 'maxLeaseTime')).toBe(7200);
    expect(param(c.subnets[0]!.scope, 'defaultLeaseTime')).toBe(600);
    expect(param(c.subnets[1]!.scope, 'maxLeaseTime')).toBeUndefined();
    expect(param(c.hosts[0]!.scope, 'authoritative')).toBe(true);
    expect(param(c.hosts[0]!.scope, 'useHostDeclNames')).toBe(true);
  });

  it('ranges written in a subnet go to a pool of their own; hosts are global', () => {
    const sn = c.sharedNetworks[1]!;
    expect(sn.pools).toHaveLength(1);
    expect(sn.pools[0]!.ranges.map((r) => [r.start, r.end])).toEqual([
      [ip('192.168.7.20'), ip('192.168.7.30')],
    ]);
    expect(c.hosts).toHaveLength(1);
    expect(c.hosts[0]!.hardware).toEqual({ htype: 1, addr: hex('00:11:22:33:44:55') });
    expect(c.hosts[0]!.fixedAddresses).toEqual([ip('192.168.7.5'), ip('192.168.7.6')]);
  });

  it('keeps positions for later messages', () => {
    expect(c.subnets[0]!.pos).toEqual({ file: '/etc/dhcp/dhcpd.conf', line: 6, col: 3 });
  });
});

describe('model: values', () => {
  it('lease times: -1 is infinite; reversed ranges are swapped as ISC does', () => {
    const c = ok(
      'default-lease-time -1;\nsubnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.9 10.0.0.5; }',
    );
    expect(c.global.params.defaultLeaseTime).toBe('infinite');
    expect(c.sharedNetworks[0]!.pools[0]!.ranges[0]).toMatchObject({
      start: ip('10.0.0.5'),
      end: ip('10.0.0.9'),
    });
  });

  it('encodes built-in options by type', () => {
    const c = ok(`
option routers 10.0.0.1, 10.0.0.2;
option time-offset -3600;
option domain-search "eng.apple.com", "marketing.apple.com";
option domain-name "a\\"b";
option dhcp-parameter-request-list 1, 3;
option ip-forwarding on;
option static-routes 10.1.0.0 10.0.0.1;`);
    const o = (code: number) => c.global.options.get(code)!.data;
    expect(o(3)).toEqual(hex('0a 00 00 01 0a 00 00 02'));
    expect(o(2)).toEqual(hex('ff ff f1 f0'));
    expect(o(119)).toEqual(
      hex('03 65 6e 67 05 61 70 70 6c 65 03 63 6f 6d 00 09 6d 61 72 6b 65 74 69 6e 67 c0 04'),
    );
    expect(new TextDecoder().decode(o(15))).toBe('a"b');
    expect(o(55)).toEqual(hex('01 03'));
    expect(o(19)).toEqual(hex('01'));
    expect(o(33)).toEqual(hex('0a 01 00 00 0a 00 00 01'));
  });

  it('encodes user-defined options: records, arrays, integers, strings', () => {
    const c = ok(`
option two code 224 = { ip-address, unsigned integer 16 };
option two 10.0.0.1 8080;
option bytes8 code 121 = array of integer 8;
option bytes8 24, 10, 9, 0, 10, 0, 0, 1;
option cfg code 208 = string;
option cfg f1:00:74:7e;
option neg code 209 = signed integer 16;
option neg -2;`);
    const o = (code: number) => c.global.options.get(code)!.data;
    expect(o(224)).toEqual(hex('0a 00 00 01 1f 90'));
    expect(o(121)).toEqual(hex('18 0a 09 00 0a 00 00 01'));
    expect(o(208)).toEqual(hex('f1 00 74 7e'));
    expect(o(209)).toEqual(hex('ff fe'));
    expect(c.customOptions.map((d) => [d.name, d.code, d.format])).toEqual([
      ['two', 224, '{ ip-address, unsigned integer 16 }'],
      ['bytes8', 121, 'array of signed integer 8'],
      ['cfg', 208, 'string'],
      ['neg', 209, 'signed integer 16'],
    ]);
  });

  it('keeps host names where ISC wants addresses, and warns', () => {
    const r = read({
      'dhcpd.conf': 'option ntp-servers 10.0.0.5, time.example.my;\nnext-server boot.example;',
    });
    expect(r.config).toBeDefined();
    const ntp = r.config!.global.options.get(42)!;
    expect(ntp.unresolved).toEqual([ip('10.0.0.5'), 'time.example.my']);
    expect(ntp.data).toEqual(hex('0a 00 00 05'));
    expect(r.config!.global.params.nextServerName).toBe('boot.example');
    expect(r.diagnostics.filter((d) => d.severity === 'warning').map(at)).toEqual(['1:30', '2:13']);
  });

  it('host client identifiers come from option dhcp-client-identifier', () => {
    const c = ok('host a { option dhcp-client-identifier 01:00:11:22:33:44:55; option host-name "a"; }');
    expect(c.hosts[0]!.clientId).toEqual(hex('01 00 11 22 33 44 55'));
    expect(c.hosts[0]!.scope.options.get(12)!.data).toEqual(new TextEncoder().encode('a'));
  });
});

describe('model: failover', () => {
  const peerSrc = (body: string) => `failover peer "fo" {\n${body}\n}
subnet 10.0.0.0 netmask 255.255.255.0 { pool { failover peer "fo"; deny dynamic bootp clients; range 10.0.0.5 10.0.0.9; } }`;

  it('reads a primary with ISC defaults for what it leaves out, split as a 32-byte HBA', () => {
    const c = ok(peerSrc('primary; address 10.0.0.2; peer address 10.0.0.3; mclt 1800; split 128;'));
    const p = c.failoverPeers[0]!;
    expect(p).toMatchObject({
      name: 'fo',
      role: 'primary',
      address: ip('10.0.0.2'),
      peerAddress: ip('10.0.0.3'),
      port: 647,
      peerPort: 647,
      mclt: 1800,
      split: 128,
      maxResponseDelay: 20,
      maxUnackedUpdates: 100,
      loadBalanceMaxSeconds: 0,
    });
    // FACTS 4.4: split 128 = ff x16 then 00 x16
    expect(p.hba).toEqual(Uint8Array.from([...new Array(16).fill(0xff), ...new Array(16).fill(0)]));
    const pool = c.sharedNetworks[0]!.pools[0]!;
    expect(pool.failoverPeer).toBe('fo');
    expect(pool.permits.allowDynamicBootp).toBe(false);
  });

  it('a secondary needs neither mclt nor split, and may not have split', () => {
    ok(peerSrc('secondary; address 10.0.0.3; peer address 10.0.0.2;'));
    const [e] = errors(peerSrc('secondary; address 10.0.0.3; peer address 10.0.0.2;\nsplit 64;'));
    expect(at(e!)).toBe('3:1');
    expect(e!.message).toContain('secondary may not define load balance settings');
  });

  it("hadhcp-lazy-updates (hadhcp's own) turns off waiting for the partner's BNDACK; a bad value is named", () => {
    expect(
      ok(peerSrc('primary; peer address 10.0.0.3; mclt 60; split 128;')).failoverPeers[0]!.lazyUpdates,
    ).toBe(undefined);
    const c = ok(peerSrc('primary; peer address 10.0.0.3; mclt 60; split 128; hadhcp-lazy-updates true;'));
    expect(c.failoverPeers[0]!.lazyUpdates).toBe(true);
    const [e] = errors(
      peerSrc('primary; peer address 10.0.0.3; mclt 60; split 128;\nhadhcp-lazy-updates maybe;'),
    );
    expect(at(e!)).toBe('3:21');
    expect(e!.message).toContain('expected true or false');
  });

  it("hadhcp-tls-cert, -key and -ca (hadhcp's own) are read together, relative paths from the file's directory", () => {
    const c = ok(
      peerSrc(
        'primary; peer address 10.0.0.3; mclt 60; split 128;\nhadhcp-tls-cert "tls/a.pem"; hadhcp-tls-key "/etc/hadhcp/a.key"; hadhcp-tls-ca "tls/ca.pem";',
      ),
    );
    expect(c.failoverPeers[0]!.tls).toMatchObject({
      cert: '/etc/dhcp/tls/a.pem',
      key: '/etc/hadhcp/a.key',
      ca: '/etc/dhcp/tls/ca.pem',
      pos: { line: 3, col: 1 },
    });
    expect(ok(peerSrc('primary; peer address 10.0.0.3; mclt 60; split 128;')).failoverPeers[0]!.tls).toBe(
      undefined,
    );
    const [e] = errors(
      peerSrc('primary; peer address 10.0.0.3; mclt 60; split 128;\nhadhcp-tls-cert "a.pem";'),
    );
    expect(at(e!)).toBe('3:1');
    expect(e!.message).toContain('hadhcp-tls-key and hadhcp-tls-ca missing');
    const [u] = errors(peerSrc('primary; peer address 10.0.0.3; mclt 60; split 128;\nhadhcp-tls-ca ca.pem;'));
    expect(u!.message).toContain('a quoted file name');
  });

  it('split 37 sets buckets 0..36 LSB first', () => {
    const c = ok(peerSrc('primary; peer address 10.0.0.3; mclt 60; split 37;'));
    expect(Array.from(c.failoverPeers[0]!.hba!.subarray(0, 6))).toEqual([255, 255, 255, 255, 0x1f, 0]);
  });
});

describe('diagnostics', () => {
  it('collects every error with file:line:col and a hint, recovering at ; and }', () => {
    const es = errors(`authoritative;
max-lease-tim 600;
subnet 10.0.0.0 netmask 255.255.255.0 {
  range 10.0.1.1 10.0.1.5;
  option routers 10.0.0.1 10.0.0.2;
  ping-check yes;
}
option no-such 1;`);
    expect(es.map(at)).toEqual(['2:1', '4:9', '5:27', '6:14', '8:8']);
    expect(es.every((e) => e.file === '/etc/dhcp/dhcpd.conf' && e.hint)).toBe(true);
    expect(es[0]!.hint).toContain('max-lease-time');
    expect(es[2]!.message).toContain('`;`');
  });

  it('`authorized;` is accepted like ISC does, with a warning that says what it costs', () => {
    const r = read({ 'dhcpd.conf': 'authorized;\n' });
    expect(r.config).toBeDefined();
    expect(r.config!.global.params.authoritative).toBeUndefined();
    expect(r.diagnostics[0]).toMatchObject({ severity: 'warning', line: 1, col: 1 });
    expect(r.diagnostics[0]!.hint).toMatch(/did you mean `authoritative`\?.*not authoritative/);
  });

  it('ranges written straight in a subnet go to an implicit pool (BOOTP only from their dynamic-bootp ranges)', () => {
    const r = read({
      'dhcpd.conf':
        'subnet 10.0.0.0 netmask 255.255.255.0 { range dynamic-bootp 10.0.0.5 10.0.0.9; pool { range 10.0.0.20 10.0.0.29; } }\n',
    });
    expect(r.config!.sharedNetworks[0]!.pools.map((p) => p.implicit === true)).toEqual([true, false]);
  });

  it('dhcp-cache-threshold is read as a percentage, in any scope', () => {
    const r = read({
      'dhcpd.conf':
        'dhcp-cache-threshold 10;\nsubnet 10.0.0.0 netmask 255.255.255.0 { dhcp-cache-threshold 0; }\n',
    });
    expect(r.diagnostics).toEqual([]);
    expect(r.config!.global.params.dhcpCacheThreshold).toBe(10);
    expect(r.config!.subnets[0]!.scope.params.dhcpCacheThreshold).toBe(0);
  });

  it('statements without effect get a note, not an error', () => {
    const r = checkDhcpdConf('dhcpd.conf', {
      cwd: '/x',
      readFile: () => 'ddns-update-style none;\nlog-facility local7;\n',
    });
    expect(r.ok).toBe(true);
    expect(r.diagnostics.map((d) => [d.severity, d.message])).toEqual([
      ['note', '`ddns-update-style` has no effect in hadhcp'],
      ['note', '`log-facility` has no effect in hadhcp'],
    ]);
  });

  it('includes resolve against the working directory, errors name the included file', () => {
    const r = read({
      'dhcpd.conf': 'include "conf.d/a.conf";\n',
      'conf.d/a.conf': 'authoritative;\nbad stuff;\n',
    });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([
      { file: '/etc/dhcp/conf.d/a.conf', line: 2, col: 1 },
    ]);
    const good = read({ 'dhcpd.conf': 'include "conf.d/a.conf";\n', 'conf.d/a.conf': 'authoritative;\n' });
    expect(good.config!.files).toEqual(['/etc/dhcp/dhcpd.conf', '/etc/dhcp/conf.d/a.conf']);
    expect(good.config!.global.params.authoritative).toBe(true);
  });

  it('include loops and missing files are errors, not hangs', () => {
    const loop = read({ 'dhcpd.conf': 'include "b.conf";\n', 'b.conf': 'include "dhcpd.conf";\n' });
    expect(loop.diagnostics[0]!.message).toContain('includes itself');
    const missing = read({ 'dhcpd.conf': 'include "nope.conf";\n' });
    expect(missing.diagnostics[0]).toMatchObject({ severity: 'error', line: 1, col: 9 });
    expect(missing.diagnostics[0]!.hint).toContain('working directory');
  });

  it('an unterminated string and an unclosed block are reported where they start', () => {
    expect(errors('option domain-name "abc;\n').map(at)).toContain('1:20');
    const [e] = errors('subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5 10.0.0.9;\n');
    expect(e!.message).toContain('opened at line 1');
  });

  it('formats diagnostics as file:line:col: severity: message, hint on the next line, and a summary', () => {
    const r = read({ 'dhcpd.conf': 'ping-check yes;\n' });
    expect(formatDiagnostics(r.diagnostics)).toBe(
      '/etc/dhcp/dhcpd.conf:1:12: error: ping-check: expected true, false, on or off, found "yes"\n' +
        '  hint: write `ping-check true;` or `ping-check false;`\n1 error, 0 warnings',
    );
  });

  it('survives garbage without throwing', () => {
    for (const src of [
      '}}}{{{',
      '{ ; , = "',
      'subnet',
      'option',
      'failover peer "x" {',
      'key k { secret',
      '\u0000\u00ff',
    ]) {
      const r = read({ 'dhcpd.conf': src });
      expect(r.config).toBeUndefined();
      expect(r.diagnostics.length).toBeGreaterThan(0);
    }
  });
});
