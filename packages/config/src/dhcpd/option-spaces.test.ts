/**
 * Option spaces end to end (issue 10 point 4): `option space`, sub-option definitions, `encapsulate`,
 * `vendor-option-space`, read by the reader and served by the DHCP core. The expected bytes are what ISC dhcpd
 * 4.4.3 sent for the same file in the conformance lab (test/lab/lib/fixtures/conformance/dhcpd.conf, subnets
 * 10.1.7.0/24 and 10.1.8.0/24; scenarios "option spaces: ..."), and the accepted/refused forms and error words are
 * dhcpd -t's. The framing (code, length, value in the space's widths) is dhcp-options(5) "DEFINING NEW OPTIONS".
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DhcpOption, DhcpServerCore } from '@hadhcp/dhcp';
import { clientMsg, MessageType, readConf, RELAYED, serveConf } from '../../test-vectors/serve.js';
import { formatDiagnostics } from './index.js';

const T0 = 1_700_000_000_000;
const LAB_CONF = readFileSync(
  new URL('../../../../test/lab/lib/fixtures/conformance/dhcpd.conf', import.meta.url),
  'utf8',
);

const serve = (src: string): DhcpServerCore => serveConf(src, '10.0.0.2');

/** A relayed DISCOVER (giaddr), as the lab's relay sends it; the reply's options as code -> hex. */
function discover(core: DhcpServerCore, giaddr: string, prl: number[] | undefined, extra: DhcpOption[] = []) {
  const m = clientMsg(MessageType.DISCOVER, { mac: '02:00:00:01:2a:01', xid: 0x4242, giaddr, prl, extra });
  const d = core.handle(m, RELAYED, T0);
  expect(d.reply, JSON.stringify(d.drop)).toBeDefined();
  return d.reply!.msg.options.map((o) => [o.code, Buffer.from(o.data).toString('hex')] as const);
}

const codes = (opts: ReadonlyArray<readonly [number, string]>) => opts.map(([c]) => c);
const value = (opts: ReadonlyArray<readonly [number, string]>, code: number) =>
  opts.find(([c]) => c === code)?.[1];

// Measured: ISC dhcpd 4.4.3's OFFER in the lab (HADHCP_CONFORMANCE_DUMP), options 43, 175 and 224 for 10.1.7.0/24.
const ISC_43 = '00066c61622d617020010701040a00000805090003666c6f6f722d33f1080a0000050a000006';
const ISC_175 = 'b00101b103010203';
const ISC_224 = '0002000177012c00040a000007';
const ISC_225 = '00011170020102';

describe('option spaces served as ISC dhcpd 4.4.3 sends them', () => {
  const core = serve(LAB_CONF);

  it("option 43 from the vendor option space: sub-options in ISC's hash order, code 0 included", () => {
    // 00 06 "lab-ap" | 20 01 07 | 01 04 10.0.0.8 | 05 09 0003 "floor-3" | f1 08 10.0.0.5 10.0.0.6: codes 0, then 32
    // and 1 (one bucket; 32 was set last so it comes first), then 5, then 241. The subnet's aplab.name replaces the
    // global one in place.
    const o = discover(core, '10.1.7.1', [1, 3, 43, 175, 224, 225]);
    expect(value(o, 43)).toBe(ISC_43);
    expect(value(o, 175)).toBe(ISC_175);
    // Two-octet codes and lengths: 0002 0001 "w" | 012c 0004 10.0.0.7.
    expect(value(o, 224)).toBe(ISC_224);
    // Four-octet code 70000 (00011170), one-octet length.
    expect(value(o, 225)).toBe(ISC_225);
    expect(codes(o).slice(-4)).toEqual([43, 175, 224, 225]);
  });

  it('a parameter request list without them gets none of them', () => {
    const o = discover(core, '10.1.7.1', [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42]);
    expect(codes(o).filter((c) => c === 43 || c === 175 || c === 224)).toEqual([]);
  });

  it('no parameter request list: the encapsulations in space order, then 43, last', () => {
    const o = discover(core, '10.1.7.1', undefined);
    expect(codes(o).slice(-4)).toEqual([175, 224, 225, 43]);
    expect(value(o, 43)).toBe(ISC_43);
  });

  it('an explicit option 43 is sent as written, whatever the vendor option space holds', () => {
    expect(value(discover(core, '10.1.8.1', [1, 3, 43]), 43)).toBe('01040a000009');
  });

  it("a class's vendor-option-space and sub-options win over the subnet's", () => {
    const o = discover(
      core,
      '10.1.7.1',
      [1, 3, 6, 43, 66],
      [{ code: 60, data: new TextEncoder().encode('lab-phone-7960') }],
    );
    // 01 15 "http://10.0.0.80/prov" | 02 02 002a
    expect(value(o, 43)).toBe('0115687474703a2f2f31302e302e302e38302f70726f760202002a');
  });

  it('a space nobody encapsulates and no vendor-option-space names sends nothing', () => {
    const c = serve(
      'ping-check false; option space quiet; option quiet.a code 1 = text; option quiet.a "x";\n' +
        'subnet 10.1.7.0 netmask 255.255.255.0 { range 10.1.7.50 10.1.7.59; }\n' +
        'subnet 10.0.0.0 netmask 255.255.255.0 { }',
    );
    expect(codes(discover(c, '10.1.7.1', [43]))).not.toContain(43);
  });

  it('a site that defines 43 to encapsulate its space gets the space in 43 without vendor-option-space', () => {
    // Not measured: ISC's store_options (common/options.c) fills an option of format "Ename." from space `name`.
    const c = serve(
      'ping-check false; option space ap; option ap.ctl code 241 = ip-address; option ap.ctl 10.0.0.5;\n' +
        'option vendor-encapsulated-options code 43 = encapsulate ap;\n' +
        'subnet 10.1.7.0 netmask 255.255.255.0 { range 10.1.7.50 10.1.7.59; }\n' +
        'subnet 10.0.0.0 netmask 255.255.255.0 { }',
    );
    expect(value(discover(c, '10.1.7.1', [43]), 43)).toBe('f1040a000005');
  });
});

describe('option space statements as dhcpd -t reads them', () => {
  const errors = (src: string) =>
    readConf(src)
      .diagnostics.filter((d) => d.severity === 'error')
      .map((d) => `${d.line}:${d.col} ${d.message}`);

  it('accepts the forms ISC accepts', () => {
    const r = readConf(
      [
        'option space ubnt code width 1 length width 1 hash size 3;',
        'option ubnt.unifi-address code 1 = ip-address;',
        'option space cisco;',
        'option cisco.wlc code 241 = array of ip-address;',
        'option cisco.zero code 0 = text;',
        'option cisco.rec code 5 = { ip-address, text };',
        'option cisco.arr code 6 = array of { ip-address, unsigned integer 16 };',
        'option space wide code width 4 length width 2;',
        'option wide.big code 70000 = string;',
        'option cisco.wlc 10.0.0.5, 10.0.0.6;',
        'option cisco.rec 10.0.0.1 "abc";',
        'option cisco.arr 10.0.0.1 5, 10.0.0.2 6;',
        'option wide.big 01:02;',
        'vendor-option-space cisco;',
      ].join('\n'),
    );
    expect(formatDiagnostics(r.diagnostics)).toBe('0 errors, 0 warnings');
    const g = r.config!.global;
    const cisco = r.config!.optionSpaces!.find((s) => s.name === 'cisco')!;
    const hex = (code: number) => Buffer.from(g.spaceOptions!.get(cisco)!.get(code)!.data).toString('hex');
    expect(hex(241)).toBe('0a0000050a000006');
    expect(hex(5)).toBe('0a000001616263');
    expect(hex(6)).toBe('0a00000100050a0000020006');
    expect(g.params.vendorOptionSpace).toBe('cisco');
    expect(r.config!.optionSpaces!.map((s) => [s.name, s.codeWidth, s.lengthWidth])).toEqual([
      ['ubnt', 1, 1],
      ['cisco', 1, 1],
      ['wide', 4, 2],
    ]);
  });

  it('refuses code and length widths as dhcpd -t does, at the number', () => {
    // dhcpd -t: "invalid code width (3), expecting a 1, 2 or 4." / "invalid length width (0) expecting 1 or 2."
    expect(errors('option space x code width 3;')).toEqual([
      '1:27 invalid code width (3), expecting a 1, 2 or 4',
    ]);
    expect(errors('option space x length width 0;')).toEqual([
      '1:29 invalid length width (0) expecting 1 or 2',
    ]);
  });

  it('refuses a sub-option set before its definition, as dhcpd -t ("unknown option x.a")', () => {
    expect(errors('option space x; option x.a 1;')).toEqual(['1:24 `option x.a`: unknown option x.a']);
  });

  it('refuses text before the end of a record, as dhcpd -t ("text must be at end of record")', () => {
    expect(errors('option space x; option x.a code 1 = { text, ip-address };')).toEqual([
      '1:37 text must be at end of record',
    ]);
  });

  it('names an undeclared space, with the declaration to add', () => {
    const r = readConf('option nosuch.a code 1 = text;');
    expect(r.config).toBeUndefined();
    expect(r.diagnostics[0]!.message).toContain('no option space named "nosuch"');
    expect(r.diagnostics[0]!.hint).toContain('option space nosuch;');
  });

  it("a code past the space's code width is refused (it could not be framed)", () => {
    expect(errors('option space x; option x.a code 256 = text;')[0]).toMatch(/^1:33 /);
  });

  it('option vendor.NAME (RFC 3925 option 125) = encapsulate: read, with a warning that no 125 is built', () => {
    // Measured in the conformance lab ("option spaces: 125 ..."): dhcpd 4.4.3 sends no option 125 from it, asked
    // or not, with or without the client's own 125 naming the enterprise.
    const r = readConf(
      'option space cl; option cl.tftp code 2 = ip-address;\noption vendor.cl code 4491 = encapsulate cl;',
    );
    expect(r.config).toBeDefined();
    expect(r.diagnostics.map((d) => `${d.severity} ${d.line}:${d.col}`)).toEqual(['warning 2:8']);
    expect(r.diagnostics[0]!.hint).toContain('option vivso');
  });

  it('warns, as a note ISC does not give, when vendor-option-space names no declared space', () => {
    const r = readConf('vendor-option-space nosuch;');
    expect(r.config).toBeDefined();
    expect(r.diagnostics.map((d) => d.severity)).toEqual(['warning']);
  });
});
