import { formatIp4, parseIp4 } from '@hadhcp/common';
import { BindingState as B, blankLease, type Lease } from '@hadhcp/leases';
import { describe, expect, it } from 'vitest';
import { ServerState as S } from '../wire/constants.js';
import { primaryServesBucket, splitToHba } from '../wire/hba.js';
import { loadBalanceHash } from '../wire/loadb.js';
import {
  affinityMove,
  balanceEstimate,
  balancePool,
  nextBalanceDelay,
  peerWantsLease,
  poolCounts,
  type BalanceSettings,
  type PoolAddresses,
} from './balance.js';
import type { BindingContext } from './bindings.js';
import type { Role } from './machine-types.js';

const NOW = 1_795_303_459;
const ISC_DEFAULTS: BalanceSettings = {
  maxLeaseMisbalance: 15,
  maxLeaseOwnership: 10,
  minBalance: 60,
  maxBalance: 3600,
};
const HBA = splitToHba(128);
const BASE = parseIp4('10.0.0.10')!;
const LABEL = '10.0.0.10 - 10.0.0.49';

const ctx = (role: Role, myState: S = S.NORMAL): BindingContext => ({
  role,
  myState,
  nowSec: NOW,
  mclt: 3600,
  peerName: 'dhcp-failover',
});

function lease(i: number, state: B, over: Partial<Lease> = {}): Lease {
  return { ...blankLease(BASE + i, state), ...over };
}

/** 40 addresses; `stateOf(i)` undefined = no record (a pristine FREE address). */
function pool(stateOf: (i: number) => Lease | undefined): PoolAddresses {
  return {
    label: LABEL,
    addresses: Array.from({ length: 40 }, (_, i) => ({ ip: BASE + i, lease: stateOf(i) })),
  };
}

const mac = (i: number) => Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, i]);
/** Independent of peerWantsLease: the bucket of the MAC and who serves it under split 128. */
const hashesToSecondary = (i: number) => !primaryServesBucket(HBA, loadBalanceHash(mac(i)));

describe('balancePool on the primary (ISC dhcp_failover_pool_dobalance)', () => {
  it('a fresh 40-address pool: 20 never-used leases to the secondary as BACKUP, oldest (lowest) first, as ISC did in our lab', () => {
    const r = balancePool(
      pool(() => undefined),
      'primary',
      HBA,
      ISC_DEFAULTS,
      ctx('primary'),
    );
    expect(r.counts).toEqual({ total: 40, free: 40, backup: 0, lts: 20 });
    expect(r.moves).toHaveLength(20);
    expect(r.moves.map((l) => formatIp4(l.address))).toEqual(
      Array.from({ length: 20 }, (_, i) => `10.0.0.${10 + i}`),
    );
    for (const m of r.moves)
      expect(m).toMatchObject({
        state: B.BACKUP,
        starts: NOW,
        tstp: NOW,
        ends: 0,
        tsfp: 0,
        atsfp: 0,
        failoverPeer: 'dhcp-failover',
      });
    expect(r.poolReq).toBe(false);
    expect(r.log).toEqual([
      `balancing pool ${LABEL}  total 40  free 40  backup 0  lts 20  max-own (+/-)4`,
      `balanced pool ${LABEL}  total 40  free 20  backup 20  lts 0  max-misbal 6`,
    ]);
  });

  it('already even (20/20): nothing moves; ACTIVE leases count in the total only', () => {
    const r = balancePool(
      pool((i) => (i < 4 ? lease(i, B.ACTIVE) : i < 22 ? lease(i, B.BACKUP) : undefined)),
      'primary',
      HBA,
      ISC_DEFAULTS,
      ctx('primary'),
    );
    expect(r.counts).toEqual({ total: 40, free: 18, backup: 18, lts: 0 });
    expect(r.moves).toEqual([]);
    expect(r.log[1]).toBe(`balanced pool ${LABEL}  total 40  free 18  backup 18  lts 0  max-misbal 5`);
  });

  it('pass 1 gives first the used leases whose client hashes to the secondary, down to lts -hold; pass 2 is not reached', () => {
    // 30 used FREE leases (ends in the past, oldest first by index), 10 BACKUP: lts = (30 - 10) / 2 = 10, hold 4.
    const p = pool((i) =>
      i < 30 ? lease(i, B.FREE, { ends: NOW - 5000 + i, hwAddr: mac(i) }) : lease(i, B.BACKUP),
    );
    const wanting = Array.from({ length: 30 }, (_, i) => i).filter(hashesToSecondary);
    expect(wanting.length).toBeGreaterThanOrEqual(14); // the data must let pass 1 finish the job
    const r = balancePool(p, 'primary', HBA, ISC_DEFAULTS, ctx('primary'));
    expect(r.moves.map((l) => l.address - BASE)).toEqual(wanting.slice(0, 14)); // 10 - 14 = -4 = -hold
    expect(r.log[1]).toBe(`balanced pool ${LABEL}  total 40  free 16  backup 24  lts -4  max-misbal 6`);
  });

  it('pass 2 then gives the oldest others, until lts <= hold for used leases', () => {
    // 36 used FREE leases, 2 of them with a client hashing to the secondary; 4 ACTIVE: lts 18, hold 4.
    const macs = Array.from({ length: 400 }, (_, k) => Uint8Array.from([0x02, 0, 0, 0, k >> 8, k & 0xff]));
    const toSecondary = (m: Uint8Array) => !primaryServesBucket(HBA, loadBalanceHash(m));
    const keep = macs.filter((m) => !toSecondary(m));
    const give = macs.filter(toSecondary);
    const wanting = [5, 17];
    let k = 0;
    const p = pool((i) =>
      i >= 36
        ? lease(i, B.ACTIVE)
        : lease(i, B.FREE, {
            ends: NOW - 10_000 + (39 - i),
            hwAddr: wanting.includes(i) ? give[i]! : keep[k++]!,
          }),
    );
    const r = balancePool(p, 'primary', HBA, ISC_DEFAULTS, ctx('primary'));
    expect(r.counts).toEqual({ total: 40, free: 36, backup: 0, lts: 18 });
    // Pass 1: the two wanting ones, oldest first (lts 16). Pass 2: the oldest others (highest index), until lts 4.
    const others = Array.from({ length: 36 }, (_, i) => 35 - i).filter((i) => !wanting.includes(i));
    expect(r.moves.map((l) => l.address - BASE)).toEqual([17, 5, ...others.slice(0, 12)]);
    expect(r.log[1]).toBe(`balanced pool ${LABEL}  total 40  free 22  backup 14  lts 4  max-misbal 5`);
  });

  it('never-used leases are given until lts 0, used ones until lts <= hold (the queue is oldest first: ends 0 first)', () => {
    // 10 never-used, 26 used FREE: lts 18, hold 4: the 10 never-used (lts 8), then 4 used (lts 4).
    const p = pool((i) =>
      i < 10 ? undefined : i < 36 ? lease(i, B.FREE, { ends: NOW - 100 }) : lease(i, B.ACTIVE),
    );
    const r = balancePool(p, 'primary', HBA, ISC_DEFAULTS, ctx('primary'));
    expect(r.moves.map((l) => l.address - BASE)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });

  it('IMBALANCED (ISC logs it as an error) when hold lets more than thresh stay', () => {
    const settings = { ...ISC_DEFAULTS, maxLeaseMisbalance: 5, maxLeaseOwnership: 50 };
    const r = balancePool(
      pool((i) => lease(i, B.FREE, { ends: NOW - 100 })),
      'primary',
      HBA,
      settings,
      ctx('primary'),
    );
    expect(r.moves).toEqual([]);
    expect(r.log).toEqual([
      `balancing pool ${LABEL}  total 40  free 40  backup 0  lts 20  max-own (+/-)20`,
      `IMBALANCED pool ${LABEL}  total 40  free 40  backup 0  lts 20  max-misbal 2`,
    ]);
  });

  it.each([S.RECOVER, S.COMMUNICATIONS_INTERRUPTED, S.PARTNER_DOWN, S.STARTUP])(
    'in state %i nothing is balanced and nothing logged',
    (my) => {
      const r = balancePool(
        pool(() => undefined),
        'primary',
        HBA,
        ISC_DEFAULTS,
        ctx('primary', my),
      );
      expect(r).toEqual({
        moves: [],
        poolReq: false,
        counts: { total: 40, free: 40, backup: 0, lts: 20 },
        log: [],
      });
    },
  );

  it('a primary short of FREE leases asks too (ISC has no role test there; the secondary then gives BACKUP back)', () => {
    const r = balancePool(
      pool((i) => lease(i, B.BACKUP)),
      'primary',
      HBA,
      ISC_DEFAULTS,
      ctx('primary'),
    );
    expect(r.counts.lts).toBe(-20);
    expect(r.poolReq).toBe(true);
    expect(r.moves).toEqual([]);
  });
});

describe('balancePool on the secondary', () => {
  it("after the primary's balance (20 BACKUP / 20 FREE): nothing to do", () => {
    const r = balancePool(
      pool((i) => (i < 20 ? lease(i, B.BACKUP) : undefined)),
      'secondary',
      HBA,
      ISC_DEFAULTS,
      ctx('secondary'),
    );
    expect(r.counts).toEqual({ total: 40, free: 20, backup: 20, lts: 0 });
    expect(r.moves).toEqual([]);
    expect(r.poolReq).toBe(false);
  });

  it('too many BACKUP leases go back to the primary as FREE, starts = tstp = now', () => {
    const r = balancePool(
      pool((i) => (i < 30 ? lease(i, B.BACKUP) : undefined)),
      'secondary',
      HBA,
      ISC_DEFAULTS,
      ctx('secondary'),
    );
    expect(r.counts.lts).toBe(10);
    expect(r.moves).toHaveLength(10);
    for (const m of r.moves) expect(m).toMatchObject({ state: B.FREE, starts: NOW, tstp: NOW });
    expect(r.log[1]).toBe(`balanced pool ${LABEL}  total 40  free 20  backup 20  lts 0  max-misbal 6`);
  });

  it('a fresh secondary (all FREE) asks for a POOLREQ on the timer: lts -20 < -2 * thresh (-12)', () => {
    const r = balancePool(
      pool(() => undefined),
      'secondary',
      HBA,
      ISC_DEFAULTS,
      ctx('secondary'),
    );
    expect(r.poolReq).toBe(true);
    expect(r.moves).toEqual([]);
    expect(r.log[0]).toBe(
      `balancing pool ${LABEL}  total 40  free 40  backup 0  lts -20  max-own (+/-)4  (requesting peer rebalance!)`,
    );
    expect(r.log[1]).toBe(`balanced pool ${LABEL}  total 40  free 40  backup 0  lts -20  max-misbal 6`);
  });

  it('the POOLREQ threshold: lts -13 asks, -12 does not; entering normal or answering a POOLREQ never asks', () => {
    const withBackup = (n: number) => pool((i) => (i < n ? lease(i, B.BACKUP) : undefined));
    expect(balancePool(withBackup(7), 'secondary', HBA, ISC_DEFAULTS, ctx('secondary')).counts.lts).toBe(-13);
    expect(balancePool(withBackup(7), 'secondary', HBA, ISC_DEFAULTS, ctx('secondary')).poolReq).toBe(true);
    expect(balancePool(withBackup(8), 'secondary', HBA, ISC_DEFAULTS, ctx('secondary')).counts.lts).toBe(-12);
    expect(balancePool(withBackup(8), 'secondary', HBA, ISC_DEFAULTS, ctx('secondary')).poolReq).toBe(false);
    for (const trigger of ['normal', 'poolreq'] as const) {
      const r = balancePool(withBackup(0), 'secondary', HBA, ISC_DEFAULTS, ctx('secondary'), trigger);
      expect(r.poolReq).toBe(false);
      expect(r.log[0]).not.toContain('requesting');
    }
  });

  it('tiny pools: thresh 0 (3 leases) makes the panic line -1, so lts -1 does not ask; 6 leases: thresh 1, lts -3 asks', () => {
    const tiny = (backup: number, free: number): PoolAddresses => ({
      label: 'tiny',
      addresses: [
        ...Array.from({ length: backup }, (_, i) => ({ ip: BASE + i, lease: lease(i, B.BACKUP) })),
        ...Array.from({ length: free }, (_, i) => ({ ip: BASE + backup + i, lease: undefined })),
      ],
    });
    const ask = (free: number) =>
      balancePool(tiny(0, free), 'secondary', HBA, ISC_DEFAULTS, ctx('secondary'));
    expect(ask(3).log[1]).toBe('balanced pool tiny  total 3  free 3  backup 0  lts -1  max-misbal 0');
    expect(ask(3).poolReq).toBe(false); // lts -1, panic -1
    expect(ask(5).poolReq).toBe(false); // lts -2, thresh 1, panic -2
    expect(ask(6).poolReq).toBe(true); // lts -3 < -2
  });

  it('pass 1 on the secondary gives back BACKUP leases whose client hashes to the primary', () => {
    const p = pool((i) =>
      i < 30 ? lease(i, B.BACKUP, { ends: NOW - 100 + i, hwAddr: mac(i) }) : lease(i, B.FREE),
    );
    const toPrimary = Array.from({ length: 30 }, (_, i) => i).filter((i) => !hashesToSecondary(i));
    const r = balancePool(p, 'secondary', HBA, ISC_DEFAULTS, ctx('secondary'));
    expect(r.counts.lts).toBe(10);
    expect(r.moves.map((l) => l.address - BASE)).toEqual(toPrimary.slice(0, 14));
  });
});

describe('peerWantsLease, poolCounts, affinityMove', () => {
  it('the key is the client id, else the hardware address; no key or no HBA: nobody', () => {
    const cid = Uint8Array.from([1, ...mac(3)]);
    const byId = lease(0, B.FREE, { clientId: cid, hwAddr: mac(9) });
    expect(peerWantsLease(byId, 'primary', HBA)).toBe(!primaryServesBucket(HBA, loadBalanceHash(cid)));
    expect(peerWantsLease(byId, 'secondary', HBA)).toBe(primaryServesBucket(HBA, loadBalanceHash(cid)));
    const byHw = lease(0, B.FREE, { hwAddr: mac(9) });
    expect(peerWantsLease(byHw, 'primary', HBA)).toBe(hashesToSecondary(9));
    expect(peerWantsLease(lease(0, B.FREE), 'primary', HBA)).toBe(false);
    expect(peerWantsLease(lease(0, B.FREE), 'secondary', HBA)).toBe(false);
    expect(peerWantsLease(byHw, 'primary', new Uint8Array(0))).toBe(false);
  });

  it('poolCounts: no record = FREE; other states are neither', () => {
    expect(
      poolCounts(
        pool((i) =>
          i < 5 ? lease(i, B.BACKUP) : i < 8 ? lease(i, B.ACTIVE) : i < 9 ? lease(i, B.EXPIRED) : undefined,
        ),
      ),
    ).toEqual({
      free: 31,
      backup: 5,
    });
  });

  it('affinityMove: the primary sends a FREE lease of a secondary client to BACKUP unless the secondary hoards', () => {
    const i = Array.from({ length: 40 }, (_, k) => k).find(hashesToSecondary)!;
    const j = Array.from({ length: 40 }, (_, k) => k).find((k) => !hashesToSecondary(k))!;
    const l = lease(i, B.FREE, { hwAddr: mac(i), ends: NOW - 10 });
    expect(affinityMove(l, 'primary', HBA, { free: 20, backup: 20 }, ISC_DEFAULTS, NOW)).toEqual({
      ...l,
      state: B.BACKUP,
      tstp: NOW,
      starts: NOW,
    });
    // lts = (free - backup) / 2 must stay above -hold, hold = 10 % of free + backup, rounded.
    expect(affinityMove(l, 'primary', HBA, { free: 16, backup: 20 }, ISC_DEFAULTS, NOW)).toBeDefined(); // lts -2, hold 4
    expect(affinityMove(l, 'primary', HBA, { free: 14, backup: 20 }, ISC_DEFAULTS, NOW)).toBeUndefined(); // lts -3, hold 3
    expect(affinityMove(l, 'secondary', HBA, { free: 20, backup: 20 }, ISC_DEFAULTS, NOW)).toBeUndefined();
    expect(
      affinityMove({ ...l, state: B.ACTIVE }, 'primary', HBA, { free: 20, backup: 20 }, ISC_DEFAULTS, NOW),
    ).toBeUndefined();
    expect(
      affinityMove(
        lease(j, B.FREE, { hwAddr: mac(j) }),
        'primary',
        HBA,
        { free: 20, backup: 20 },
        ISC_DEFAULTS,
        NOW,
      ),
    ).toBeUndefined();
  });
});

describe('the next check (ISC dhcp_failover_pool_check)', () => {
  it('max-balance by default (a fresh pool), plus 0..4 s of jitter', () => {
    expect(nextBalanceDelay(ISC_DEFAULTS, 0)).toBe(3600);
    expect(nextBalanceDelay(ISC_DEFAULTS, 0.2)).toBe(3601);
    expect(nextBalanceDelay(ISC_DEFAULTS, 0.999)).toBe(3604);
    expect(nextBalanceDelay(ISC_DEFAULTS, 1)).toBe(3604);
    expect(nextBalanceDelay(ISC_DEFAULTS, -1)).toBe(3600);
  });

  it('an estimate is capped at max-balance and raised to min-balance', () => {
    expect(nextBalanceDelay(ISC_DEFAULTS, 0, 10)).toBe(60);
    expect(nextBalanceDelay(ISC_DEFAULTS, 0, 59)).toBe(60);
    expect(nextBalanceDelay(ISC_DEFAULTS, 0, 61)).toBe(61);
    expect(nextBalanceDelay(ISC_DEFAULTS, 0, 3601)).toBe(3600);
  });

  it("balanceEstimate: misbalance % of the oldest lease's age, our own side doubled, the smaller one", () => {
    // Primary: oldest FREE ended 1000 s ago -> 150 s, doubled 300; oldest BACKUP 400 s ago -> 60 s.
    const p = pool((i) =>
      i < 10 ? lease(i, B.FREE, { ends: NOW - 1000 + i }) : lease(i, B.BACKUP, { ends: NOW - 400 }),
    );
    expect(balanceEstimate(p, 'primary', ISC_DEFAULTS, NOW)).toBe(60);
    expect(balanceEstimate(p, 'secondary', ISC_DEFAULTS, NOW)).toBe(120);
    // A fresh pool: ends 0 is as old as the epoch, and without BACKUP leases their side counts 0.
    expect(
      balanceEstimate(
        pool(() => undefined),
        'primary',
        ISC_DEFAULTS,
        NOW,
      ),
    ).toBe(0);
    const half = pool((i) => (i < 20 ? lease(i, B.BACKUP) : undefined));
    expect(balanceEstimate(half, 'primary', ISC_DEFAULTS, NOW)).toBeGreaterThan(3600);
    expect(nextBalanceDelay(ISC_DEFAULTS, 0, balanceEstimate(half, 'primary', ISC_DEFAULTS, NOW))).toBe(3600);
  });
});
