/**
 * `on commit` / `on release` / `on expiry` (dhcpd.conf(5) EVENTS) with `log`, `set`, `unset`, `if` and
 * `execute` (dhcp-eval(5)), read and run by the core: the forms and refusals are dhcpd 4.4.3 -t's; the nearest
 * scope's statements win per event, as ISC's `on` statement replaces the lease's earlier one (execute.c); log
 * prints the evaluated text, nothing for null. Measured: dhcpd 4.4.3 -d in a network namespace, udhcpc -x
 * hostname:pc-1 from 08:00:27:d3:8f:2d, the first test's `on commit` (plus `log("default prio")` and
 * `log(error, option domain-name)`) logged `commit 10.77.0.50 to 8:0:27:d3:8f:2d name pc-1`, then `default prio`,
 * and nothing for the null domain name.
 */
import { describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import { type DhcpServerCore, type Decision, type DhcpMessage, type DhcpOption } from '@hadhcp/dhcp';
import { clientMsg, MessageType, readConf, serveConf } from '../../test-vectors/serve.js';

const T0 = 1_700_000_000_000;

const serve = (src: string): DhcpServerCore => serveConf(`ping-check false;\n${src}`);

function msg(type: MessageType, extra: DhcpOption[] = [], requested?: string): DhcpMessage {
  return clientMsg(type, {
    mac: '08:00:27:d3:8f:2d',
    xid: 9,
    requested,
    serverId: requested && '10.0.0.1',
    extra,
  });
}

const meta = { receivedOn: { iface: 'eth0', localIp: parseIp4('10.0.0.1')! }, srcIp: 0, srcPort: 68 };
const lines = (d: Decision) => (d.events ?? []).flatMap((r) => r()).map((l) => `${l.level} ${l.text}`);
const HOST_NAME = (s: string): DhcpOption => ({ code: 12, data: new TextEncoder().encode(s) });

/** DISCOVER then REQUEST; the ACK's decision (its events unrun). */
function dora(core: DhcpServerCore, extra: DhcpOption[] = []): Decision {
  const offer = core.handle(msg(MessageType.DISCOVER, extra), meta, T0);
  expect(offer.events).toBeUndefined(); // an OFFER commits nothing
  const ip = offer.reply!.msg.yiaddr;
  const a = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
  return core.handle(msg(MessageType.REQUEST, extra, a), meta, T0 + 1000);
}

const SUBNET = (inner: string) =>
  `subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.50 10.0.0.50;\n${inner}\n}`;

describe('events run on commit, release and expiry', () => {
  it('on commit: set, then log reading the variable, the address and the hardware', () => {
    const core = serve(
      SUBNET(`  on commit {
    set ip = binary-to-ascii(10, 8, ".", leased-address);
    set hw = binary-to-ascii(16, 8, ":", substring(hardware, 1, 6));
    log(info, concat("commit ", ip, " to ", hw, " name ", pick-first-value(option host-name, "none")));
    log("default prio");
    log(error, option domain-name);
  }`),
    );
    expect(lines(dora(core, [HOST_NAME('pc-1')]))).toEqual([
      'info commit 10.0.0.50 to 8:0:27:d3:8f:2d name pc-1',
      'info default prio',
    ]);
  });

  it('the nearest scope wins per event; `or` binds one body to two events', () => {
    const core = serve(
      'on commit { log(info, "global commit"); }\n' +
        SUBNET('  on commit or release { log(error, "subnet"); }\n  on expiry { log(debug, "gone"); }'),
    );
    expect(lines(dora(core))).toEqual(['error subnet']);
    const r = msg(MessageType.RELEASE, [{ code: 54, data: Uint8Array.of(10, 0, 0, 1) }]);
    r.ciaddr = parseIp4('10.0.0.50')!; // a RELEASE names its address in ciaddr (RFC 2131 4.4.6)
    expect(lines(core.handle(r, meta, T0 + 2000))).toEqual(['error subnet']);
  });

  it('on release runs the statements kept with the lease, with the RELEASE as the packet', () => {
    const core = serve(
      SUBNET('  on release { log(info, concat("released ", binary-to-ascii(10, 8, ".", leased-address))); }'),
    );
    expect(lines(dora(core))).toEqual([]);
    const r = msg(MessageType.RELEASE, [{ code: 54, data: Uint8Array.of(10, 0, 0, 1) }]);
    r.ciaddr = parseIp4('10.0.0.50')!;
    expect(lines(core.handle(r, meta, T0 + 2000))).toEqual(['info released 10.0.0.50']);
  });

  it('on expiry runs when the lease ends, with no packet (options read null)', () => {
    const core = serve(
      'default-lease-time 60; max-lease-time 60;\n' +
        SUBNET(
          '  on expiry { log(info, concat("expired ", binary-to-ascii(10, 8, ".", leased-address), pick-first-value(option host-name, " no packet"))); }',
        ),
    );
    dora(core, [HOST_NAME('pc-1')]);
    expect(core.tick(T0 + 30_000)).toEqual([]);
    expect(core.takeExpiryEvents()).toEqual([]);
    expect(core.tick(T0 + 62_000)).toHaveLength(1);
    expect(
      core
        .takeExpiryEvents()
        .flatMap((r) => r())
        .map((l) => l.text),
    ).toEqual(['expired 10.0.0.50 no packet']);
  });

  it('if / else, unset and defined; a null log value logs nothing', () => {
    const core = serve(
      SUBNET(`  on commit {
    set who = option host-name;
    if defined(who) { log(info, concat("named ", who)); } else { log(info, "anonymous"); }
    unset who;
    if not defined(who) { log(debug, "unset"); }
    log(info, option domain-name);
  }`),
    );
    expect(lines(dora(core))).toEqual(['info anonymous', 'debug unset']);
  });

  it('statements straight in scopes run for each answer, outermost first; on commit sees their variables', () => {
    // Measured: dhcpd 4.4.3 -d, udhcpc -x hostname:pc-1, this file: "global statement", "scope 10.77.0.50 pc-1"
    // before the DHCPOFFER line and again before the DHCPACK line, then "commit sees pc-1".
    const core = serve(
      'log(info, "global statement");\n' +
        SUBNET(`  set who = pick-first-value(option host-name, "anon");
  log(info, concat("scope ", binary-to-ascii(10, 8, ".", leased-address), " ", who));
  on commit { log(info, concat("commit sees ", who)); }`),
    );
    const offer = core.handle(msg(MessageType.DISCOVER, [HOST_NAME('pc-1')]), meta, T0);
    expect(lines(offer)).toEqual(['info global statement', 'info scope 10.0.0.50 pc-1']);
    const ack = core.handle(msg(MessageType.REQUEST, [HOST_NAME('pc-1')], '10.0.0.50'), meta, T0 + 1000);
    expect(lines(ack)).toEqual([
      'info global statement',
      'info scope 10.0.0.50 pc-1',
      'info commit sees pc-1',
    ]);
  });

  it("an `if`'s statements run where the `if` stands among its scope's statements", () => {
    const core = serve(
      SUBNET(`  log(info, "before");
  if option host-name = "pc-1" { set who = "one"; } else { set who = "other"; }
  log(info, concat("after ", who));`),
    );
    const offer = core.handle(msg(MessageType.DISCOVER, [HOST_NAME('pc-1')]), meta, T0);
    expect(lines(offer)).toEqual(['info before', 'info after one']);
    expect(lines(core.handle(msg(MessageType.DISCOVER), meta, T0))).toEqual([
      'info before',
      'info after other',
    ]);
  });

  it("a subclass's own on commit runs (a subclass with only events is not left out of the scopes)", () => {
    const core = serve(
      'class "per-mac" { match hardware; }\n' +
        'subclass "per-mac" 1:08:00:27:d3:8f:2d { on commit { log(info, "known box"); } }\n' +
        SUBNET(''),
    );
    expect(lines(dora(core))).toEqual(['info known box']);
  });

  it('a configuration without events prepares none', () => {
    const core = serve(SUBNET(''));
    expect(dora(core).events).toBeUndefined();
  });
});

describe('event statements as dhcpd -t reads them', () => {
  it('accepts execute with a warning that it runs only with --enable-execute; the command and its argument expressions are kept', () => {
    const r = readConf(
      'on commit { execute("/usr/local/bin/notify", "commit", binary-to-ascii(10, 8, ".", leased-address)); }',
    );
    expect(r.config).toBeDefined();
    expect(r.diagnostics.map((d) => `${d.severity} ${d.line}:${d.col}`)).toEqual(['warning 1:13']);
    expect(r.diagnostics[0]!.message).toContain('--enable-execute');
    const [x] = r.config!.global.events!.commit!;
    expect(x).toMatchObject({ kind: 'execute', command: '/usr/local/bin/notify' });
    expect((x as { args: unknown[] }).args).toHaveLength(2);
  });

  it('refuses an execute whose command is not a quoted string', () => {
    const r = readConf('on commit { execute(notify, "x"); }');
    expect(r.config).toBeUndefined();
    expect(r.diagnostics[0]!.message).toContain('expected the command as a quoted string');
  });

  it('runs execute on commit: the command, then each argument as text, a null one empty (hadhcp runs it only when enabled)', () => {
    const core = serve(
      SUBNET(
        '  on commit { execute("/usr/local/bin/notify", "commit", binary-to-ascii(10, 8, ".", leased-address), option host-name); }',
      ),
    );
    const runs = dora(core).events ?? [];
    const out = runs.flatMap((r) => r());
    expect(out).toEqual([
      {
        level: 'execute',
        text: '/usr/local/bin/notify commit 10.0.0.50 ',
        argv: ['/usr/local/bin/notify', 'commit', '10.0.0.50', ''],
      },
    ]);
  });

  it('refuses a missing semicolon as dhcpd -t does ("semicolon expected")', () => {
    const r = readConf('on commit { log(info, "a") }');
    expect(r.config).toBeUndefined();
    expect(r.diagnostics[0]!.line).toBe(1);
  });

  it('refuses an unknown event with the three ISC has', () => {
    const r = readConf('on renew { log("x"); }');
    expect(r.config).toBeUndefined();
    expect(r.diagnostics[0]!.message).toContain('expecting commit, release or expiry');
  });
});
