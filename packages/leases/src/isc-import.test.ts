import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIp4 } from '@hadhcp/common';
import { describe, expect, it } from 'vitest';
import { parseIscLeases, type IscLease } from './isc-import.js';
import { BindingState, INFINITE } from './lease.js';
import { LeaseStore } from './store.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

function find(leases: IscLease[], ip: string): IscLease | undefined {
  return leases.find((l) => l.address === parseIp4(ip));
}

describe('parseIscLeases on a file written by ISC dhcpd 4.4.3-P1 for real dhclients', () => {
  const r = parseIscLeases(fixture('isc-real.dhcpd.leases'), 'isc-real.dhcpd.leases');

  it('reads it without a diagnostic', () => {
    expect(r.diagnostics).toEqual([]);
  });

  it('keeps the last entry per address: the released lease is free', () => {
    expect(r.leases.map((l) => l.address)).toEqual(
      ['10.99.0.100', '10.99.0.101', '10.99.0.102'].map(parseIp4),
    );
    const released = find(r.leases, '10.99.0.102')!;
    expect(released.state).toBe(BindingState.FREE);
    expect(released.tstp).toBeGreaterThan(0);
    expect(released.ends).toBe(released.starts + 1);
  });

  it('decodes the octal-escaped uid, hardware address and hostnames', () => {
    const one = find(r.leases, '10.99.0.100')!;
    expect(one).toMatchObject({
      state: BindingState.ACTIVE,
      nextState: BindingState.FREE,
      rewindState: BindingState.FREE,
      hwType: 1,
      hostname: 'pc-one',
    });
    expect(one.ends - one.starts).toBe(600); // default-lease-time 600 in the script's dhcpd.conf
    expect(one.cltt).toBe(one.starts);
    // dhclient sent "send dhcp-client-identifier 01:52:54:00:fa:00:01"; ISC wrote "\001RT\000\372\000\001".
    expect(Buffer.from(one.clientId!).toString('hex')).toBe('01525400fa0001');
    expect(Buffer.from(one.hwAddr!).toString('hex')).toBe('525400fa0001');
    expect(find(r.leases, '10.99.0.101')!.hostname).toBe('lap top');
    expect(find(r.leases, '10.99.0.101')!.clientId).toBeUndefined();
  });

  it('reads the failover state block (last one wins)', () => {
    expect(r.failoverStates).toHaveLength(1);
    expect(r.failoverStates[0]).toMatchObject({
      peer: 'fo-test',
      myState: 'recover',
      partnerState: 'unknown-state',
    });
    expect(r.failoverStates[0]!.myStateAt).toBeGreaterThan(1_700_000_000);
  });

  it('imports into the store and reads back the same leases', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hadhcp-import-'));
    try {
      const s = await LeaseStore.open(dir, { log: () => undefined });
      await s.write(r.leases);
      await s.close();
      const again = await LeaseStore.open(dir, { log: () => undefined });
      const strip = ({ nextState: _n, rewindState: _r, line: _l, ...l }: IscLease) => l;
      expect([...again.leases()]).toEqual(r.leases.map(strip));
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseIscLeases on hand-written edge cases', () => {
  const r = parseIscLeases(fixture('isc-edge-cases.dhcpd.leases'), 'edge.leases');

  it('reads every time field, binding/next/rewind state, octal uid with quote, and skips set/option/on', () => {
    // 10.0.0.5's winning entry is the later, free one; its first entry shows every field.
    const first = parseIscLeases(fixture('isc-edge-cases.dhcpd.leases').split('host pxe-box')[0]!);
    const l = find(first.leases, '10.0.0.5')!;
    expect(l).toMatchObject({
      starts: 1683720000,
      ends: 1683723600,
      tstp: 1683725400,
      tsfp: 1683724500,
      atsfp: 1683724500,
      cltt: 1683720000,
      state: BindingState.ACTIVE,
      nextState: BindingState.EXPIRED,
      rewindState: BindingState.FREE,
      hostname: 'pc1',
    });
    // "\001\000\021\"3DU" = 01 00 11 22 33 44 55
    expect(Buffer.from(l.clientId!).toString('hex')).toBe('01001122334455');
  });

  it('last entry wins and missing next/rewind default to the binding state', () => {
    const l = find(r.leases, '10.0.0.5')!;
    expect(l).toMatchObject({
      state: BindingState.FREE,
      nextState: BindingState.FREE,
      rewindState: BindingState.FREE,
    });
    expect(l.hwType).toBe(6); // token-ring
    expect(l.starts).toBe(1683806400);
    expect(l.clientId).toBeUndefined();
    expect(l.line).toBe(51);
  });

  it('reads epoch times, never, hex uids longer than a MAC and escaped UTF-8 hostnames', () => {
    const l = find(r.leases, '10.0.0.6')!;
    expect(l.starts).toBe(1683720000);
    expect(l.ends).toBe(INFINITE);
    expect(l.clientId).toHaveLength(18);
    expect(Buffer.from(l.clientId!).toString('hex')).toBe('01001122334466aabbccddeeff0011223344');
    expect(l.hostname).toBe('café\\"x');
  });

  it('reads the legacy abandoned statement', () => {
    expect(find(r.leases, '10.0.0.7')!.state).toBe(BindingState.ABANDONED);
  });

  it('reads the failover block with epoch time and mclt', () => {
    expect(r.failoverStates).toEqual([
      {
        peer: 'dhcp-failover',
        myState: 'normal',
        myStateAt: 1683720000,
        partnerState: 'communications-interrupted',
        partnerStateAt: 1683720000,
        mclt: 3600,
      },
    ]);
  });

  it('skips hosts, deleted rubouts, classes, subclasses and groups without a word', () => {
    expect(r.leases.map((l) => l.address)).not.toContain(parseIp4('10.0.0.77'));
    expect(r.diagnostics.filter((d) => d.line >= 38 && d.line <= 50)).toEqual([]);
  });

  it('reports bad input with file:line:col, keeps the good part of the entry and the rest of the file', () => {
    const at = r.diagnostics.map((d) => `${d.file}:${d.line}:${d.col} ${d.severity}`);
    expect(at).toEqual([
      'edge.leases:68:10 error', // weekday 9
      'edge.leases:69:3 error', // binding state sleeping
      'edge.leases:70:21 error', // hardware address with zz
      'edge.leases:71:3 warning', // unknown statement
      'edge.leases:74:7 error', // 10.0.0.300
      'edge.leases:75:1 error', // lease not closed at end of file
    ]);
    expect(r.diagnostics[1]!.message).toMatch(/unknown binding state 'sleeping'/);
    const l = find(r.leases, '10.0.0.8')!;
    expect(l.state).toBe(BindingState.BACKUP);
    expect(l.starts).toBe(0);
    expect(l.hwAddr).toBeUndefined();
    expect(find(r.leases, '10.0.0.9')).toBeUndefined();
  });

  it('never throws on garbage, and says something about each broken input', () => {
    for (const text of [
      'lease',
      'lease 1.2.3.4 {',
      '"unterminated',
      'failover peer',
      'lease 1.2.3.4 { starts 1 ',
    ]) {
      const out = parseIscLeases(text);
      expect(out.leases).toEqual([]);
      expect(out.diagnostics.length, text).toBeGreaterThan(0);
    }
    expect(() => parseIscLeases('}}}{{{;;')).not.toThrow();
  });
});

describe('parseIscLeases: lease-limit billing (ISC db.c write_billing_class)', () => {
  // Written by ISC dhcpd 4.4.3-P1 for fixtures/isc-billing.conf (fixtures/isc-billing.sh): a spawned subclass
  // with a printable value, one with a value printed as colon hex, and a class billed by name.
  const r = parseIscLeases(fixture('isc-billing.dhcpd.leases'), 'isc-billing.dhcpd.leases');
  const text = (s: string) => new TextEncoder().encode(s);

  it('reads billing class and both forms of billing subclass into the lease', () => {
    expect(r.diagnostics).toEqual([]);
    expect(find(r.leases, '10.77.0.10')!.billing).toEqual({ className: 'cm', subclass: text('modem-1') });
    expect(find(r.leases, '10.77.0.11')!.billing).toEqual({
      className: 'hex',
      subclass: Uint8Array.of(0x01, 0x52, 0x54),
    });
    expect(find(r.leases, '10.77.0.12')!.billing).toEqual({
      className: 'cm',
      subclass: text('udhcp 1.35.0'),
    });
    expect(find(r.leases, '10.77.0.13')!.billing).toEqual({ className: 'named' });
  });

  it('the store keeps the billing of imported leases', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hadhcp-import-'));
    try {
      const store = await LeaseStore.open(dir);
      await store.write(r.leases);
      await store.close();
      const again = await LeaseStore.open(dir);
      expect(again.get(parseIp4('10.77.0.11')!)!.billing).toEqual(find(r.leases, '10.77.0.11')!.billing);
      expect(again.get(parseIp4('10.77.0.13')!)!.billing).toEqual({ className: 'named' });
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a malformed billing statement is skipped with a warning, and the lease is kept without billing', () => {
    const lease = (stmt: string) => `lease 10.0.0.1 {\n  binding state active;\n  ${stmt}\n}\n`;
    for (const stmt of [
      'billing;',
      'billing group "x";',
      'billing class x;',
      'billing subclass "cm";',
      'billing subclass "cm" zz:01;',
    ]) {
      const out = parseIscLeases(lease(stmt), 'b.leases');
      expect(out.leases, stmt).toHaveLength(1);
      expect(out.leases[0]!.billing, stmt).toBeUndefined();
      expect(out.leases[0]!.state, stmt).toBe(BindingState.ACTIVE);
      expect(
        out.diagnostics.map((d) => `${d.line} ${d.severity}`),
        stmt,
      ).toEqual(['3 warning']);
    }
  });
});
