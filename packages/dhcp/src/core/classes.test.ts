import { describe, expect, it } from 'vitest';
import { BindingState } from '@hadhcp/leases';
import { ClassBook, PacketEval, memberOf, type Membership } from './classes.js';
import { dataKey, type ClientClass, type Scope, type SubClass } from './config.js';
import type { EvalContext } from './eval-context.js';
import { ScopeView } from './network.js';
import { clientMsg, ConfigBuilder, ip, MessageType, text } from './test-helpers.js';

const POS = { file: 'test.conf', line: 1, col: 1 };
const scope = (): Scope => ({ params: {}, options: new Map() });
const vci = (c: EvalContext) => c.option('dhcp', 60);
const startsWith = (p: string) => (c: EvalContext) => {
  const v = vci(c);
  return v === null ? null : new TextDecoder().decode(v).startsWith(p);
};

function klass(name: string, over: Partial<ClientClass> = {}): ClientClass {
  return { name, spawn: false, subclasses: new Map(), scope: scope(), pos: POS, ...over };
}

function sub(parent: ClientClass, data: Uint8Array): SubClass {
  const s: SubClass = { parent, data, scope: scope(), pos: POS };
  parent.subclasses.set(dataKey(data), s);
  return s;
}

function book(classes: ClientClass[], hasConditionals = false): ClassBook {
  const cfg = new ConfigBuilder().build();
  cfg.classes = classes;
  if (hasConditionals) cfg.hasConditionals = true;
  return new ClassBook(cfg, new PacketEval('dhcp1'));
}

const names = (ms: readonly Membership[]) =>
  ms.map((m) => ('parent' in m ? `${m.parent.name}/${new TextDecoder().decode(m.data)}` : m.name));
const withVci = (v?: string) =>
  clientMsg(MessageType.DISCOVER, v === undefined ? {} : { extra: [{ code: 60, data: text(v) }] });

describe('membership (ISC class.c classify_client)', () => {
  const phones = klass('phones', { matchIf: startsWith('Polycom') });
  const vvx = klass('vvx', { matchIf: startsWith('Polycom-VVX') });
  const byVci = klass('by-vci', { match: vci });
  sub(byVci, text('Polycom-VVX'));
  const gated = klass('gated', { matchIf: startsWith('Poly'), match: vci, spawn: true });
  const empty = klass('empty');
  const b = book([phones, vvx, byVci, gated, empty]);

  it('tests every class in declaration order; a client may be in several', () => {
    expect(names(b.classify(withVci('Polycom-VVX')))).toEqual([
      'phones',
      'vvx',
      'by-vci/Polycom-VVX',
      'gated/Polycom-VVX',
    ]);
  });
  it('null (a missing option) is no membership, and so is a value no subclass has', () => {
    expect(names(b.classify(withVci()))).toEqual([]);
    expect(names(b.classify(withVci('Cisco')))).toEqual([]);
  });
  it('`match if` gates the subclass lookup; an empty value spawns nothing', () => {
    expect(names(b.classify(withVci('Polycom-SP')))).toEqual(['phones', 'gated/Polycom-SP']);
    expect(names(b.classify(withVci('')))).toEqual([]);
  });
  it('a spawned subclass is made once per value and is a member of its class', () => {
    const [a] = b.classify(withVci('Poly-1'));
    const [a2] = b.classify(withVci('Poly-1'));
    expect(a2).toBe(a);
    expect(memberOf(a!, gated)).toBe(true);
    expect(memberOf(a!, phones)).toBe(false);
  });
  it("subclasses without statements share their class's view", () => {
    const c = klass('macs', { match: vci });
    sub(c, text('a'));
    sub(c, text('b'));
    const bk = book([c]);
    const [a] = bk.classify(withVci('a'));
    const [b2] = bk.classify(withVci('b'));
    const base = new ScopeView([scope()]);
    expect(bk.resolve(base, base, [a!]).scopes).toEqual([c.scope, ...base.scopes]);
    expect(bk.resolve(base, base, [a!])).toBe(bk.resolve(base, base, [b2!]));
  });
  it('spawned subclasses share one view: new values do not grow the view cache', () => {
    const [x] = b.classify(withVci('Poly-x'));
    const [y] = b.classify(withVci('Poly-y'));
    const base = new ScopeView([scope()]);
    expect(b.resolve(base, base, [x!])).toBe(b.resolve(base, base, [y!]));
  });
  it('a class with no match statement has no members', () => {
    expect(b.classify(withVci('anything')).some((m) => memberOf(m, empty))).toBe(false);
  });
  it('a configuration without classes returns the one shared empty list', () => {
    const none = book([]);
    expect(none.active).toBe(false);
    expect(none.classify(withVci('x'))).toBe(none.classify(withVci('y')));
  });
});

describe('scope order (ISC dhcp.c ack_lease)', () => {
  const g = scope();
  const subnet: Scope = { ...scope(), parent: g };
  const pool: Scope = { ...scope(), parent: subnet };
  const host: Scope = { ...scope(), parent: g };
  const a = klass('a', { matchIf: () => true });
  const bcls = klass('b', { matchIf: () => true });
  const s = sub(bcls, text('x'));
  s.scope.params.filename = 'sub'; // a subclass with statements of its own
  const base = new ScopeView([pool, subnet, g]);
  const withHost = new ScopeView([host, pool, subnet, g]);

  it('host, then classes in membership order (a subclass before its class), then pool, subnet, global', () => {
    const v = book([a, bcls]).resolve(withHost, base, [a, s]);
    expect(v.scopes).toEqual([host, a.scope, s.scope, bcls.scope, pool, subnet, g]);
  });
  it('the same combination gives the same view (built once)', () => {
    const bk = book([a]);
    expect(bk.resolve(base, base, [a])).toBe(bk.resolve(base, base, [a]));
  });
  it('no classes and no conditionals: the view as it was', () => {
    expect(book([a]).resolve(withHost, base, [])).toBe(withHost);
  });
  it('a taken branch comes before its scope, a later `if` before an earlier one, nested first', () => {
    const inner = scope();
    const first = {
      ...scope(),
      conditionals: [{ branches: [{ test: () => true, scope: inner, pos: POS }], pos: POS }],
    };
    const second = scope();
    const notTaken = scope();
    const els = scope();
    const sn: Scope = {
      ...scope(),
      conditionals: [
        { branches: [{ test: () => true, scope: first, pos: POS }], pos: POS },
        {
          branches: [
            { test: () => null, scope: notTaken, pos: POS },
            { scope: els, pos: POS },
          ],
          pos: POS,
        },
        { branches: [{ test: () => true, scope: second, pos: POS }], pos: POS },
      ],
    };
    const v = book([], true).resolve(new ScopeView([sn]), new ScopeView([sn]), []);
    expect(v.scopes).toEqual([second, els, inner, first, sn]);
  });
});

describe('lease limits (ISC ack_lease billing)', () => {
  it('bills the first limited class with room; full everywhere means no lease; release frees the slot', () => {
    const small = klass('small', { matchIf: () => true, leaseLimit: 1 });
    const big = klass('big', { matchIf: () => true, leaseLimit: 2 });
    const bk = book([small, big]);
    const ms = [small, big];
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
      expect(bk.mayLease(ip(a), ms)).toBe(true);
      bk.bill(ip(a), ms);
    }
    expect([bk.billedCount(small), bk.billedCount(big)]).toEqual([1, 2]);
    expect(bk.mayLease(ip('10.0.0.4'), ms)).toBe(false);
    expect(bk.mayLease(ip('10.0.0.2'), ms)).toBe(true); // its own lease
    bk.noteLease(ip('10.0.0.1'), BindingState.RELEASED);
    expect(bk.mayLease(ip('10.0.0.4'), ms)).toBe(true);
  });
  it('a subclass without its own limit counts separately against its class limit', () => {
    const c = klass('c', { match: vci, leaseLimit: 1 });
    const s1 = sub(c, text('a'));
    const s2 = sub(c, text('b'));
    const bk = book([c]);
    bk.bill(ip('10.0.0.1'), [s1]);
    expect(bk.mayLease(ip('10.0.0.2'), [s1])).toBe(false);
    expect(bk.mayLease(ip('10.0.0.2'), [s2])).toBe(true);
  });
  it('a reload keeps the billing under the classes of the same name, spawned subclasses too', () => {
    const mk = () => {
      const c = klass('per-port', { match: vci, spawn: true, leaseLimit: 1 });
      return { c, bk: book([c]) };
    };
    const old = mk();
    const [m] = old.bk.classify(withVci('port1'));
    old.bk.bill(ip('10.0.0.1'), [m!]);
    const next = mk();
    next.bk.carryOver(old.bk);
    const [m2] = next.bk.classify(withVci('port1'));
    expect(m2).not.toBe(m);
    expect(next.bk.mayLease(ip('10.0.0.2'), [m2!])).toBe(false);
    expect(next.bk.mayLease(ip('10.0.0.1'), [m2!])).toBe(true);
  });
  it('an address that changes hands to a client outside its class stops counting against that class', () => {
    const small = klass('small', { matchIf: () => true, leaseLimit: 1 });
    const bk = book([small]);
    bk.bill(ip('10.0.0.1'), [small]);
    expect(bk.mayLease(ip('10.0.0.2'), [small])).toBe(false);
    bk.bill(ip('10.0.0.1'), []); // ACKed to a client in no limited class
    expect(bk.billingOf(ip('10.0.0.1'))).toBeUndefined();
    expect(bk.mayLease(ip('10.0.0.2'), [small])).toBe(true);
  });
  it('re-bills stored billings: a class by name, a subclass by class and value (spawned again), not a gone one', () => {
    const all = klass('all', { matchIf: () => true, leaseLimit: 1 });
    const spawning = klass('per-port', { match: vci, spawn: true, leaseLimit: 1 });
    const fixed = klass('fixed', { match: vci, leaseLimit: 1 });
    const declared = sub(fixed, text('a'));
    const bk = book([all, spawning, fixed]);
    expect(bk.rebill(ip('10.0.0.1'), { className: 'all' })).toBe(true);
    expect(bk.rebill(ip('10.0.0.2'), { className: 'per-port', subclass: text('port1') })).toBe(true);
    expect(bk.rebill(ip('10.0.0.3'), { className: 'fixed', subclass: text('a') })).toBe(true);
    expect(bk.rebill(ip('10.0.0.4'), { className: 'fixed', subclass: text('b') })).toBe(false);
    expect(bk.rebill(ip('10.0.0.5'), { className: 'gone' })).toBe(false);
    expect([bk.billedCount(all), bk.billedCount(declared)]).toEqual([1, 1]);
    // The subclass a packet classifies into is the one spawned for the billing: it is full.
    const [m] = bk.classify(withVci('port1')).filter((x) => 'parent' in x && x.parent === spawning);
    expect(bk.billedCount(m!)).toBe(1);
    expect(bk.mayLease(ip('10.0.0.9'), [m!])).toBe(false);
    expect(bk.billingOf(ip('10.0.0.2'))).toEqual({ className: 'per-port', subclass: text('port1') });
    expect(bk.billingOf(ip('10.0.0.4'))).toBeUndefined();
  });
  it('a subclass value too long for the lease record is billed, but not stored', () => {
    const c = klass('c', { match: vci, spawn: true, leaseLimit: 1 });
    const bk = book([c]);
    const [m] = bk.classify(withVci('x'.repeat(256)));
    bk.bill(ip('10.0.0.1'), [m!]);
    expect(bk.mayLease(ip('10.0.0.2'), [m!])).toBe(false);
    expect(bk.billingOf(ip('10.0.0.1'))).toBeUndefined();
  });
});
