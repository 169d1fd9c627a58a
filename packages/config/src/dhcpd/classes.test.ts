/**
 * Classes and conditionals end to end: a dhcpd.conf read by the reader, served by the DHCP core. The expected
 * answers are ISC 4.4.3's as dhcpd.conf(5) documents them and as its dhcp.c ack_lease runs the scopes (subnet,
 * pool, classes last-to-first, host; each supersedes the one before): host > class (first matched) > pool >
 * subnet > shared-network > global; `allow members of` admits only members, `deny members of` excludes them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIp4, parseIp4 } from '@hadhcp/common';
import { type DhcpServerCore, type DhcpMessage, type DhcpOption } from '@hadhcp/dhcp';
import { clientMsg, MessageType, readConf, serveConf } from '../../test-vectors/serve.js';

const T0 = 1_700_000_000_000;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b).replace(/\0+$/, '');

/** ping-check off: an OFFER at once rather than a probe first. */
const serve = (conf: string): DhcpServerCore => serveConf(`ping-check false;\n${conf}`);

function msg(type: MessageType, mac: string, options: DhcpOption[] = [], requested?: string): DhcpMessage {
  return clientMsg(type, { mac, xid: 0x1234, requested, serverId: requested && '10.0.0.1', extra: options });
}

const meta = { receivedOn: { iface: 'eth0', localIp: parseIp4('10.0.0.1')! }, srcIp: 0, srcPort: 68 };

/** A DISCOVER's answer: the address offered, the file, next-server and option values by code. */
function offer(core: DhcpServerCore, mac: string, options: DhcpOption[] = [], on = meta) {
  const d = core.handle(msg(MessageType.DISCOVER, mac, options), on, T0);
  const r = d.reply?.msg;
  if (!r)
    return {
      dropped: d.drop?.reason,
      log: d.log,
      ip: undefined,
      file: undefined,
      next: undefined,
      lease: undefined,
      opt: (_code: number): string | undefined => undefined,
    };
  const opt = (code: number) => r.options.find((o) => o.code === code)?.data;
  return {
    dropped: undefined,
    log: d.log,
    ip: formatIp4(r.yiaddr),
    file: dec(r.file),
    next: formatIp4(r.siaddr),
    lease: opt(51) && new DataView(opt(51)!.buffer, opt(51)!.byteOffset).getUint32(0),
    opt: (code: number) => (opt(code) ? dec(opt(code)!) : undefined),
  };
}

function ack(core: DhcpServerCore, mac: string, ip: string, options: DhcpOption[] = [], at = T0) {
  const d = core.handle(msg(MessageType.REQUEST, mac, options, ip), meta, at);
  return d.reply ? MessageType[d.reply.msg.options[0]!.data[0]!] : d.drop?.reason;
}

function ackFile(core: DhcpServerCore, mac: string, ip: string, at: number) {
  return dec(core.handle(msg(MessageType.REQUEST, mac, [], ip), meta, at).reply!.msg.file);
}

const VCI = (s: string): DhcpOption => ({ code: 60, data: enc(s) });
const USER_CLASS = (s: string): DhcpOption => ({ code: 77, data: enc(s) });
const ARCH = (n: number): DhcpOption => ({ code: 93, data: Uint8Array.of(n >> 8, n & 255) });
const AGENT = (circuit: string): DhcpOption => ({
  code: 82,
  data: Uint8Array.of(1, circuit.length, ...enc(circuit)),
});

/** DISCOVER then REQUEST, as udhcpc does; the ACK as probe.sh prints it (empty for what is absent). */
function lease(core: DhcpServerCore, mac: string, opts: DhcpOption[], on: typeof meta, at: number): string {
  const d = core.handle(msg(MessageType.DISCOVER, mac, opts), on, at);
  const yi = d.reply?.msg.yiaddr;
  if (yi === undefined) return 'nothing';
  const r = core.handle(msg(MessageType.REQUEST, mac, opts, formatIp4(yi)), on, at).reply?.msg;
  if (!r || r.options[0]!.data[0] !== MessageType.ACK) return 'nothing';
  const opt = (code: number) => r.options.find((o) => o.code === code)?.data;
  const lt = opt(51)!;
  const text = (code: number) => (opt(code) ? dec(opt(code)!) : '');
  return [
    `ip=${formatIp4(r.yiaddr)}`,
    `next=${r.siaddr ? formatIp4(r.siaddr) : ''}`,
    `file=${dec(r.file)}`,
    `domain=${text(15)}`,
    `rootpath=${text(17)}`,
    `lease=${new DataView(lt.buffer, lt.byteOffset).getUint32(0)}`,
  ].join(' ');
}

describe.each(['probe', 'probe-permits', 'probe-if', 'probe-gate'])(
  "ISC's answers: fixtures/classes/%s.conf served by dhcpd 4.4.3 (probe.sh, the .log) and by hadhcp",
  (name) => {
    const dir = new URL('../../fixtures/classes/', import.meta.url);
    const conf = readFileSync(new URL(`${name}.conf`, dir), 'utf8');
    const log = readFileSync(new URL(`${name}.log`, dir), 'utf8')
      .trim()
      .split('\n');
    const core = serve(conf);
    const link = { ...meta, receivedOn: { iface: 'clsq0', localIp: parseIp4('10.77.0.1')! } };
    // In the order probe.sh ran them: lease limits and held addresses depend on what came before.
    log.forEach((line, i) => {
      const [, mac, vendor, extra, want] = /^(\S+) vendor=(\S+)((?: -x \S+)*): (.*)$/.exec(line)!;
      it(`${mac} vendor ${vendor}${extra}: ${want}`, () => {
        const opts = vendor === '-' ? [] : [VCI(vendor!)];
        // udhcpc's `-x 0xCODE:HEX`: an option of that code with those bytes.
        for (const [, code, hex] of extra!.matchAll(/-x 0x([0-9a-f]+):([0-9a-f]+)/g))
          opts.push({
            code: parseInt(code!, 16),
            data: Uint8Array.from(hex!.match(/../g)!, (h) => parseInt(h, 16)),
          });
        // udhcpc asks for root-path (17) and domain-name (15), as probe.sh makes it.
        expect(
          lease(
            core,
            mac!,
            [...opts, { code: 55, data: Uint8Array.of(1, 3, 6, 15, 17) }],
            link,
            T0 + i * 1000,
          ),
        ).toBe(want);
      });
    });
  },
);

describe('scope order: host > class > pool > subnet > shared-network > global', () => {
  const conf = `
    ddns-update-style none;
    filename "global";
    default-lease-time 100;
    class "phones" {
      match if substring(option vendor-class-identifier, 0, 7) = "Polycom";
      filename "phones";
      option tftp-server-name "phones";
    }
    class "polycom-vvx" {
      match if option vendor-class-identifier = "Polycom-VVX";
      filename "vvx";
      option tftp-server-name "vvx";
      default-lease-time 900;
    }
    shared-network office {
      filename "shared";
      option domain-name "shared.example";
      subnet 10.0.0.0 netmask 255.255.255.0 {
        filename "subnet";
        option tftp-server-name "subnet";
        pool { filename "pool"; range 10.0.0.10 10.0.0.20; }
      }
    }
    host desk { hardware ethernet 52:54:00:00:00:09; filename "host"; }
  `;
  const core = serve(conf);

  it('a client in no class and with no host gets the pool scope first', () => {
    const o = offer(core, '52:54:00:00:00:01');
    expect([o.file, o.opt(66), o.opt(15), o.lease]).toEqual(['pool', 'subnet', 'shared.example', 100]);
  });

  it('a class member gets the class statements over the pool', () => {
    const o = offer(core, '52:54:00:00:00:02', [VCI('Polycom-SoundPoint')]);
    expect([o.file, o.opt(66)]).toEqual(['phones', 'phones']);
  });

  it('a client in two classes: the first declared wins where both set a value', () => {
    const o = offer(core, '52:54:00:00:00:03', [VCI('Polycom-VVX')]);
    // In both "phones" and "polycom-vvx": "phones" was declared first, so its filename and option win; the
    // lease time only "polycom-vvx" sets still applies.
    expect([o.file, o.opt(66), o.lease]).toEqual(['phones', 'phones', 900]);
  });

  it('a host declaration wins over the class', () => {
    const o = offer(core, '52:54:00:00:00:09', [VCI('Polycom-SoundPoint')]);
    expect([o.file, o.opt(66)]).toEqual(['host', 'phones']);
  });
});

describe('pool permits: allow / deny members of', () => {
  // A server per case: each pool has one address, which an OFFER holds.
  const core = () =>
    serve(`
    class "phones" { match if substring(option vendor-class-identifier, 0, 7) = "Polycom"; }
    class "printers" { match if option vendor-class-identifier = "HP LaserJet"; }
    subnet 10.0.0.0 netmask 255.255.255.0 {
      pool { allow members of "phones"; range 10.0.0.10 10.0.0.10; }
      pool { deny members of "phones"; deny members of "printers"; range 10.0.0.20 10.0.0.20; }
      pool { allow members of "printers"; allow known-clients; range 10.0.0.30 10.0.0.30; }
    }
    host known1 { hardware ethernet 52:54:00:00:01:09; }
  `);

  it('a member of an allow list gets that pool', () => {
    expect(offer(core(), '52:54:00:00:01:01', [VCI('Polycom-VVX')]).ip).toBe('10.0.0.10');
  });
  it('a client in no class is kept out of pools with allow lists, not out of deny-only pools', () => {
    expect(offer(core(), '52:54:00:00:01:02').ip).toBe('10.0.0.20');
  });
  it('deny excludes; another pool whose allow list names the class admits', () => {
    expect(offer(core(), '52:54:00:00:01:03', [VCI('HP LaserJet')]).ip).toBe('10.0.0.30');
  });
  it('allow lists are or-ed: known-clients admits a known client in no class', () => {
    expect(offer(core(), '52:54:00:00:01:09').ip).toBe('10.0.0.20');
  });
});

describe('subclasses: match + subclass, spawn with + lease limit', () => {
  const core = serve(`
    class "by-mac" {
      match hardware;
      option domain-name "class.example";
    }
    subclass "by-mac" 1:52:54:00:00:02:01;
    subclass "by-mac" 1:52:54:00:00:02:02 { filename "special.efi"; }
    class "per-port" {
      spawn with option agent.circuit-id;
      lease limit 1;
    }
    subnet 10.0.0.0 netmask 255.255.255.0 {
      pool { allow members of "by-mac"; range 10.0.0.10 10.0.0.19; }
      pool { deny members of "by-mac"; range 10.0.0.20 10.0.0.29; }
    }
    host fixed-on-port1 { hardware ethernet 52:54:00:00:03:09; fixed-address 10.0.0.99; }
  `);

  it('a subclass member is a member of its class: class statements and `allow members of` apply', () => {
    const o = offer(core, '52:54:00:00:02:01');
    expect([o.ip, o.opt(15), o.file]).toEqual(['10.0.0.10', 'class.example', '']);
  });
  it("a subclass's statements come before its class's", () => {
    const o = offer(core, '52:54:00:00:02:02');
    expect([o.ip?.startsWith('10.0.0.1'), o.opt(15), o.file]).toEqual([true, 'class.example', 'special.efi']);
  });
  it('a value with no subclass in a non-spawning class is no membership', () => {
    expect(offer(core, '52:54:00:00:02:03').ip).toBe('10.0.0.20');
  });
  it('lease limit 1 per spawned subclass: a second client on the same circuit gets nothing, another circuit does', () => {
    const a = offer(core, '52:54:00:00:03:01', [AGENT('port1')]);
    expect(ack(core, '52:54:00:00:03:01', a.ip!, [AGENT('port1')])).toBe('ACK');
    const b = offer(core, '52:54:00:00:03:02', [AGENT('port1')]);
    expect(b.dropped).toBe('class-lease-limit');
    expect(b.log?.[0]).toContain(
      'no available billing: lease limit reached in all matching classes (last: per-port)',
    );
    const c = offer(core, '52:54:00:00:03:03', [AGENT('port2')]);
    expect(ack(core, '52:54:00:00:03:03', c.ip!, [AGENT('port2')])).toBe('ACK');
    // A fixed address is not billed and not refused: a host on a full circuit still gets its reservation.
    const h = offer(core, '52:54:00:00:03:09', [AGENT('port1')]);
    expect(h.ip).toBe('10.0.0.99');
    expect(ack(core, '52:54:00:00:03:09', h.ip!, [AGENT('port1')])).toBe('ACK');
    // The holder renews: its own billed lease is not counted against it.
    expect(ack(core, '52:54:00:00:03:01', a.ip!, [AGENT('port1')])).toBe('ACK');
  });
});

describe('if / elsif / else, evaluated per packet', () => {
  const core = serve(`
    option arch code 93 = unsigned integer 16;
    subnet 10.0.0.0 netmask 255.255.255.0 {
      range 10.0.0.10 10.0.0.50;
      next-server 10.0.0.5;
      if exists user-class and option user-class = "iPXE" {
        filename "http://10.0.0.5/boot.ipxe";
      } elsif option arch = 00:07 {
        filename "ipxe.efi";
        if known { next-server 10.0.0.6; } else { next-server 10.0.0.7; }
      } else {
        filename "undionly.kpxe";
        default-lease-time 300;
      }
      option domain-name "before.example";
      if option vendor-class-identifier = "late" { option domain-name "from-if.example"; filename "late-if"; }
      filename "after-wins";
    }
    host uefi { hardware ethernet 52:54:00:00:04:09; }
  `);

  it('iPXE chainloading: the first true branch', () => {
    expect(offer(core, '52:54:00:00:04:01', [USER_CLASS('iPXE')]).file).toBe('after-wins');
  });
  it('a statement after the `if` in the same scope supersedes what the branch set (ISC runs them in order)', () => {
    const o = offer(core, '52:54:00:00:04:02', [VCI('late')]);
    expect([o.opt(15), o.file]).toEqual(['from-if.example', 'after-wins']);
  });
});

describe('if chains without a later override', () => {
  const core = serve(`
    option arch code 93 = unsigned integer 16;
    subnet 10.0.0.0 netmask 255.255.255.0 {
      range 10.0.0.10 10.0.0.50;
      next-server 10.0.0.5;
      if exists user-class and option user-class = "iPXE" {
        filename "http://10.0.0.5/boot.ipxe";
      } elsif option arch = 00:07 {
        filename "ipxe.efi";
        if known { next-server 10.0.0.6; } else { next-server 10.0.0.7; }
      } else {
        filename "undionly.kpxe";
        default-lease-time 300;
      }
    }
    host uefi { hardware ethernet 52:54:00:00:04:09; }
  `);
  it.each([
    [
      'iPXE',
      [USER_CLASS('iPXE'), ARCH(7)],
      '52:54:00:00:05:01',
      'http://10.0.0.5/boot.ipxe',
      '10.0.0.5',
      43200,
    ],
    ['UEFI unknown', [ARCH(7)], '52:54:00:00:05:02', 'ipxe.efi', '10.0.0.7', 43200],
    ['UEFI known', [ARCH(7)], '52:54:00:00:04:09', 'ipxe.efi', '10.0.0.6', 43200],
    ['BIOS', [ARCH(0)], '52:54:00:00:05:03', 'undionly.kpxe', '10.0.0.5', 300],
    ['no arch option (null = false)', [], '52:54:00:00:05:04', 'undionly.kpxe', '10.0.0.5', 300],
  ] as const)('%s', (_n, opts, mac, file, next, lease) => {
    const o = offer(core, mac, [...opts]);
    expect([o.file, o.next, o.lease]).toEqual([file, next, lease]);
  });
});

describe('if in a class and in a host', () => {
  const conf = `
    class "pxe" {
      match if substring(option vendor-class-identifier, 0, 9) = "PXEClient";
      if option vendor-class-identifier = "PXEClient:Arch:00007" { filename "efi64"; } else { filename "bios"; }
    }
    subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.10 10.0.0.50; filename "none"; }
    host h { hardware ethernet 52:54:00:00:06:09; if leased-address = 0a:00:00:0a { filename "host-first"; } }
  `;
  const core = serve(conf);
  it('class branches', () => {
    expect(offer(core, '52:54:00:00:06:01', [VCI('PXEClient:Arch:00007')]).file).toBe('efi64');
    expect(offer(core, '52:54:00:00:06:02', [VCI('PXEClient:Arch:00000')]).file).toBe('bios');
    expect(offer(core, '52:54:00:00:06:03').file).toBe('none');
  });
  it('a host `if` reads the address being leased', () => {
    const o = offer(serve(conf), '52:54:00:00:06:09');
    expect([o.ip, o.file]).toEqual(['10.0.0.10', 'host-first']);
  });
});

describe("lease-time in an `if`: what is left of the client's lease", () => {
  it('null before the client has a lease, ends - now on a renewal', () => {
    const core = serve(`
      default-lease-time 600;
      subnet 10.0.0.0 netmask 255.255.255.0 {
        range 10.0.0.10 10.0.0.20;
        filename "new";
        if lease-time = 500 { filename "renewing"; }
      }
    `);
    const o = offer(core, '52:54:00:00:07:01');
    expect(o.file).toBe('new');
    expect(ackFile(core, '52:54:00:00:07:01', o.ip!, T0)).toBe('new');
    expect(ackFile(core, '52:54:00:00:07:01', o.ip!, T0 + 100_000)).toBe('renewing');
  });
});

describe('reading classes and conditionals: errors at file:line:col', () => {
  const errs = (src: string) =>
    readConf(src)
      .diagnostics.filter((d) => d.severity !== 'note')
      .map((d) => `${d.severity} ${d.line}:${d.col} ${d.message}`);

  it('a file without classes or `if` carries nothing for them (the core then skips them)', () => {
    const c = readConf('subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.10 10.0.0.20; }').config!;
    expect([c.classes, c.hasConditionals]).toEqual([undefined, undefined]);
  });

  it.each([
    ['class "a" { }\nclass "a" { }', ['error 2:7 class "a" is declared twice']],
    [
      'class "a" { match hardware; spawn with hardware; }',
      ["error 1:29 can't override existing submatch/spawn."],
    ],
    [
      'class "a" { match if known; match if known; }',
      ["error 1:29 A class may only have one 'match if' clause."],
    ],
    ['class "a" { spawn with hardware; match if known; }', []],
    ['lease limit 3;', ['error 1:1 `lease limit` is only allowed in a class declaration']],
    ['class "a" { spawn option agent.circuit-id; }', ['error 1:19 expected `spawn with`']],
    ['class "a" { match if option host-name; }', ['error 1:22 Expecting a boolean expression.']],
    [
      'class "a" { match hardware; }\nsubclass "a" option host-name;',
      ['error 2:14 subclass "a": the value must be a string or hex like 1:8:0:2b:4c:39:ad'],
    ],
    [
      'class "a" { }\nsubclass "a" "x";',
      ['warning 2:10 class "a" has no `match` expression, so no client will ever be in this subclass'],
    ],
    [
      'class "a" { match hardware; }\nsubclass "a" 1:2:3;\nsubclass "a" 01:02:03;',
      ['warning 3:14 subclass "a" 01:02:03 is declared twice; the first declaration is used'],
    ],
    ['if exists host-name { filename "a"; } else', ['error 1:43 expected `{`, found end of file']],
    [
      'subnet 10.0.0.0 netmask 255.255.255.0 { pool { deny members of "x"; range 10.0.0.1; } }',
      ['error 1:64 no such class: x'],
    ],
    [
      'class "x" { }\nsubnet 10.0.0.0 netmask 255.255.255.0 { deny members of "x"; }',
      ['error 2:46 `deny members of "x"` is only allowed in a pool'],
    ],
    ['class "x" { host h { } }', ['error 1:13 `host` is not allowed inside a class declaration']],
    ['class "x" { class "y" { } }', ['error 1:13 `class` is not allowed inside a class declaration']],
    [
      'subnet 10.0.0.0 netmask 255.255.255.0 { pool { class "p" { } range 10.0.0.1; } }\nhost h { class "q" { } }',
      [],
    ],
  ])('%s', (src, want) => {
    expect(errs(src)).toEqual(want);
  });

  it('a statement after an `if` leaves the branch only what it still decides', () => {
    const c = readConf(`
      filename "a";
      if exists host-name { filename "b"; option domain-name "b"; if known { filename "c"; } }
      filename "d";
    `).config!;
    const branch = c.global.conditionals![0]!.branches[0]!.scope;
    expect(branch.params.filename).toBeUndefined();
    expect(branch.options.has(15)).toBe(true);
    expect(branch.conditionals![0]!.branches[0]!.scope.params.filename).toBeUndefined();
    expect(c.global.params.filename).toBe('d');
  });
});
