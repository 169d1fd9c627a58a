/**
 * Lease-limit billing across a restart, as ISC keeps it: the lease record says which class the lease is billed
 * to (dhcpd.leases `billing class` / `billing subclass`), and a server starting over the lease file bills those
 * leases again. Here a real lease store is written, closed and opened again, and a new core is built over it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BindingState, LeaseStore } from '@hadhcp/leases';
import type { ClientClass, DhcpServerConfig, Scope } from './config.js';
import type { EvalContext } from './eval-context.js';
import { LeaseTable } from './lease-table.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, MessageType, text } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const SID = '10.1.0.1';
const POS = { file: 'test.conf', line: 1, col: 1 };
const scope = (): Scope => ({ params: {}, options: new Map() });

/** class NAME { match if ...; | spawn with option vendor-class-identifier; lease limit N; } */
function klass(name: string, over: Partial<ClientClass>): ClientClass {
  return { name, spawn: false, subclasses: new Map(), scope: scope(), pos: POS, ...over };
}
const byModem = (limit = 1) =>
  klass('modem', { match: (c: EvalContext) => c.option('dhcp', 60), spawn: true, leaseLimit: limit });

function config(classes: ClientClass[]): DhcpServerConfig {
  const b = new ConfigBuilder({ defaultLeaseTime: 600, pingCheck: false, authoritative: true });
  b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.59']] }] });
  const cfg = b.build();
  cfg.classes = classes;
  return cfg;
}

const dirs: string[] = [];
const stores: LeaseStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function open(dir: string): Promise<LeaseStore> {
  const s = await LeaseStore.open(dir, { log: () => undefined });
  stores.push(s);
  return s;
}

/** One daemon's life over the lease directory: a core over the store's records; its writes are stored. */
async function server(dir: string, classes: ClientClass[]) {
  const store = await open(dir);
  const core = new DhcpServerCore(config(classes), new LeaseTable(store.records), { serverId: ip(SID) });
  const vci = (modem: string) => [{ code: 60, data: text(modem) }];
  const discover = async (mac: string, modem: string, at = T0) => {
    const d = core.handle(clientMsg(MessageType.DISCOVER, { mac, extra: vci(modem) }), direct(), at);
    await store.write(d.writes);
    return d;
  };
  const request = async (mac: string, modem: string, addr: string, at = T0) => {
    const m = clientMsg(MessageType.REQUEST, { mac, extra: vci(modem), requested: addr, serverId: SID });
    const d = core.handle(m, direct(), at);
    await store.write(d.writes);
    return d;
  };
  /** DISCOVER then REQUEST: the address ACKed, or why there was none. */
  const lease = async (mac: string, modem: string, at = T0) => {
    const o = await discover(mac, modem, at);
    if (!o.reply) return o.drop?.reason;
    const a = await request(mac, modem, addrOf(o.reply.msg.yiaddr), at);
    return a.reply?.msg.options[0]!.data[0] === MessageType.ACK ? addrOf(a.reply.msg.yiaddr) : a.drop?.reason;
  };
  const stop = async () => {
    await store.close();
    stores.splice(stores.indexOf(store), 1);
  };
  return { store, core, discover, request, lease, stop };
}

const addrOf = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hadhcp-billing-'));
  dirs.push(d);
  return d;
}

describe('lease limit billing survives a restart (ISC dhcpd.leases billing)', () => {
  it('a spawned class with lease limit 1 holding a lease refuses a second client of the same modem after a restart', async () => {
    const dir = await tempDir();
    const first = await server(dir, [byModem()]);
    const held = await first.lease('52:54:00:00:00:01', 'cm-1');
    expect(held).toBe('10.1.0.50');
    // The record says what it is billed to: ISC's `billing subclass "modem" "cm-1";`.
    expect(first.store.get(ip(held!))!.billing).toEqual({ className: 'modem', subclass: text('cm-1') });
    expect(await first.lease('52:54:00:00:00:02', 'cm-1')).toBe('class-lease-limit');
    await first.stop();

    const second = await server(dir, [byModem()]);
    expect(second.core.notices).toEqual([]);
    // Without the billing read back, the modem's count would start at 0 and this client would get a lease.
    expect(await second.lease('52:54:00:00:00:02', 'cm-1')).toBe('class-lease-limit');
    // Another modem has its own count; the holder renews its own lease.
    expect(await second.lease('52:54:00:00:00:03', 'cm-2')).toBe('10.1.0.51');
    const renew = await second.request('52:54:00:00:00:01', 'cm-1', '10.1.0.50', T0 + 300_000);
    expect(renew.reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
  });

  it('a class billed by name (match if) is billed again by name', async () => {
    const dir = await tempDir();
    const all = () => [klass('all', { matchIf: () => true, leaseLimit: 1 })];
    const first = await server(dir, all());
    expect(await first.lease('52:54:00:00:00:01', 'x')).toBe('10.1.0.50');
    expect(first.store.get(ip('10.1.0.50'))!.billing).toEqual({ className: 'all' });
    await first.stop();
    const second = await server(dir, all());
    expect(await second.lease('52:54:00:00:00:02', 'y')).toBe('class-lease-limit');
  });

  it('billing ends with the lease: a released or expired lease is stored without it and not billed after a restart', async () => {
    const dir = await tempDir();
    const first = await server(dir, [byModem()]);
    expect(await first.lease('52:54:00:00:00:01', 'cm-1')).toBe('10.1.0.50');
    expect(await first.lease('52:54:00:00:00:03', 'cm-2')).toBe('10.1.0.51');
    const rel = first.core.handle(
      clientMsg(MessageType.RELEASE, { mac: '52:54:00:00:00:01', ciaddr: '10.1.0.50', serverId: SID }),
      direct(),
      T0 + 1000,
    );
    await first.store.write(rel.writes);
    expect(first.store.get(ip('10.1.0.50'))!.state).toBe(BindingState.RELEASED);
    expect(first.store.get(ip('10.1.0.50'))!.billing).toBeUndefined();
    await first.store.write(first.core.tick(T0 + 601_000)); // cm-2's lease runs out
    expect(first.store.get(ip('10.1.0.51'))!.state).toBe(BindingState.FREE);
    expect(first.store.get(ip('10.1.0.51'))!.billing).toBeUndefined();
    await first.stop();

    const second = await server(dir, [byModem()]);
    expect(await second.lease('52:54:00:00:00:02', 'cm-1', T0 + 602_000)).toMatch(/^10\.1\.0\./);
    expect(await second.lease('52:54:00:00:00:04', 'cm-2', T0 + 602_000)).toMatch(/^10\.1\.0\./);
  });

  it('an address ACKed to a client outside the class is stored without billing, and frees the class', async () => {
    const dir = await tempDir();
    const first = await server(dir, [byModem()]);
    expect(await first.lease('52:54:00:00:00:01', 'cm-1')).toBe('10.1.0.50');
    // The lease runs out with no tick in between; a client with no vendor class (no modem) asks for the address.
    const m = clientMsg(MessageType.REQUEST, {
      mac: '52:54:00:00:00:09',
      requested: '10.1.0.50',
      serverId: SID,
    });
    const d = first.core.handle(m, direct(), T0 + 700_000);
    await first.store.write(d.writes);
    expect(d.reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    expect(first.store.get(ip('10.1.0.50'))!.billing).toBeUndefined();
    expect(await first.lease('52:54:00:00:00:02', 'cm-1', T0 + 700_000)).toMatch(/^10\.1\.0\./);
  });

  it('an ACTIVE lease whose time ran out while the server was down is unbilled when the first tick expires it', async () => {
    const dir = await tempDir();
    const first = await server(dir, [byModem()]);
    expect(await first.lease('52:54:00:00:00:01', 'cm-1')).toBe('10.1.0.50');
    await first.stop();
    const second = await server(dir, [byModem()]);
    await second.store.write(second.core.tick(T0 + 601_000));
    expect(await second.lease('52:54:00:00:00:02', 'cm-1', T0 + 601_000)).toMatch(/^10\.1\.0\./);
  });

  it('a class no longer configured drops the billing, and says so once', async () => {
    const dir = await tempDir();
    const first = await server(dir, [byModem()]);
    expect(await first.lease('52:54:00:00:00:01', 'cm-1')).toBe('10.1.0.50');
    expect(await first.lease('52:54:00:00:00:03', 'cm-2')).toBe('10.1.0.51');
    await first.stop();

    // The modem class is gone; another class with a lease limit is new.
    const second = await server(dir, [klass('other', { matchIf: () => true, leaseLimit: 5 })]);
    expect(second.core.notices).toEqual([
      'lease limit: 2 active leases billed to a subclass of class "modem", which the configuration no longer has: billing dropped',
    ]);
    // The two leases are not counted against "other": five more fit.
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await second.lease(`52:54:00:00:01:0${i}`, 'z'));
    expect(got.every((g) => g?.startsWith('10.1.0.'))).toBe(true);
    expect(await second.lease('52:54:00:00:01:09', 'z')).toBe('class-lease-limit');
  });

  it('a configuration without lease limits bills nothing: the same modem class without a limit admits both', async () => {
    const dir = await tempDir();
    const first = await server(dir, [byModem()]);
    expect(await first.lease('52:54:00:00:00:01', 'cm-1')).toBe('10.1.0.50');
    await first.stop();
    const unlimited = klass('modem', { match: (c: EvalContext) => c.option('dhcp', 60), spawn: true });
    const plain = await server(dir, [unlimited]);
    expect(plain.core.notices).toEqual([]);
    expect(await plain.lease('52:54:00:00:00:02', 'cm-1')).toBe('10.1.0.51');
    // Its ACK stores no billing.
    expect(plain.store.get(ip('10.1.0.51'))!.billing).toBeUndefined();
  });
});
