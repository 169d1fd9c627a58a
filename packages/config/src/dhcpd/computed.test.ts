/**
 * `option NAME = EXPR;` (dhcpd.conf(5), dhcp-eval(5)) read and served. The expected values are ISC dhcpd 4.4.3's
 * replies in the conformance lab (test/lab/lib/fixtures/conformance/dhcpd.conf, subnet 10.1.9.0/24, scenarios
 * "computed options: ...").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import type { DhcpOption, DhcpServerCore } from '@hadhcp/dhcp';
import { clientMsg, MessageType, readConf, RELAYED, serveConf } from '../../test-vectors/serve.js';

const LAB_CONF = readFileSync(
  new URL('../../../../test/lab/lib/fixtures/conformance/dhcpd.conf', import.meta.url),
  'utf8',
);

const serve = (src: string): DhcpServerCore => serveConf(src, '10.0.0.2');

function discover(core: DhcpServerCore, giaddr: string, extra: DhcpOption[] = []) {
  const d = core.handle(
    clientMsg(MessageType.DISCOVER, {
      mac: '02:00:00:01:2f:01',
      xid: 7,
      giaddr,
      prl: [1, 3, 12, 15, 17],
      extra,
    }),
    RELAYED,
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
    const r = readConf('option space s; option s.a code 1 = text;\noption s.a = "x";');
    expect(r.config).toBeUndefined();
    expect(`${r.diagnostics[0]!.line}:${r.diagnostics[0]!.col}`).toBe('2:8');
    expect(r.diagnostics[0]!.hint).toContain('option s.a VALUE;');
  });
});
