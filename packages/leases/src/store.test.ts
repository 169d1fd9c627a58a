import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BindingState, type Lease } from './lease.js';
import { LeaseStore, StoreFailedError, type LeaseStoreOptions } from './store.js';
import { removeTestStores, sampleLease } from './test-helpers.js';
import { StoreCorruptError } from './reader.js';
import { StoreLockedError } from './lock.js';
import { nodeIo } from './files.js';

const quiet: LeaseStoreOptions = { log: () => undefined };
const dirs: string[] = [];
const stores: LeaseStore[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hadhcp-leases-'));
  dirs.push(d);
  return d;
}

async function openStore(dir: string, opts: LeaseStoreOptions = {}): Promise<LeaseStore> {
  const s = await LeaseStore.open(dir, { ...quiet, ...opts });
  stores.push(s);
  return s;
}

afterEach(() => removeTestStores(stores, dirs));

const lease = sampleLease;

function byAddress(store: LeaseStore): Map<number, Lease> {
  return new Map([...store.leases()].map((l) => [l.address, l]));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('LeaseStore', () => {
  it('keeps every field, the last write per address, deletes and metadata across a reopen', async () => {
    const dir = await tempDir();
    const s = await openStore(dir);
    const full = lease(0xc0a80105, {
      clientId: new Uint8Array([1, 0x52, 0x54, 0, 0x12, 0x34, 5]),
      hostname: 'pc-ü1',
      failoverPeer: 'dhcp-failover',
      state: BindingState.BACKUP,
    });
    await s.write([full, lease(0xc0a80106), lease(0xfffffffe)]);
    await s.write([lease(0xc0a80106, { state: BindingState.RELEASED, ends: 5 })]);
    await s.delete(0xfffffffe);
    await s.putMeta('failover/dhcp-failover', '{"my":"normal"}');
    await s.close();

    const r = await openStore(dir);
    const got = byAddress(r);
    expect(got.size).toBe(1 + 1);
    expect(got.get(0xc0a80105)).toEqual(full);
    expect(got.get(0xc0a80106)).toMatchObject({ state: BindingState.RELEASED, ends: 5 });
    expect(r.get(0xfffffffe)).toBeUndefined();
    expect(r.getMeta('failover/dhcp-failover')).toBe('{"my":"normal"}');
  });

  it('replays the last record per address over snapshot and journal (renewals, deletes, re-adds, meta)', async () => {
    const dir = await tempDir();
    const expected = new Map<number, Lease>();
    let seed = 7;
    const rnd = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const s = await openStore(dir);
    for (let step = 0; step < 600; step++) {
      if (step === 300) await s.compact(); // half the history in the snapshot, half in the journal
      const a = 0xfffffff0 - rnd(40); // signed keys inside: addresses above 2^31
      const op = rnd(10);
      if (op < 6) {
        const batch = [
          lease(a, { cltt: step, hostname: `h${step}` }),
          lease(0x0a000000 + rnd(40), { cltt: step }),
        ];
        await s.write(batch);
        for (const l of batch) expected.set(l.address, l);
      } else if (op < 9) {
        await s.delete(a);
        expected.delete(a);
      } else {
        await s.putMeta(`m${rnd(3)}`, `v${step}`);
      }
    }
    const metaOf = (st: LeaseStore) => ['m0', 'm1', 'm2'].map((k) => st.getMeta(k));
    const lastMeta = metaOf(s);
    expect(lastMeta.filter((v) => v !== undefined).length).toBeGreaterThan(0);
    const liveBytes = s.stats().liveBytes;
    expect(byAddress(s)).toEqual(expected);
    await s.close();
    const r = await openStore(dir);
    expect(r.stats().generation).toBe(1);
    expect(byAddress(r)).toEqual(expected);
    expect(metaOf(r)).toEqual(lastMeta);
    expect(r.stats().liveBytes).toBe(liveBytes);
  });

  it('rejects a lease that does not fit the format without failing the store', async () => {
    const s = await openStore(await tempDir());
    await expect(s.write([lease(1, { hwAddr: new Uint8Array(17) })])).rejects.toThrow(RangeError);
    await expect(s.write([lease(2)])).resolves.toBeUndefined();
  });

  it('writeRecorded stores what the live records hold (a later put in the same turn wins; none: deleted)', async () => {
    const dir = await tempDir();
    const s = await openStore(dir);
    await s.write([lease(7), lease(8)]);
    const full = lease(5, { clientId: new Uint8Array([1, 2, 3]), hostname: 'pc-ü1', failoverPeer: 'campus' });
    // The DHCP core's way: it puts into the live records, then hands the same leases to the store.
    s.records.put(full);
    s.records.put(lease(6, { ends: 10 }));
    s.records.put(lease(6, { ends: 20 }));
    s.records.delete(7);
    await s.writeRecorded([full, lease(6, { ends: 10 }), lease(7)]);
    expect(s.get(6)?.ends).toBe(20);
    await s.close();

    const r = await openStore(dir);
    expect(r.get(5)).toEqual(full);
    expect(r.get(6)?.ends).toBe(20);
    expect(r.get(7)).toBeUndefined();
    expect(r.get(8)).toEqual(lease(8));
    expect(r.size).toBe(3);
  });

  it('group commit: writes requested during a sync share the next sync and resolve only after it', async () => {
    const gates: { promise: Promise<void>; resolve: () => void }[] = [];
    let syncs = 0;
    const s = await openStore(await tempDir(), {
      io: {
        datasync: async (fh) => {
          syncs++;
          const g = deferred();
          gates.push(g);
          await g.promise;
          await nodeIo.datasync(fh);
        },
      },
    });
    const done: number[] = [];
    const first = s.write([lease(1)]).then(() => done.push(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(syncs).toBe(1);
    const rest = Array.from({ length: 100 }, (_, i) =>
      s.write([lease(100 + i)]).then(() => done.push(100 + i)),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toEqual([]); // nothing acknowledged while its sync is pending
    gates[0]!.resolve();
    await first;
    await expect.poll(() => syncs, { timeout: 10_000 }).toBe(2); // the 100 queued writes went out as one batch
    expect(done).toEqual([1]);
    gates[1]!.resolve();
    await Promise.all(rest);
    expect(done.length).toBe(101);
    expect(s.stats()).toMatchObject({ syncs: 2, commits: 101 });
  });

  it('group-commit window: writes in separate turns within syncIntervalMs share one sync', async () => {
    const starts: number[] = [];
    const s = await openStore(await tempDir(), {
      // Wide enough that ten turns of a loaded machine's event loop fit in it.
      syncIntervalMs: 500,
      io: {
        datasync: async (fh) => {
          starts.push(performance.now());
          await nodeIo.datasync(fh);
        },
      },
    });
    await s.write([lease(1)]); // idle store: syncs at once
    expect(starts.length).toBe(1);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      writes.push(s.write([lease(10 + i)]));
      await new Promise((r) => setImmediate(r)); // each write in its own turn of the event loop
    }
    await Promise.all(writes);
    expect(starts.length).toBe(2); // the ten went out together once the window had passed
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(490); // timers may fire a ms early
    expect(s.stats()).toMatchObject({ syncs: 2, commits: 11 });

    const z = await openStore(await tempDir(), { syncIntervalMs: 0 });
    for (let i = 0; i < 5; i++) await z.write([lease(i)]);
    expect(z.stats().syncs).toBe(5); // no window: one sync per write when writes come one at a time
    await z.close();
  });

  it('lazy writes wait up to lazySyncMs and share one sync; an eager write, a full batch or close() ends the wait', async () => {
    const syncedAt: number[] = [];
    const io = {
      datasync: async (fh: Parameters<typeof nodeIo.datasync>[0]) => {
        syncedAt.push(performance.now());
        await nodeIo.datasync(fh);
      },
    };
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    const settled = (p: Promise<void>): { done: boolean } => {
      const f = { done: false };
      void p.then(() => (f.done = true));
      return f;
    };

    // The lazy window: ten writes in ten turns, one sync once the first has waited lazySyncMs.
    const s = await openStore(await tempDir(), { lazySyncMs: 300, io });
    const t0 = performance.now();
    const lazy: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      lazy.push(s.write([lease(10 + i)], { lazy: true }));
      await turn();
    }
    await Promise.all(lazy);
    expect(syncedAt.length).toBe(1);
    expect(syncedAt[0]! - t0).toBeGreaterThanOrEqual(290); // timers may fire a ms early
    expect(s.stats()).toMatchObject({ syncs: 1, commits: 10 });

    // An eager write takes the lazy ones queued before it into its own (prompt) sync.
    const waiting = settled(s.write([lease(30)], { lazy: true }));
    await new Promise((r) => setTimeout(r, 30));
    expect(waiting.done).toBe(false);
    const t1 = performance.now();
    await s.write([lease(31)]);
    expect(performance.now() - t1).toBeLessThan(250); // not the 300 ms window: the eager write's own
    await expect.poll(() => waiting.done).toBe(true);
    expect(s.stats()).toMatchObject({ syncs: 2, commits: 12 });

    // LAZY_BATCH_BYTES (1 MiB) queued: synced without waiting (the window here is a minute).
    const big = await openStore(await tempDir(), { lazySyncMs: 60_000, io });
    const n0 = syncedAt.length;
    const many: Promise<void>[] = [];
    for (let i = 0; i < 20_000 && big.stats().syncs === 0; i++) {
      many.push(big.write([lease(1000 + i)], { lazy: true }));
      if (i % 500 === 499) await turn();
    }
    await Promise.all(many);
    expect(syncedAt.length).toBeGreaterThan(n0);

    // close() syncs what is queued at once, and what it acknowledged is there after a reopen.
    const dir = await tempDir();
    const c = await openStore(dir, { lazySyncMs: 60_000 });
    const last = settled(c.write([lease(77)], { lazy: true }));
    await turn();
    await c.close();
    expect(last.done).toBe(true);
    const again = await openStore(dir);
    expect(byAddress(again).has(lease(77).address)).toBe(true);
  });
  it('a failed sync rejects its writes and every later one, and says so; acknowledged data survives', async () => {
    const dir = await tempDir();
    let failNext = false;
    const s = await openStore(dir, {
      io: {
        datasync: async (fh) => {
          if (failNext) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          await nodeIo.datasync(fh);
        },
      },
    });
    await s.write([lease(1)]);
    failNext = true;
    const a = s.write([lease(2)]);
    const b = s.write([lease(3)]);
    await expect(a).rejects.toThrow(StoreFailedError);
    await expect(b).rejects.toThrow(/no write is accepted until the store is reopened/);
    failNext = false;
    await expect(s.write([lease(4)])).rejects.toThrow(StoreFailedError);
    await expect(s.putMeta('k', 'v')).rejects.toThrow(StoreFailedError);
    expect(s.stats().failed).toMatch(/EIO/);
    await s.close();
    const r = await openStore(dir);
    expect(r.get(1)).toBeDefined();
    expect(r.get(4)).toBeUndefined();
  });

  it('a failed write (not only a failed sync) is never acknowledged', async () => {
    let full = false;
    const s = await openStore(await tempDir(), {
      io: {
        write: async (fh, buf, pos) => {
          if (full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          await nodeIo.write(fh, buf, pos);
        },
      },
    });
    full = true;
    await expect(s.write([lease(1)])).rejects.toThrow(/ENOSPC/);
    await expect(s.write([lease(2)])).rejects.toThrow(StoreFailedError);
  });

  it('refuses a second opener while the first holds the directory, naming its pid', async () => {
    const dir = await tempDir();
    const s = await openStore(dir);
    await expect(LeaseStore.open(dir, quiet)).rejects.toThrow(StoreLockedError);
    await expect(LeaseStore.open(dir, quiet)).rejects.toThrow(new RegExp(`process ${process.pid}`));
    await s.close();
    await expect(openStore(dir)).resolves.toBeInstanceOf(LeaseStore);
  });

  it('takes over a lock holding our own pid left by an earlier process (restart in a container)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'LOCK'), `${process.pid}\n`);
    await expect(openStore(dir)).resolves.toBeInstanceOf(LeaseStore);
    const dir2 = await tempDir();
    await writeFile(join(dir2, 'LOCK'), `${process.pid} 1\n`);
    await expect(openStore(dir2)).resolves.toBeInstanceOf(LeaseStore);
  });

  it('takes over a lock left by a dead process', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'LOCK'), '999999999\n');
    await expect(openStore(dir)).resolves.toBeInstanceOf(LeaseStore);
  });
});

describe('LeaseStore recovery', () => {
  /** Writes 20 leases one frame each; returns the journal sizes before and after the last one. */
  async function journalWithLastRecord(dir: string): Promise<{ before: number; after: number }> {
    const s = await LeaseStore.open(dir, quiet);
    for (let i = 0; i < 19; i++) await s.write([lease(0x0a000000 + i)]);
    const before = s.stats().journalBytes;
    await s.write([lease(0x0a0000ff, { hostname: 'last' })]);
    const after = s.stats().journalBytes;
    await s.close();
    return { before, after };
  }

  it('a tail torn at any byte of the last record loses only that record', async () => {
    const src = await tempDir();
    const { before, after } = await journalWithLastRecord(src);
    const work = await tempDir();
    for (let cut = before; cut < after; cut++) {
      const d = join(work, String(cut));
      await mkdir(d);
      await copyFile(join(src, 'journal-0'), join(d, 'journal-0'));
      await truncate(join(d, 'journal-0'), cut);
      const notes: string[] = [];
      const r = await LeaseStore.open(d, { log: (m) => notes.push(m) });
      expect(r.size, `cut at ${cut}`).toBe(19);
      expect(r.get(0x0a0000ff)).toBeUndefined();
      expect(r.stats().tornBytesAtOpen).toBe(cut - before);
      if (cut > before) expect(notes.join()).toMatch(/torn, unacknowledged tail/);
      // The cut is permanent, and the store appends cleanly after it.
      await r.write([lease(0x0b000000)]);
      await r.close();
      const again = await LeaseStore.open(d, quiet);
      expect(again.size).toBe(20);
      expect(again.stats().tornBytesAtOpen).toBe(0);
      await again.close();
    }
  });

  it('a corrupted byte anywhere in the last record drops only that record', async () => {
    const src = await tempDir();
    const { before, after } = await journalWithLastRecord(src);
    const orig = await readFile(join(src, 'journal-0'));
    const work = await tempDir();
    for (let at = before; at < after; at++) {
      const d = join(work, String(at));
      await mkdir(d);
      const bad = Buffer.from(orig);
      bad[at] = bad[at]! ^ 0x40;
      await writeFile(join(d, 'journal-0'), bad);
      const r = await LeaseStore.open(d, quiet);
      expect(r.size, `flip at ${at}`).toBe(19);
      await r.close();
    }
  });

  it('damage in the middle is refused by default and skipped, reported and rewritten on request', async () => {
    const dir = await tempDir();
    const s = await LeaseStore.open(dir, quiet);
    for (let i = 0; i < 10; i++) await s.write([lease(0x0a000000 + i)]);
    await s.close();
    const j = await readFile(join(dir, 'journal-0'));
    j[100] = j[100]! ^ 1; // inside the second frame
    await writeFile(join(dir, 'journal-0'), j);
    await expect(LeaseStore.open(dir, quiet)).rejects.toThrow(StoreCorruptError);
    await expect(LeaseStore.open(dir, quiet)).rejects.toThrow(/journal-0: damaged data at byte \d+/);
    const notes: string[] = [];
    const r = await openStore(dir, { onCorruption: 'skip', log: (m) => notes.push(m) });
    expect(r.size).toBe(9);
    expect(r.stats().skippedAtOpen).toHaveLength(1);
    expect(notes.join()).toMatch(/SKIPPED/);
    await r.close();
    const clean = await openStore(dir);
    expect(clean.size).toBe(9);
    expect(clean.stats().skippedAtOpen).toEqual([]);
  });

  it('a journal torn before its header reached the disk (short or zero-filled) is recreated empty', async () => {
    for (const torn of [Buffer.alloc(0), Buffer.from('HDL'), Buffer.alloc(4096)]) {
      const dir = await tempDir();
      await writeFile(join(dir, 'journal-0'), torn);
      const r = await openStore(dir);
      expect(r.stats().tornBytesAtOpen).toBe(torn.length);
      await r.write([lease(1)]);
      await r.close();
      expect((await openStore(dir)).size).toBe(1);
    }
  });

  it('removes what an interrupted compaction left behind', async () => {
    const dir = await tempDir();
    const s = await LeaseStore.open(dir, quiet);
    await s.write([lease(1)]);
    await s.close();
    await writeFile(join(dir, 'snapshot-1.tmp'), 'partial');
    await writeFile(join(dir, 'journal-1'), Buffer.from('HDLS\x01\x01\0\0', 'latin1'));
    const r = await openStore(dir);
    expect(r.size).toBe(1);
    expect(r.stats().generation).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['LOCK', 'journal-0']);
  });
});

describe('LeaseStore compaction', () => {
  it('keeps exactly the live state and drops the old generation', async () => {
    const dir = await tempDir();
    const s = await openStore(dir);
    const expected = new Map<number, Lease>();
    for (let round = 0; round < 5; round++) {
      const batch = Array.from({ length: 200 }, (_, i) => lease(0x0a000000 + i, { cltt: round }));
      await s.write(batch);
      for (const l of batch) expected.set(l.address, l);
    }
    for (let i = 0; i < 50; i++) {
      await s.delete(0x0a000000 + i * 2);
      expected.delete(0x0a000000 + i * 2);
    }
    await s.putMeta('a', '1');
    const before = s.stats().journalBytes;
    await s.compact();
    expect(s.stats()).toMatchObject({ generation: 1, compactions: 1 });
    expect(s.stats().journalBytes).toBeLessThan(before);
    expect((await readdir(dir)).sort()).toEqual(['LOCK', 'journal-1', 'snapshot-1']);
    await s.write([lease(0x0b000000)]);
    expected.set(0x0b000000, lease(0x0b000000));
    await s.close();
    const r = await openStore(dir);
    expect(byAddress(r)).toEqual(expected);
    expect(r.getMeta('a')).toBe('1');
  });

  it('a compaction that fails before its rename leaves the store working on the old generation', async () => {
    const dir = await tempDir();
    let failFsync = false;
    const s = await openStore(dir, {
      io: {
        fsync: async (fh) => {
          if (failFsync) throw new Error('EIO: i/o error, fsync');
          await nodeIo.fsync(fh);
        },
      },
    });
    await s.write([lease(1)]);
    failFsync = true;
    await expect(s.compact()).rejects.toThrow(/EIO/);
    failFsync = false;
    expect(s.stats()).toMatchObject({ generation: 0, compactions: 0 });
    expect(s.stats().failed).toBeUndefined();
    await s.write([lease(2)]);
    expect((await readdir(dir)).sort()).toEqual(['LOCK', 'journal-0']);
    await s.close();
    const r = await openStore(dir);
    expect(r.size).toBe(2);
  });

  it('compacts by itself when the journal outgrows the live state, while writes continue', async () => {
    const dir = await tempDir();
    const s = await openStore(dir, { compactMinBytes: 16 * 1024, compactRatio: 2 });
    for (let round = 0; round < 10; round++) {
      const writes: Promise<void>[] = [];
      for (let i = round * 300; i < (round + 1) * 300; i++) {
        writes.push(s.write([lease(0x0a000000 + (i % 50), { cltt: i })]));
      }
      await Promise.all(writes);
    }
    expect(s.stats().compactions).toBeGreaterThan(0);
    await s.close();
    const r = await openStore(dir);
    expect(r.size).toBe(50);
    for (let k = 0; k < 50; k++) expect(r.get(0x0a000000 + k)!.cltt).toBe(2950 + k);
  });
});

describe('LeaseStore under kill -9', () => {
  it('every address the child printed as acknowledged is present after SIGKILL', async () => {
    const dir = await tempDir();
    const child = await bundleChild(dir);
    const proc = spawn(process.execPath, [child, join(dir, 'store')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.setEncoding('utf8');
    const enough = new Promise<void>((resolve) =>
      proc.stdout.on('data', (d: string) => {
        out += d;
        if (out.split('\n').length > 3000) resolve();
      }),
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      proc.on('exit', (_c, sig) => resolve(sig)),
    );
    await Promise.race([enough, new Promise((r) => setTimeout(r, 4000))]);
    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const lines = out.split('\n');
    lines.pop(); // an unterminated last line was not fully printed
    const acked = lines.filter((l) => l !== 'ready').map(Number);
    expect(acked.length).toBeGreaterThan(100);
    const r = await openStore(join(dir, 'store'));
    const missing = acked.filter((a) => r.get(a) === undefined);
    expect(missing).toEqual([]);
    expect(r.get(acked[acked.length - 1]!)!.hostname).toBe(`h${acked[acked.length - 1]}`);
  }, 20_000);
});

/** Node 20 cannot run TypeScript: bundle the child with the esbuild that vite brings. */
async function bundleChild(dir: string): Promise<string> {
  const req = createRequire(createRequire(createRequire(import.meta.url).resolve('vitest')).resolve('vite'));
  const esbuild = req('esbuild') as { build(options: Record<string, unknown>): Promise<unknown> };
  const outfile = join(dir, 'child.mjs');
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('../test-fixtures/kill9-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}
