/** Hand-written packets, one comment per field, for the rules the captures do not exercise. */
import { describe, expect, it } from 'vitest';
import { getOption, getRelayAgentInfo } from './accessors.js';
import { decodeDhcp, encodeDhcp, encodeDhcpDetailed } from './codec.js';
import { isWireError, type WireError } from './errors.js';
import type { DhcpMessage } from './types.js';

const COOKIE = [99, 130, 83, 99]; // magic cookie 99.130.83.99 (RFC 2131 3)

interface HeaderOpts {
  op?: number;
  hlen?: number;
  hops?: number;
  sname?: number[];
  file?: number[];
}

/** A BOOTREQUEST fixed header; sname and file given as full 64/128-byte fields. */
function header(opts: HeaderOpts = {}): number[] {
  const sname = opts.sname ?? new Array<number>(64).fill(0);
  const file = opts.file ?? new Array<number>(128).fill(0);
  if (sname.length !== 64 || file.length !== 128) throw new Error('bad test vector');
  // prettier-ignore
  return [
    opts.op ?? 1, // op: BOOTREQUEST
    0x01, // htype: Ethernet
    opts.hlen ?? 6, // hlen
    opts.hops ?? 0, // hops
    0xde, 0xad, 0xbe, 0xef, // xid
    0x00, 0x05, // secs
    0x80, 0x00, // flags: broadcast
    0, 0, 0, 0, // ciaddr
    0, 0, 0, 0, // yiaddr
    0, 0, 0, 0, // siaddr
    10, 1, 0, 1, // giaddr 10.1.0.1
    0x52, 0x54, 0x00, 0x7d, 0x2d, 0xb1, ...new Array<number>(10).fill(0), // chaddr
    ...sname, // sname (64)
    ...file, // file (128)
  ];
}

/** Fills a field to its size with pad (0) after the given option bytes. */
const field = (bytes: number[], size: number): number[] => [
  ...bytes,
  ...new Array<number>(size - bytes.length).fill(0),
];

function decode(bytes: number[]): DhcpMessage {
  const m = decodeDhcp(Uint8Array.from(bytes));
  if (isWireError(m)) throw new Error(`${m.reason}: ${m.detail}`);
  return m;
}
function decodeErr(bytes: number[]): WireError {
  const m = decodeDhcp(Uint8Array.from(bytes));
  if (!isWireError(m)) throw new Error('expected a WireError');
  return m;
}
const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => (from + i) & 255);

describe('decodeDhcp: header', () => {
  it('decodes the fixed header fields', () => {
    const m = decode([...header(), ...COOKIE, 53, 1, 1, 255]);
    expect(m).toMatchObject({ op: 1, htype: 1, hlen: 6, hops: 0, xid: 0xdeadbeef, secs: 5, flags: 0x8000 });
    expect(m.giaddr).toBe(0x0a010001);
    expect(m.options).toEqual([{ code: 53, data: Uint8Array.of(1) }]);
  });

  it('treats a packet without the magic cookie as BOOTP: no options, vend kept for the round trip', () => {
    const bytes = [...header(), ...range(64, 1)]; // RFC 951 vend field, not RFC 1048
    const m = decode(bytes);
    expect(m.hasCookie).toBe(false);
    expect(m.options).toEqual([]);
    expect(Array.from(encodeDhcp(m))).toEqual(bytes);
  });

  it.each([
    ['truncated-header', header().concat(COOKIE).slice(0, 239)],
    ['bad-op', [...header({ op: 3 }), ...COOKIE, 255]],
    ['bad-hlen', [...header({ hlen: 17 }), ...COOKIE, 255]],
    ['hops-exceeded', [...header({ hops: 17 }), ...COOKIE, 255]],
  ] as const)('%s', (reason, bytes) => {
    expect(decodeErr([...bytes]).reason).toBe(reason);
  });

  it('accepts hops = 16, the last value a relay forwards (RFC 1542 4.1.1)', () => {
    expect(decode([...header({ hops: 16 }), ...COOKIE, 255]).hops).toBe(16);
  });

  it('rejects a payload larger than any UDP datagram', () => {
    expect(decodeErr([...header(), ...COOKIE, ...new Array<number>(65507 - 239).fill(0)]).reason).toBe(
      'oversize',
    );
  });
});

describe('decodeDhcp: options', () => {
  it('RFC 3396: concatenates split instances of one code in order, even when other options sit between', () => {
    // prettier-ignore
    const m = decode([
      ...header(),
      ...COOKIE,
      53, 1, 3, // message type REQUEST
      119, 255, ...range(255), // domain search, first 255 octets
      12, 2, 0x68, 0x6f, // host name "ho" in between
      119, 45, ...range(45, 255), // domain search, last 45 octets
      255, // end
    ]);
    expect(m.options.map((o) => o.code)).toEqual([53, 119, 12]);
    expect(Array.from(getOption(m, 119)!)).toEqual(range(300));
  });

  it('RFC 2132 9.3: overload 3 reads options, then file, then sname, and concatenates across them', () => {
    // prettier-ignore
    const m = decode([
      ...header({
        sname: field([15, 3, 0x6e, 0x65, 0x74, 255], 64), // domain name "net" (second part), end
        file: field([15, 5, 0x65, 0x78, 0x61, 0x6d, 0x2e, 6, 4, 10, 0, 0, 30, 255], 128), // "exam.", DNS, end
      }),
      ...COOKIE,
      53, 1, 5, // message type ACK
      52, 1, 3, // overload: file and sname
      255, // end
    ]);
    expect(m.options.map((o) => o.code)).toEqual([53, 15, 6]);
    expect(new TextDecoder().decode(getOption(m, 15))).toBe('exam.net');
    expect(m.file.every((b) => b === 0) && m.sname.every((b) => b === 0)).toBe(true); // they carried options
    expect(m.layout?.overload).toBe(3);
  });

  it('overload 1 leaves sname as a name', () => {
    const sname = field([0x62, 0x6f, 0x6f, 0x74], 64); // "boot"
    const file = field([3, 4, 10, 1, 0, 1, 255], 128); // routers 10.1.0.1, end
    const m = decode([...header({ sname, file }), ...COOKIE, 52, 1, 1, 255]);
    expect(Array.from(m.sname)).toEqual(sname);
    expect(Array.from(getOption(m, 3)!)).toEqual([10, 1, 0, 1]);
  });

  it('overload loop: option 52 inside the file field', () => {
    const file = field([52, 1, 3, 255], 128);
    expect(decodeErr([...header({ file }), ...COOKIE, 52, 1, 1, 255]).reason).toBe('overload-loop');
  });

  it.each([
    ['value 0', [52, 1, 0]],
    ['value 4', [52, 1, 4]],
    ['length 2', [52, 2, 1, 2]],
  ])('bad overload %s', (_name, opt) => {
    expect(decodeErr([...header(), ...COOKIE, ...opt, 255]).reason).toBe('bad-overload-value');
  });

  it('truncated option: a code octet with no length at the end of the packet', () => {
    const e = decodeErr([...header(), ...COOKIE, 53, 1, 1, 12]);
    expect(e.reason).toBe('truncated-option');
  });

  it('bad option length: a length running past the end of the packet', () => {
    const e = decodeErr([...header(), ...COOKIE, 53, 1, 1, 12, 10, 0x61, 0x62]); // says 10, has 2
    expect(e.reason).toBe('option-overrun');
  });

  it('bad option length inside file: the file field is its own area', () => {
    const file = field([], 126).concat([12, 5]); // host name of 5 octets at the very end of file
    expect(decodeErr([...header({ file }), ...COOKIE, 52, 1, 1, 255]).reason).toBe('option-overrun');
  });

  it('message type must be exactly one octet', () => {
    expect(decodeErr([...header(), ...COOKIE, 53, 2, 1, 1, 255]).reason).toBe('bad-option-length');
  });

  it('tolerates a missing end option and pads between options; keeps zero-length options', () => {
    const m = decode([...header(), ...COOKIE, 53, 1, 1, 0, 0, 80, 0]); // rapid commit (RFC 4039), no end
    expect(m.options).toEqual([
      { code: 53, data: Uint8Array.of(1) },
      { code: 80, data: new Uint8Array(0) },
    ]);
  });

  it('option 82: circuit id and remote id sub-options (RFC 3046 2.0), echoed unchanged', () => {
    // prettier-ignore
    const opt82 = [
      82, 20, // relay agent information, 20 octets
      1, 6, 0x65, 0x74, 0x68, 0x30, 0x2f, 0x31, // circuit id "eth0/1"
      2, 6, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // remote id (a MAC)
      9, 2, 0xaa, 0xbb, // another sub-option, kept
    ];
    const m = decode([...header(), ...COOKIE, 53, 1, 1, ...opt82, 255]);
    const info = getRelayAgentInfo(m)!;
    expect(new TextDecoder().decode(info.circuitId)).toBe('eth0/1');
    expect(Array.from(info.remoteId!)).toEqual([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
    expect(info.subOptions.map((s) => s.code)).toEqual([1, 2, 9]);
    const { layout: _l, ...bare } = m;
    expect(Array.from(encodeDhcp(bare)).slice(243, 243 + 22)).toEqual(opt82);
  });

  it('option 82 with a sub-option overrunning the option is malformed as a whole', () => {
    const m = decode([...header(), ...COOKIE, 82, 4, 1, 5, 0x61, 0x62, 255]);
    expect(getRelayAgentInfo(m)).toBeUndefined();
  });
});

/** A reply built from scratch, as the server core would. */
function reply(options: { code: number; data: Uint8Array }[], extra: Partial<DhcpMessage> = {}): DhcpMessage {
  return {
    ...{ op: 2, htype: 1, hlen: 6, hops: 0, xid: 1, secs: 0, flags: 0 },
    ...{ ciaddr: 0, yiaddr: 0x0a010005, siaddr: 0, giaddr: 0 },
    chaddr: Uint8Array.of(2, 0, 0, 0, 0, 1, ...new Array<number>(10).fill(0)),
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    hasCookie: true,
    options,
    ...extra,
  };
}
const opt = (code: number, len: number, from = 0) => ({ code, data: Uint8Array.from(range(len, from)) });
const mt = { code: 53, data: Uint8Array.of(5) };
const sid = { code: 54, data: Uint8Array.of(10, 0, 0, 2) };

describe('encodeDhcp', () => {
  it('puts message type first and server id second, ends, and pads to 300 octets', () => {
    const out = encodeDhcp(reply([opt(1, 4), sid, mt]));
    expect(out.length).toBe(300);
    // prettier-ignore
    expect(Array.from(out.subarray(236, 256))).toEqual([
      ...COOKIE,
      53, 1, 5, // message type ACK
      54, 4, 10, 0, 0, 2, // server id
      1, 4, 0, 1, 2, 3, // subnet mask (test data)
      255, // end
    ]);
    expect(out.subarray(256).every((b) => b === 0)).toBe(true);
  });

  it('RFC 3396: splits a 600-octet value into 255 + 255 + 90 and decodes it back whole', () => {
    const out = encodeDhcp(reply([mt, opt(43, 600)]), { maxSize: 1500 });
    expect([out[243], out[244]]).toEqual([43, 255]); // first instance, after cookie and 53 (3 octets)
    expect([out[243 + 257], out[243 + 258]]).toEqual([43, 255]);
    expect([out[243 + 514], out[243 + 515]]).toEqual([43, 90]);
    const back = decodeDhcp(out) as DhcpMessage;
    expect(Array.from(getOption(back, 43)!)).toEqual(range(600));
  });

  it('overloads into file, then sname, when the reply exceeds the client maximum (576)', () => {
    // 548 - 240 = 308 octets of options room at 576: 53 (3) + 54 (6) + 43 (252) fit with 4 to spare for 52 and
    // end; 15 (102) goes to file (128); 17 (22) still fits the options field; 66 (32) goes to sname (64).
    const m = reply([mt, sid, opt(43, 250), opt(15, 100), opt(17, 20), opt(66, 30)]);
    const r = encodeDhcpDetailed(m, { maxSize: 576, allowOverload: true });
    expect(r.bytes.length).toBeLessThanOrEqual(548);
    expect(r.overload).toBe(3);
    expect(r.dropped).toEqual([]);
    expect(Array.from(r.bytes.subarray(108, 111))).toEqual([15, 100, 0]); // file starts with option 15
    expect(Array.from(r.bytes.subarray(44, 46))).toEqual([66, 30]); // sname starts with option 66
    const back = decodeDhcp(r.bytes) as DhcpMessage;
    expect(back.options.map((o) => o.code)).toEqual([53, 54, 43, 17, 15, 66]); // options, file, sname (RFC 3396 5)
    for (const o of m.options) expect(getOption(back, o.code)).toEqual(o.data);
  });

  it('overloading keeps relay agent information (82) in the options field, after 52, where relays strip it', () => {
    const m = reply([mt, sid, opt(43, 250), opt(15, 100), opt(82, 12)]);
    const r = encodeDhcpDetailed(m, { maxSize: 576, allowOverload: true });
    expect(r.overload).toBe(1);
    expect(r.dropped).toEqual([]);
    expect(areas(r.bytes).options).toEqual(['53/1', '54/4', '43/250', '52/1', '82/12', 'end']);
    const back = decodeDhcp(r.bytes) as DhcpMessage;
    expect(Array.from(getOption(back, 82)!)).toEqual(range(12));
  });

  it('relay agent information does not take room from the client (ISC adds its size to the field)', () => {
    const m = reply([mt, sid, opt(43, 250), opt(15, 40), opt(82, 30)]);
    const r = encodeDhcpDetailed(m, { maxSize: 576 });
    expect(r.dropped).toEqual([]);
    expect(areas(r.bytes).options).toEqual(['53/1', '54/4', '43/250', '15/40', '82/30', 'end']);
  });

  it('never overloads a file field that carries a boot file name: splits into sname instead (RFC 3396)', () => {
    const file = new Uint8Array(128);
    file.set(new TextEncoder().encode('pxelinux.0'));
    const m = reply([mt, sid, opt(43, 250), opt(15, 100)], { file });
    const r = encodeDhcpDetailed(m, { allowOverload: true });
    expect(r.overload).toBe(2);
    expect(r.dropped).toEqual([]);
    // 41 octets of 15 fill the options field up to option 52 and end (RFC 2131 4.1; ISC splits at 42 and leaves
    // end out), 59 go to sname.
    expect(areas(r.bytes)).toEqual({
      options: ['53/1', '54/4', '43/250', '15/41', '52/1', 'end'],
      file: undefined,
      sname: ['15/59', 'end'],
    });
    const back = decodeDhcp(r.bytes) as DhcpMessage;
    expect(new TextDecoder().decode(back.file.subarray(0, 10))).toBe('pxelinux.0');
    expect(getOption(back, 15)).toEqual(m.options[3]!.data);
  });

  it('without allowOverload drops non-essential options from the end, keeping lease time and routers', () => {
    const lease = { code: 51, data: Uint8Array.of(0, 0, 3, 132) };
    const m = reply([mt, sid, lease, opt(3, 4), opt(43, 250), opt(15, 100)]);
    const r = encodeDhcpDetailed(m);
    expect(r.dropped).toEqual([15]);
    const back = decodeDhcp(r.bytes) as DhcpMessage;
    expect(back.options.map((o) => o.code)).toEqual([53, 54, 51, 3, 43]);
  });

  it('honours a larger client maximum (option 57) without dropping', () => {
    const m = reply([mt, sid, opt(43, 250), opt(15, 100)]);
    expect(encodeDhcpDetailed(m, { maxSize: 1500 }).dropped).toEqual([]);
  });

  it('refuses to emit pad, end or overload as options', () => {
    const bogus = [mt, { code: 52, data: Uint8Array.of(3) }, { code: 255, data: new Uint8Array() }];
    expect(encodeDhcpDetailed(reply(bogus)).dropped).toEqual([52, 255]);
  });

  it('replays a decoded layout, and falls back to the canonical one once the message is changed', () => {
    // pads before 53, two octets of junk after end
    const m = decode([...header(), ...COOKIE, 0, 0, 53, 1, 1, 12, 2, 0x61, 0x62, 255, 7, 7]);
    expect(Array.from(encodeDhcp(m)).slice(240)).toEqual([0, 0, 53, 1, 1, 12, 2, 0x61, 0x62, 255, 7, 7]);
    const changed = { ...m, options: [...m.options, opt(15, 3)] };
    const out = encodeDhcp(changed);
    expect(out.length).toBe(300);
    // prettier-ignore
    expect(Array.from(out.subarray(240, 254))).toEqual([
      53, 1, 1, // message type
      12, 2, 0x61, 0x62, // host name
      15, 3, 0, 1, 2, // the added option
      255, 0, // end, padding
    ]);
  });
});

/** The options field, file and sname of an encoded message as `code/length` lists (file/sname only if overloaded). */
function areas(b: Uint8Array): {
  options: string[];
  file: string[] | undefined;
  sname: string[] | undefined;
} {
  let ov = 0;
  const walk = (from: number, to: number): string[] => {
    const out: string[] = [];
    for (let i = from; i < to;) {
      if (b[i] === 0) i++;
      else if (b[i] === 255) return [...out, 'end'];
      else {
        if (b[i] === 52) ov = b[i + 2]!;
        out.push(`${b[i]}/${b[i + 1]}`);
        i += 2 + b[i + 1]!;
      }
    }
    return out;
  };
  const options = walk(240, b.length);
  return {
    options,
    file: ov & 1 ? walk(108, 236) : undefined,
    sname: ov & 2 ? walk(44, 108) : undefined,
  };
}

/**
 * Where options land when they do not all fit, compared with ISC dhcpd 4.4.3's replies. Obtained by running the real
 * dhcpd (Debian isc-dhcp-server 4.4.3) in a network namespace with a dhcpd.conf setting routers (3), four
 * domain-name-servers (6, 16 octets), domain-name (15, 15 octets), root-path (17, 157), extensions-path (18, 93),
 * broadcast-address (28), two ntp-servers (42, 8) and merit-dump (14, 94), lease time 600, and sending it raw
 * DISCOVERs / BOOTREQUESTs from a Python script; the lists below are what its replies carried in each area.
 * The message here lists the options in the order ISC's priority list had them.
 */
describe('encodeDhcp packs options as ISC dhcpd 4.4.3 does', () => {
  const lease = { code: 51, data: Uint8Array.of(0, 0, 2, 88) };
  const offer = { code: 53, data: Uint8Array.of(2) };
  const o = (code: number, len: number) => opt(code, len);
  const byCode: Record<number, number> = { 1: 4, 3: 4, 6: 16, 15: 15, 17: 157, 18: 93, 28: 4, 42: 8, 14: 94 };
  const list = (...codes: number[]) => codes.map((c) => o(c, byCode[c]!));

  it('DISCOVER requesting 1,3,6,15,17,18,28,42,14 at 576: 18 to file, 28 and 42 still in the options field, 14 split', () => {
    const m = reply([offer, sid, lease, ...list(1, 3, 6, 15, 17, 18, 28, 42, 14)]);
    const r = encodeDhcpDetailed(m, { maxSize: 576, allowOverload: true });
    expect(r.bytes.length).toBe(548); // ISC: 548 octets (576 with IP and UDP headers)
    expect(r.dropped).toEqual([]);
    expect(areas(r.bytes)).toEqual({
      // ISC splits 14 as 66 + 28 and sends the options field full after 52, with no end option; RFC 2131 4.1
      // wants one, so 14 is split one octet earlier.
      options: [
        '53/1',
        '54/4',
        '51/4',
        '1/4',
        '3/4',
        '6/16',
        '15/15',
        '17/157',
        '28/4',
        '42/8',
        '14/65',
        '52/1',
        'end',
      ],
      file: ['18/93', '14/29', 'end'],
      sname: undefined,
    });
    const back = decodeDhcp(r.bytes) as DhcpMessage;
    expect(getOption(back, 14)).toEqual(o(14, 94).data); // RFC 3396: the two parts joined
  });

  it('DISCOVER without a request list (ISC priority 1,3,6,17,18,28,42,14,15): file and sname both used', () => {
    const m = reply([offer, sid, lease, ...list(1, 3, 6, 17, 18, 28, 42, 14, 15)]);
    const r = encodeDhcpDetailed(m, { allowOverload: true });
    expect(r.bytes.length).toBe(543); // ISC: 543
    expect(r.overload).toBe(3);
    expect(areas(r.bytes)).toEqual({
      options: ['53/1', '54/4', '51/4', '1/4', '3/4', '6/16', '17/157', '18/93', '52/1', 'end'],
      file: ['28/4', '42/8', '14/94', 'end'],
      sname: ['15/15', 'end'],
    });
  });

  it('a request list in another order (14,17,18,1,3,6,15,28,42): whatever does not fit moves on, 42 to sname', () => {
    const m = reply([offer, sid, lease, ...list(14, 17, 18, 1, 3, 6, 15, 28, 42)]);
    const r = encodeDhcpDetailed(m, { allowOverload: true });
    expect(r.bytes.length).toBe(544); // ISC: 544
    expect(areas(r.bytes)).toEqual({
      options: ['53/1', '54/4', '51/4', '14/94', '17/157', '1/4', '3/4', '6/16', '52/1', 'end'],
      file: ['18/93', '15/15', '28/4', 'end'],
      sname: ['42/8', 'end'],
    });
  });

  it('BOOTP, fixed host (64-octet vend, no overload): what does not fit whole is left out, smaller ones still go in', () => {
    const m = reply(list(1, 3, 6, 17, 18, 28, 42, 14, 15));
    const r = encodeDhcpDetailed(m); // no option 53: a BOOTP reply, RFC 951's 64-octet vend field
    expect(r.bytes.length).toBe(300); // ISC: 300
    expect(r.dropped).toEqual([17, 18, 14, 15]);
    expect(areas(r.bytes).options).toEqual(['1/4', '3/4', '6/16', '28/4', '42/8', 'end']);
  });

  it('BOOTP, dynamic: ISC splits 17 over all three areas (its DHCP path); we never overload a BOOTP reply', () => {
    // ISC 4.4.3: options 1,3,6,17/25,52 | file 17/125 | sname 17/7,28,42,15; 18 and 14 left out. RFC 951 clients
    // read file and sname as names, so we keep to the 64-octet vend field, as ISC does for a host declaration.
    const m = reply(list(1, 3, 6, 17, 18, 28, 42, 14, 15));
    const r = encodeDhcpDetailed(m, { allowOverload: true });
    expect(r.bytes.length).toBe(300);
    expect(r.overload).toBe(0);
    expect(areas(r.bytes).options).toEqual(['1/4', '3/4', '6/16', '28/4', '42/8', 'end']);
  });
});
