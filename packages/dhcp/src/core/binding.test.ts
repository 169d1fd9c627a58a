import { describe, expect, it } from 'vitest';
import { BindingState as S, INFINITE, type Lease } from '@hadhcp/leases';
import { nextBinding, type BindingEvent, type BindingEventName } from './binding.js';

const IP = 0x0a000032;
const NOW = 1_700_000_000;
const HOLDER = { htype: 1, hw: new Uint8Array([2, 0, 0, 0, 0, 9]), cid: Uint8Array.of(1, 2, 3) };

function record(state: S, over: Partial<Lease> = {}): Lease {
  return {
    address: IP,
    state,
    starts: NOW - 600,
    ends: NOW - 1,
    tstp: 11,
    tsfp: 12,
    atsfp: 13,
    cltt: NOW - 600,
    hwType: 1,
    hwAddr: new Uint8Array([2, 0, 0, 0, 0, 1]),
    clientId: Uint8Array.of(7),
    hostname: 'old',
    ...over,
  };
}

const EVENTS: Record<BindingEventName, BindingEvent> = {
  bind: { on: 'bind', holder: HOLDER, ends: NOW + 600, sameHolder: false },
  release: { on: 'release' },
  abandon: { on: 'abandon', seconds: 86_400 },
  expire: { on: 'expire' },
  free: { on: 'free' },
};

const FROM: Array<[string, S | undefined]> = [
  ['(none)', undefined],
  ['FREE', S.FREE],
  ['ACTIVE', S.ACTIVE],
  ['EXPIRED', S.EXPIRED],
  ['RELEASED', S.RELEASED],
  ['ABANDONED', S.ABANDONED],
  ['BACKUP', S.BACKUP],
];

/** The whole grid: from state x event -> state after (undefined: no change). */
const GRID: Record<string, Record<BindingEventName, S | undefined>> = {
  '(none)': { bind: S.ACTIVE, release: undefined, abandon: S.ABANDONED, expire: undefined, free: undefined },
  FREE: { bind: S.ACTIVE, release: undefined, abandon: S.ABANDONED, expire: undefined, free: S.FREE },
  ACTIVE: { bind: S.ACTIVE, release: S.RELEASED, abandon: S.ABANDONED, expire: S.FREE, free: S.FREE },
  EXPIRED: { bind: S.ACTIVE, release: undefined, abandon: S.ABANDONED, expire: undefined, free: S.FREE },
  RELEASED: { bind: S.ACTIVE, release: undefined, abandon: S.ABANDONED, expire: undefined, free: S.FREE },
  ABANDONED: { bind: S.ACTIVE, release: undefined, abandon: S.ABANDONED, expire: S.FREE, free: S.FREE },
  BACKUP: { bind: S.ACTIVE, release: undefined, abandon: S.ABANDONED, expire: undefined, free: S.FREE },
};

describe('nextBinding: every binding state x every event', () => {
  for (const [name, from] of FROM) {
    for (const [on, e] of Object.entries(EVENTS) as Array<[BindingEventName, BindingEvent]>) {
      const want = GRID[name]![on];
      it(`${name} --${on}--> ${want === undefined ? 'no change' : S[want]}`, () => {
        const next = nextBinding(from === undefined ? undefined : record(from), IP, e, NOW, undefined);
        expect(next?.state).toBe(want);
        if (next) expect(next.address).toBe(IP);
      });
    }
  }
});

describe('nextBinding: what each event writes', () => {
  it('bind: the holder, now to ends, the failover times and the pool peer kept', () => {
    const l = nextBinding(record(S.FREE), IP, EVENTS.bind, NOW, 'peer')!;
    expect(l).toEqual({
      address: IP,
      state: S.ACTIVE,
      starts: NOW,
      ends: NOW + 600,
      tstp: 11,
      tsfp: 12,
      atsfp: 13,
      cltt: NOW,
      hwType: 1,
      hwAddr: HOLDER.hw,
      clientId: HOLDER.cid,
      failoverPeer: 'peer',
    });
    expect(l.hwAddr).not.toBe(HOLDER.hw); // a copy: the packet's buffer is not kept
  });

  it('bind: the recorded host name is kept for the same holder when the packet has none, never for another', () => {
    const same = { ...EVENTS.bind, sameHolder: true } as BindingEvent;
    expect(nextBinding(record(S.ACTIVE), IP, same, NOW, undefined)!.hostname).toBe('old');
    expect(nextBinding(record(S.ACTIVE), IP, EVENTS.bind, NOW, undefined)!.hostname).toBeUndefined();
    const named = {
      on: 'bind',
      holder: { ...HOLDER, hostname: 'new' },
      ends: INFINITE,
      sameHolder: true,
    } as const;
    const l = nextBinding(record(S.ACTIVE), IP, named, NOW, undefined)!;
    expect([l.hostname, l.ends]).toEqual(['new', INFINITE]);
  });

  it('release: ends now, association and start kept', () => {
    const l = nextBinding(record(S.ACTIVE, { ends: NOW + 300 }), IP, EVENTS.release, NOW, undefined)!;
    expect(l).toMatchObject({ state: S.RELEASED, starts: NOW - 600, ends: NOW, cltt: NOW, hostname: 'old' });
    expect(l.hwAddr).toEqual(new Uint8Array([2, 0, 0, 0, 0, 1]));
  });

  it('abandon: no association, unusable for the given seconds', () => {
    const l = nextBinding(record(S.ACTIVE), IP, EVENTS.abandon, NOW, 'peer')!;
    expect(l).toEqual({
      address: IP,
      state: S.ABANDONED,
      starts: NOW,
      ends: NOW + 86_400,
      tstp: 11,
      tsfp: 12,
      atsfp: 13,
      cltt: NOW,
      hwType: 1,
      failoverPeer: 'peer',
    });
  });

  it('expire: ACTIVE keeps its client (EXPIRED in a failover pool); ABANDONED loses any association', () => {
    const a = nextBinding(record(S.ACTIVE), IP, EVENTS.expire, NOW, undefined)!;
    expect(a).toMatchObject({ state: S.FREE, hostname: 'old', clientId: Uint8Array.of(7) });
    const peer = nextBinding(record(S.ACTIVE, { failoverPeer: 'p' }), IP, EVENTS.expire, NOW, undefined)!;
    expect(peer.state).toBe(S.EXPIRED);
    const ab = nextBinding(record(S.ABANDONED), IP, EVENTS.expire, NOW, undefined)!;
    expect([ab.state, ab.hwAddr, ab.clientId, ab.hostname]).toEqual([
      S.FREE,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('free: no client, failover times and peer kept, ends 0', () => {
    const l = nextBinding(record(S.ACTIVE, { failoverPeer: 'p' }), IP, EVENTS.free, NOW, undefined)!;
    expect(l).toEqual({
      address: IP,
      state: S.FREE,
      starts: NOW,
      ends: 0,
      tstp: 11,
      tsfp: 12,
      atsfp: 13,
      cltt: NOW - 600,
      hwType: 1,
      failoverPeer: 'p',
    });
  });
});
