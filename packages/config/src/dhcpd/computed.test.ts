/**
 * `option NAME = EXPR;` (dhcpd.conf(5), dhcp-eval(5)) read and served. The expected values are ISC dhcpd 4.4.3's
 * replies in the conformance lab (test/lab/lib/fixtures/conformance/dhcpd.conf, subnet 10.1.9.0/24, scenarios
 * "computed options: ...").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import { BOOTREQUEST, DhcpServerCore, LeaseTable, MessageType, type DhcpOption } from '@hadhcp/dhcp';
import { formatDiagnostics, readDhcpdConf } from './index.js';

const LAB_CONF = readFileSync(
  new URL('../../../../test/lab/lib/fixtures/conformance/dhcpd.conf', import.meta.url),
  'utf8',
);

function serve(src: string): DhcpServerCore {
  const r = readDhcpdConf('dhcpd.conf', { readFile: () => src, cwd: '/etc/dhcp' });
  expect(r.config, formatDiagnostics(r.diagnostics)).toBeDefined();
  return new DhcpServerCore(r.config!, new LeaseTable(), {
    serverId: parseIp4('10.0.0.2')!,
    hostname: 'dhcp1',
  });
}

function discover(core: DhcpServerCore, giaddr: string, extra: DhcpOption[] = []) {
  const chaddr = new Uint8Array(16);
  chaddr.set([2, 0, 0, 1, 47, 1]);
  const d = core.handle(
    {
      op: BOOTREQUEST,
      htype: 1,
      hlen: 6,
      hops: 1,
      xid: 7,
      secs: 0,
      flags: 0,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: parseIp4(giaddr)!,
      chaddr,
      sname: new Uint8Array(64),
      file: new Uint8Array(128),
      hasCookie: true,
      options: [
        { code: 53, data: Uint8Array.of(MessageType.DISCOVER) },
        { code: 55, data: Uint8Array.of(1, 3, 12, 15, 17) },
        ...extra,
      ],
    },
    {
      receivedOn: { iface: 'eth1', localIp: parseIp4('10.0.0.2')! },
      srcIp: parseIp4('10.0.0.1')!,
      srcPort: 67,
    },
    1_700_000_000_000,
  );
  const opts = d.reply!.msg.options;
  return (code: number) => {
    const o = opts.find((x) => x.code === code);
    return o && Buffer.from(o.data).toString('latin1');
  };
}

describe('computed options as ISC dhcpd 4.4.3 sends them', () => {
  const core = serve(LAB_CONF);

  it('evaluates per answer: the leased address, the hardware address', () => {
    const opt = discover(core, '10.1.9.1');
    const ip = opt(12)!.slice(4).replaceAll('-', '.');
    expect(opt(12)).toMatch(/^lab-10-1-9-5\d$/);
    expect(parseIp4(ip)).toBeDefined();
    // lcase(substring(hardware, 1, 2)): hardware is htype then chaddr, so 02 00.
    expect(opt(15)).toBe('\x02\x00.example');
  });

  it('a null result leaves the option out, though the shared network sets it', () => {
    expect(discover(core, '10.1.9.1')(17)).toBeUndefined();
  });

  it('the same expression with the option it reads present', () => {
    const vci = { code: 60, data: new TextEncoder().encode('PXEClient:Arch:00000') };
    expect(discover(core, '10.1.9.1', [vci])(17)).toBe('/srv/0000');
  });

  it('names the option in errors; sub-options are not computed', () => {
    const r = readDhcpdConf('dhcpd.conf', {
      readFile: () => 'option space s; option s.a code 1 = text;\noption s.a = "x";',
      cwd: '/etc/dhcp',
    });
    expect(r.config).toBeUndefined();
    expect(`${r.diagnostics[0]!.line}:${r.diagnostics[0]!.col}`).toBe('2:8');
    expect(r.diagnostics[0]!.hint).toContain('option s.a VALUE;');
  });
});
