import { describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import { OPTION_DEFS_BY_CODE, type OptionType } from './option-defs.js';
import {
  decodeDomainList,
  decodeOptionValue,
  encodeDomainList,
  encodeOptionValue,
  FQDN_FLAG_E,
  FQDN_FLAG_S,
  OptionValueError,
  type OptionJsValue,
} from './option-values.js';

const ip = (s: string) => parseIp4(s)!;
const hex = (s: string) => Uint8Array.from(s.split(/[\s:]+/).filter(Boolean), (h) => parseInt(h, 16));

function roundTrip(v: OptionJsValue, wire: Uint8Array): void {
  expect(encodeOptionValue(v.type, v)).toEqual(wire);
  expect(decodeOptionValue(v.type, wire)).toEqual(v);
}

describe('fixed-size values', () => {
  it('ip, ips and ip-pairs are big-endian addresses', () => {
    roundTrip({ type: 'ip', value: ip('255.255.255.0') }, hex('ff ff ff 00'));
    roundTrip({ type: 'ips', value: [ip('10.0.0.1'), ip('10.0.0.2')] }, hex('0a 00 00 01 0a 00 00 02'));
    roundTrip(
      { type: 'ip-pairs', value: [[ip('10.1.0.0'), ip('10.0.0.1')]] },
      hex('0a 01 00 00  0a 00 00 01'),
    );
  });

  it('integers of each width, signed time-offset included', () => {
    roundTrip({ type: 'u8', value: 64 }, hex('40'));
    roundTrip({ type: 'u16', value: 1500 }, hex('05 dc'));
    roundTrip({ type: 'u32', value: 0xffffffff }, hex('ff ff ff ff')); // infinite lease
    roundTrip({ type: 'i32', value: -3600 }, hex('ff ff f1 f0'));
    roundTrip({ type: 'u8s', value: [1, 3, 6, 15] }, hex('01 03 06 0f'));
    roundTrip({ type: 'u16s', value: [68, 296] }, hex('00 44 01 28'));
    roundTrip({ type: 'u32s', value: [1, 0x01020304] }, hex('00 00 00 01 01 02 03 04'));
    roundTrip({ type: 'bool', value: true }, hex('01'));
    roundTrip({ type: 'bool', value: false }, hex('00'));
  });

  it('rejects data whose length does not fit the type', () => {
    const bad: Array<[OptionType, string]> = [
      ['ip', '0a 00 00'],
      ['ips', ''],
      ['ips', '0a 00 00 01 0a'],
      ['ip-pairs', '0a 00 00 01'],
      ['u8', ''],
      ['u16', '01'],
      ['u32', '01 02 03'],
      ['i32', '01 02 03 04 05'],
      ['u16s', '01 02 03'],
      ['u32s', ''],
      ['bool', '02'],
      ['bool', '00 01'],
    ];
    for (const [type, h] of bad) expect(decodeOptionValue(type, hex(h)), `${type} ${h}`).toBeUndefined();
  });

  it('refuses to encode a value out of range or tagged for another type', () => {
    expect(() => encodeOptionValue('u8', { type: 'u8', value: 256 })).toThrow(OptionValueError);
    expect(() => encodeOptionValue('u16', { type: 'u16', value: -1 })).toThrow(OptionValueError);
    expect(() => encodeOptionValue('i32', { type: 'i32', value: 2 ** 31 })).toThrow(OptionValueError);
    expect(() => encodeOptionValue('ips', { type: 'ips', value: [] })).toThrow(OptionValueError);
    expect(() => encodeOptionValue('u16', { type: 'u8', value: 1 })).toThrow(OptionValueError);
  });
});

describe('text and bytes', () => {
  it('text is UTF-8; trailing NULs some clients send are dropped', () => {
    roundTrip({ type: 'text', value: 'pxelinux.0' }, hex('70 78 65 6c 69 6e 75 78 2e 30'));
    expect(decodeOptionValue('text', hex('70 63 31 00'))).toEqual({ type: 'text', value: 'pc1' });
  });

  it('text that is not UTF-8 is not decoded (the caller keeps raw bytes)', () => {
    expect(decodeOptionValue('text', hex('70 ff 31'))).toBeUndefined();
  });

  it('bytes are copied through', () => {
    roundTrip({ type: 'bytes', value: hex('01 00 11 22 33 44 55') }, hex('01 00 11 22 33 44 55'));
  });
});

describe('domain lists (RFC 1035 / RFC 3397)', () => {
  // RFC 3397 section 4 example: "eng.apple.com." and "marketing.apple.com."
  const rfc3397 = hex('03 65 6e 67 05 61 70 70 6c 65 03 63 6f 6d 00 09 6d 61 72 6b 65 74 69 6e 67 c0 04');

  it('encodes with compression exactly as the RFC 3397 example', () => {
    expect(encodeDomainList(['eng.apple.com', 'marketing.apple.com'])).toEqual(rfc3397);
  });

  it('decodes the RFC 3397 example, following the pointer', () => {
    expect(decodeOptionValue('domains', rfc3397)).toEqual({
      type: 'domains',
      value: ['eng.apple.com', 'marketing.apple.com'],
    });
  });

  it('decodes uncompressed lists and lists ending in a pointer chain', () => {
    // a.b, then c -> pointer to "b" (offset 2), then pointer to offset 5 ("c" -> "b")
    const b = hex('01 61 01 62 00  01 63 c0 02  c0 05');
    expect(decodeDomainList(b)).toEqual(['a.b', 'c.b', 'c.b']);
  });

  it('rejects pointer loops, forward pointers and self pointers', () => {
    expect(decodeDomainList(hex('c0 00'))).toBeUndefined(); // points at itself
    expect(decodeDomainList(hex('01 61 c0 00'))).toBeUndefined(); // back into its own name
    expect(decodeDomainList(hex('c0 02 01 61 00'))).toBeUndefined(); // forward
    expect(decodeDomainList(hex('01 61 00 01 62 c0 03'))).toBeUndefined(); // into the current name
  });

  it('rejects truncated names, over-long labels and reserved label types', () => {
    expect(decodeDomainList(hex('03 61 62'))).toBeUndefined();
    expect(decodeDomainList(hex('01 61'))).toBeUndefined(); // no root label
    expect(decodeDomainList(hex('40 61 00'))).toBeUndefined();
    expect(decodeDomainList(hex('c0'))).toBeUndefined();
    expect(() => encodeDomainList(['a'.repeat(64) + '.com'])).toThrow(OptionValueError);
    expect(() => encodeDomainList(['a..b'])).toThrow(OptionValueError);
  });

  it('rejects names longer than 255 octets even when built from pointers', () => {
    const label = [63, ...new Array<number>(63).fill(0x61)];
    // four 64-byte labels = 256 + root > 255
    const b = Uint8Array.from([...label, ...label, ...label, ...label, 0]);
    expect(decodeDomainList(b)).toBeUndefined();
  });
});

describe('classless static routes (RFC 3442)', () => {
  it('sends only the significant octets of each destination', () => {
    roundTrip(
      {
        type: 'routes',
        value: [
          { network: ip('10.0.0.0'), prefix: 8, router: ip('192.168.1.1') },
          { network: ip('0.0.0.0'), prefix: 0, router: ip('192.168.1.254') },
          { network: ip('172.16.32.0'), prefix: 20, router: ip('192.168.1.2') },
        ],
      },
      hex('08 0a c0 a8 01 01  00 c0 a8 01 fe  14 ac 10 20 c0 a8 01 02'),
    );
  });

  it('rejects prefix > 32, truncation and empty data', () => {
    expect(decodeOptionValue('routes', hex('21 0a 00 00 00 00 c0 a8 01 01'))).toBeUndefined();
    expect(decodeOptionValue('routes', hex('18 0a 00 00 c0 a8 01'))).toBeUndefined();
    expect(decodeOptionValue('routes', hex(''))).toBeUndefined();
  });
});

describe('client FQDN (RFC 4702)', () => {
  it('canonical encoding: fully qualified names end in the root label, partial ones do not', () => {
    roundTrip(
      { type: 'fqdn', value: { flags: FQDN_FLAG_S | FQDN_FLAG_E, rcode1: 0, rcode2: 0, name: 'pc1.lan.' } },
      hex('05 00 00 03 70 63 31 03 6c 61 6e 00'),
    );
    roundTrip(
      { type: 'fqdn', value: { flags: FQDN_FLAG_E, rcode1: 0, rcode2: 0, name: 'pc1' } },
      hex('04 00 00 03 70 63 31'),
    );
  });

  it('ASCII encoding (deprecated but still sent by old clients) keeps the text', () => {
    roundTrip(
      { type: 'fqdn', value: { flags: 0, rcode1: 255, rcode2: 255, name: 'pc1.lan' } },
      hex('00 ff ff 70 63 31 2e 6c 61 6e'),
    );
  });

  it('rejects short data and compression pointers in canonical names', () => {
    expect(decodeOptionValue('fqdn', hex('05 00'))).toBeUndefined();
    expect(decodeOptionValue('fqdn', hex('05 00 00 01 61 c0 00'))).toBeUndefined();
  });
});

describe('encapsulated sub-options (RFC 3046)', () => {
  it('round-trips circuit-id and remote-id', () => {
    roundTrip(
      {
        type: 'encap',
        value: [
          { code: 1, data: hex('00 04 00 01') },
          { code: 2, data: hex('aa bb') },
        ],
      },
      hex('01 04 00 04 00 01  02 02 aa bb'),
    );
  });

  it('rejects a sub-option running past the end', () => {
    expect(decodeOptionValue('encap', hex('01 05 00 04'))).toBeUndefined();
    expect(decodeOptionValue('encap', hex('01'))).toBeUndefined();
  });
});

describe('robustness', () => {
  it('decode never throws on random data for any option type, and re-encodes what it accepts', () => {
    const types = [...new Set([...OPTION_DEFS_BY_CODE.values()].map((d) => d.type))];
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let n = 0; n < 3000; n++) {
      const len = Math.floor(rnd() * 24);
      const b = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
      for (const t of types) {
        const v = decodeOptionValue(t, b);
        if (v && t !== 'text' && t !== 'routes' && t !== 'domains' && t !== 'fqdn') {
          // Lossless types: decode -> encode gives the same bytes.
          expect(encodeOptionValue(t, v)).toEqual(b);
        }
      }
    }
  });
});
