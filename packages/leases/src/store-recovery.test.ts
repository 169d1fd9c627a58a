// A failed store recovers by itself: it reloads what is on disk at once (refused writes leave the records), retries
// with backoff on a manual timer, and accepts writes again only once it has reopened its files and a write succeeded.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeIo, type StoreIo } from './files.js';
import { LeaseStore, StoreFailedError, type LeaseStoreOptions } from './store.js';
import { removeTestStores, sampleLease } from './test-helpers.js';

const dirs: string[] = [];
const stores: LeaseStore[] = [];

afterEach(() => removeTestStores(stores, dirs));

const lease = sampleLease;

interface Timer {
  ms: number;
  run: () => void;
}

/** A manual setTimer: the test sees each delay the store asks for and runs the timer when it chooses. */
function manualTimers() {
  const pending: Timer[] = [];
  return {
    setTimer: (fn: () => void, ms: number) => {
      const t: Timer = { ms, run: fn };
      pending.push(t);
      return () => void pending.splice(pending.indexOf(t) >>> 0, 1);
    },
    pending,
    /** The next timer the store sets (waiting for the attempt in progress to set it). */
    async next(): Promise<Timer> {
      for (let i = 0; pending.length === 0; i++) {
        if (i > 2000) throw new Error('the store set no timer');
        await new Promise((r) => setTimeout(r, 1));
      }
      return pending.shift()!;
    },
  };
}

/**
 * A disk that can be made full (writes store half their bytes, then fail with ENOSPC, as a short write then
 * ENOSPC does on tmpfs) or broken (fdatasync fails with EIO).
 */
function fakeDisk() {
  const disk = { full: false, syncFails: false };
  const io: Partial<StoreIo> = {
    write: async (fh, buf, pos) => {
      if (!disk.full) return nodeIo.write(fh, buf, pos);
      await nodeIo.write(fh, buf.subarray(0, buf.length >> 1), pos);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    },
    datasync: async (fh) => {
      if (disk.syncFails) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      await nodeIo.datasync(fh);
    },
  };
  return { disk, io };
}

async function setup(opts: LeaseStoreOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'hadhcp-recovery-'));
  dirs.push(dir);
  const timers = manualTimers();
  const { disk, io } = fakeDisk();
  const notes: string[] = [];
  const health: (string | undefined)[] = [];
  const s = await LeaseStore.open(dir, { io, setTimer: timers.setTimer, log: (m) => notes.push(m), ...opts });
  stores.push(s);
  s.onHealth((f) => health.push(f?.message));
  return { dir, s, timers, disk, notes, health };
}

describe('LeaseStore recovers by itself', () => {
  it('refused writes leave the records at once; after recovery a write is durable and the refused ones are gone', async () => {
    const { dir, s, timers, disk, notes, health } = await setup();
    const changes: number[] = [];
    s.records.observe((key) => changes.push(key >>> 0));
    await s.write([lease(1)]);
    disk.full = true;
    const refused = [s.write([lease(1, { cltt: 5 }), lease(2)]), s.delete(1)];
    // Applied to memory when requested, as every write is (and the observer saw them).
    expect(s.get(2)).toBeDefined();
    for (const w of refused) await expect(w).rejects.toThrow(StoreFailedError);
    expect(health).toHaveLength(1);
    expect(health[0]).toMatch(/ENOSPC/);
    expect(s.stats().failed).toMatch(/ENOSPC/);

    // At once: the files are reloaded (the half-written frame cut off) and memory is what they hold.
    const reload = await timers.next();
    expect(reload.ms).toBe(0);
    reload.run();
    const first = await timers.next();
    expect(first.ms).toBe(1000);
    expect(s.size).toBe(1);
    expect(s.get(2)).toBeUndefined();
    expect(s.get(1)!.cltt).toBe(1_700_000_000);
    expect(changes).toContain(2); // the table's observer followed the reload
    expect(notes.join('\n')).toMatch(/cut \d+ bytes of refused writes from .*journal-0/);

    // Still failed: a write now is refused and never applied.
    await expect(s.write([lease(3)])).rejects.toThrow(/no write is accepted until the store is reopened/);
    expect(s.get(3)).toBeUndefined();

    disk.full = false;
    first.run();
    await expect.poll(() => health.length).toBe(2);
    expect(health[1]).toBeUndefined();
    expect(s.stats()).toMatchObject({ recoveries: 1, leases: 1 });
    expect(s.stats().failed).toBeUndefined();
    expect(notes.join('\n')).toMatch(
      /writable again after [\d.]+ s \(attempt 1\); 1 leases, as stored on disk/,
    );
    await s.write([lease(4)]);
    await s.close();
    expect((await readdir(dir)).sort()).toEqual(['journal-0']); // no scratch file left behind
    const r = await LeaseStore.open(dir, { log: () => undefined });
    stores.push(r);
    expect([...r.leases()].map((l) => [l.address, l.cltt])).toEqual([
      [1, 1_700_000_000],
      [4, 1_700_000_000],
    ]);
  });

  it('retries 1 s, 2 s, 4 s ... 30 s while the disk stays full, one line per attempt, refusing every write', async () => {
    const { s, timers, disk, notes, health } = await setup();
    disk.full = true;
    await expect(s.write([lease(1)])).rejects.toThrow(/ENOSPC/);
    (await timers.next()).run(); // the reload
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = await timers.next();
      delays.push(t.ms);
      t.run();
      await expect(s.write([lease(2)])).rejects.toThrow(StoreFailedError);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    const next = await timers.next();
    expect(next.ms).toBe(30000);
    const attempts = notes.filter((m) => /recovery attempt \d+ failed \(ENOSPC/.test(m));
    expect(attempts).toHaveLength(7);
    expect(attempts[6]).toMatch(/attempt 7 failed .*; next attempt in 30 s/);
    expect(s.stats().recovery).toMatchObject({ attempts: 7, lastError: expect.stringMatching(/ENOSPC/) });
    expect(health).toHaveLength(1);
    disk.full = false;
    next.run();
    await expect.poll(() => health.length).toBe(2);
    expect(s.stats().recovery).toBeUndefined();
  });

  it('an attempt whose journal write fails again keeps the store failed and retries later', async () => {
    const { s, timers, disk, health } = await setup();
    await s.write([lease(1)]);
    disk.syncFails = true;
    await expect(s.write([lease(2)])).rejects.toThrow(/EIO/);
    (await timers.next()).run();
    // The scratch file syncs (fsync), the journal does not (fdatasync): the attempt fails at its last step.
    (await timers.next()).run();
    const again = await timers.next();
    expect(again.ms).toBe(2000);
    expect(s.stats().recovery).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/EIO/) });
    expect(health).toHaveLength(1);
    expect(s.get(2)).toBeUndefined();
    disk.syncFails = false;
    again.run();
    await expect.poll(() => health.length).toBe(2);
    await s.write([lease(3)]);
    expect(s.size).toBe(2);
  });

  it('a store failing again soon after recovering keeps its backoff; one that stayed writable starts over', async () => {
    const { s, timers, disk, health } = await setup({ retryFirstMs: 10, retryMaxMs: 400 });
    const failThenRecover = async (): Promise<number> => {
      disk.full = true;
      await expect(s.write([lease(1)])).rejects.toThrow(/ENOSPC/);
      disk.full = false;
      (await timers.next()).run();
      const t = await timers.next();
      const n = health.length;
      t.run();
      await expect.poll(() => health.length).toBe(n + 1);
      return t.ms;
    };
    expect(await failThenRecover()).toBe(10);
    expect(await failThenRecover()).toBe(20); // within retryMaxMs of the recovery: the backoff goes on
    expect(await failThenRecover()).toBe(40);
    await new Promise((r) => setTimeout(r, 450)); // writable for longer than retryMaxMs
    expect(await failThenRecover()).toBe(10);
  });

  it('a compaction failing after its rename fails the store, which reloads the new generation and recovers', async () => {
    let failDirSync = false;
    const { dir, s, timers, health } = await setup({
      io: {
        syncDir: async (d) => {
          if (failDirSync) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
          await nodeIo.syncDir(d);
        },
      },
    });
    await s.write([lease(1), lease(2)]);
    failDirSync = true;
    await expect(s.compact()).rejects.toThrow(StoreFailedError);
    failDirSync = false;
    (await timers.next()).run();
    (await timers.next()).run();
    await expect.poll(() => health.length).toBe(2);
    expect(s.stats()).toMatchObject({ generation: 1, leases: 2 });
    await s.write([lease(3)]);
    await s.close();
    expect((await readdir(dir)).sort()).toEqual(['journal-1', 'snapshot-1']);
    const r = await LeaseStore.open(dir, { log: () => undefined });
    stores.push(r);
    expect(r.size).toBe(3);
  });

  it('close() while failed cancels the retry and releases the lock', async () => {
    const { dir, s, timers, disk } = await setup();
    disk.full = true;
    await expect(s.write([lease(1)])).rejects.toThrow(/ENOSPC/);
    expect(timers.pending).toHaveLength(1);
    await s.close();
    expect(timers.pending).toHaveLength(0);
    const r = await LeaseStore.open(dir, { log: () => undefined });
    stores.push(r);
    expect(r.size).toBe(0);
  });
});
