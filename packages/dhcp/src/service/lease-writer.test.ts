import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '@hadhcp/common';
import { BindingState, LeaseStore, type Lease, type LeaseStoreOptions } from '@hadhcp/leases';
import { recordingLog } from '../../test-vectors/service-fakes.js';
import { LeaseWriter, type LeaseCause } from './lease-writer.js';

const dirs: string[] = [];
/** Waits on what the test expects to happen (a real disk write), with a limit generous for a loaded machine. */
const soon = { timeout: 10_000 };
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const lease = (n: number): Lease => ({
  address: 0x0a000000 + n,
  state: BindingState.ACTIVE,
  starts: 1000,
  ends: 1600,
  tstp: 0,
  tsfp: 0,
  atsfp: 0,
  cltt: 1000,
  hwType: 1,
  hwAddr: new Uint8Array([2, 0, 0, 0, 0, n]),
});

/** A writer over a real store whose journal writes can be held back and refused (ENOSPC). */
async function writer(extra: Partial<ConstructorParameters<typeof LeaseWriter>[0]> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'hadhcp-writer-'));
  dirs.push(dir);
  const disk = { full: false, held: [] as Array<() => void>, holding: false };
  const timers: Array<() => void> = [];
  const io: LeaseStoreOptions['io'] = {
    write: async (fh, buf, pos) => {
      if (disk.holding) await new Promise<void>((r) => disk.held.push(r));
      if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      await fh.write(buf, 0, buf.length, pos);
    },
  };
  const store = await LeaseStore.open(dir, {
    log: () => undefined,
    io,
    setTimer: (run) => (timers.push(run), () => undefined),
  });
  const events: string[] = [];
  const counters = new Counters();
  const logged = recordingLog();
  /** The partner's releases, held back while `partner.holding` (else called at once, as an unreachable partner). */
  const partner = { holding: false, held: [] as Array<() => void> };
  const w = new LeaseWriter({
    store,
    log: logged.log,
    counters,
    sync: {
      committed: (ls: readonly Lease[], cause: LeaseCause, released: () => void) => {
        events.push(`sync ${cause} ${ls.length}`);
        if (partner.holding) partner.held.push(released);
        else released();
      },
    },
    recovered: () => void events.push('recovered'),
    internalError: (where) => void events.push(`internal-error ${where}`),
    ...extra,
  });
  w.onHealth((healthy, reason) => events.push(`health ${healthy}: ${reason.split(':')[0]}`));
  const release = () => {
    disk.holding = false;
    for (const r of disk.held.splice(0)) r();
  };
  return { w, store, disk, release, partner, timers, events, counters, lines: logged.lines };
}

describe('LeaseWriter', () => {
  it('releases what waits only once the write is on disk, after telling the partner', async () => {
    const { w, store, disk, release, events } = await writer();
    disk.holding = true;
    w.commit([lease(1)], 'packet', (refused) => events.push(`done ${refused}`));
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual([]); // the write is still on its way to the disk
    release();
    await expect.poll(() => events, soon).toEqual(['sync packet 1', 'done undefined']);
    expect(store.stats().syncs).toBe(1);
    await store.close();
  });

  it('a refused write: counted once, the partner not told, health down; recovery rebuilds before health is up', async () => {
    const { w, store, disk, timers, events, counters, lines } = await writer();
    disk.full = true;
    const refused = await w.settled([lease(1)], 'expiry');
    expect(refused?.message).toMatch(/ENOSPC/);
    expect(counters.toJSON()['lease-writes-refused']).toBe(1);
    expect(w.failed).toMatch(/ENOSPC/);
    expect(events).toEqual(['health false: lease store failed']);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    // Refused at once while failed, and counted the same way.
    expect(await w.settled([lease(2)], 'lease4-del')).toBeInstanceOf(Error);
    expect(counters.toJSON()['lease-writes-refused']).toBe(2);
    disk.full = false;
    // The store's recovery: a reload at once, then attempts; each timer is run once the store has set it.
    for (let i = 0; i < 5 && w.failed; i++) {
      await expect.poll(() => timers.length > 0 || w.failed === undefined, soon).toBe(true);
      timers.shift()?.();
      await expect.poll(() => timers.length > 0 || w.failed === undefined, soon).toBe(true);
    }
    expect(w.failed).toBeUndefined();
    expect(events.slice(1)).toEqual(['recovered', 'health true: lease store writable again']);
    expect(await w.settled([lease(3)], 'ping')).toBeUndefined();
    expect(events.at(-1)).toBe('sync ping 1');
    await store.close();
  });

  it("the reply waits for the partner's release (its BNDACK), once; the partner's own updates are never told back", async () => {
    const { w, store, partner, events } = await writer();
    partner.holding = true;
    w.commit([lease(1)], 'packet', (refused) => events.push(`done ${refused}`));
    await expect.poll(() => events, soon).toEqual(['sync packet 1']);
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(['sync packet 1']); // on disk, but the partner has not acknowledged it yet
    const released = partner.held.shift()!;
    released();
    released(); // a second release (a late BNDACK after a reconnect's resend) changes nothing
    expect(events).toEqual(['sync packet 1', 'done undefined']);
    // The partner's own changes: on disk, then done at once, and the hook hears nothing of them.
    expect(await w.settled([lease(2)], 'partner')).toBeUndefined();
    expect(events).toEqual(['sync packet 1', 'done undefined']);
    expect(partner.held).toEqual([]);
    await store.close();
  });

  it('a refused write is never told to the partner', async () => {
    const { w, store, disk, events } = await writer();
    disk.full = true;
    expect(await w.settled([lease(1)], 'packet')).toBeInstanceOf(Error);
    expect(events.filter((e) => e.startsWith('sync'))).toEqual([]);
    await store.close();
  });

  it("a throw in the partner's hook or in a caller's callback is an internal error, never an unhandled rejection", async () => {
    const { w, store, events } = await writer({
      sync: {
        committed: () => {
          throw new Error('bug in sync');
        },
      },
    });
    w.commit([lease(1)], 'packet', () => {
      throw new Error('bug after the write');
    });
    await expect
      .poll(() => events, soon)
      .toEqual(['internal-error lease sync', 'internal-error after a packet write']);
    // A hook that throws cannot have kept the release: the reply goes at once rather than never.
    expect(await w.settled([lease(2)], 'packet')).toBeUndefined();
    expect(events.filter((e) => e === 'internal-error lease sync')).toHaveLength(2);
    await store.close();
  });
});

describe('LeaseWriter.runEvents (dhcpd.conf on commit|release|expiry)', () => {
  it('runs on a later turn than the caller (the reply leaves first), logs at the priority, a throw is internal', async () => {
    const { w, store, events, lines } = await writer();
    const order: string[] = [];
    w.runEvents([
      () => (
        order.push('run'),
        [
          { level: 'info', text: 'commit 10.0.0.1' },
          { level: 'fatal', text: 'bad' },
        ]
      ),
      () => {
        throw new Error('boom');
      },
      () => [{ level: 'debug', text: 'dbg' }],
    ]);
    order.push('caller goes on');
    await expect.poll(() => lines.length, soon).toBe(3);
    expect(order).toEqual(['caller goes on', 'run']);
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'info commit 10.0.0.1',
      'error bad',
      'debug dbg',
    ]);
    expect(events).toEqual(['internal-error on commit/release/expiry']);
    await store.close();
  });
  it("hands an execute line's argv to the executor; with none (execute off) skips and counts it", async () => {
    const ran: string[][] = [];
    const on = await writer({ execute: (argv) => void ran.push(argv) });
    const line = { level: 'execute' as const, text: '/bin/notify a', argv: ['/bin/notify', 'a'] };
    on.w.runEvents([() => [line]]);
    await expect.poll(() => ran.length, soon).toBe(1);
    expect(ran[0]).toEqual(['/bin/notify', 'a']);
    expect(on.lines).toEqual([]);
    await on.store.close();
    const off = await writer();
    off.w.runEvents([() => [line]]);
    await expect.poll(() => off.counters.toJSON()['events.execute-off'], soon).toBe(1);
    expect(off.lines).toEqual([]);
    await off.store.close();
  });
});
