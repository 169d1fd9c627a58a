import {
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  stat,
  truncate,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { Ip4 } from '@hadhcp/common';
import {
  FILE_HEADER_LEN,
  FRAME_HEADER_LEN,
  FileKind,
  MAX_FRAME_PAYLOAD,
  RecordType,
  encodeFrame,
  encodeLeaseBody,
  encodeRecord,
  fileHeader,
  sealFrame,
  type RecordVisitor,
  type StoreRecord,
} from './codec.js';
import {
  journalName,
  nodeIo,
  parseStoreName,
  probeSpace,
  snapshotName,
  SPACE_PROBE,
  writeAll,
  type StoreIo,
} from './files.js';
import type { Lease } from './lease.js';
import { lockDir } from './lock.js';
import { LeaseRecords } from './records.js';
import { READ_CHUNK, readStoreFileFrom, StoreCorruptError, type CorruptionPolicy } from './reader.js';

export interface LeaseStoreOptions {
  /** Compact when the journal exceeds this many times the live state's size. Default 4. */
  compactRatio?: number;
  /** ...but never for a journal smaller than this many bytes. Default 4 MiB. */
  compactMinBytes?: number;
  /** Damage in the middle of a file: refuse to open ('fail', default) or load around it ('skip'). */
  onCorruption?: CorruptionPolicy;
  /** Replace the durability-critical file operations (tests count and fail syncs through this). */
  io?: Partial<StoreIo>;
  /** Where recovery and compaction notes go. Default: console.warn. */
  log?: (message: string) => void;
  /**
   * Least time between the starts of two journal syncs, in ms (group-commit window). Writes that arrive
   * within it share the next sync. Default 1: on a disk that flushes in ~70 µs, a sync per write would cost more
   * CPU than the writes themselves; on a disk slower than that, the sync itself is the window and this adds
   * nothing. 0 = sync as soon as the previous one ends.
   */
  syncIntervalMs?: number;
  /**
   * Longest a lazy write (`{ lazy: true }`: nobody waits for it soon) waits for its sync, in ms. Lazy writes
   * queued together share one sync when the oldest of them is this old, or sooner when an eager write is
   * queued or LAZY_BATCH_BYTES are waiting. Default 20.
   */
  lazySyncMs?: number;
  /**
   * After a failure, the store retries by itself: first after this many ms, then doubling up to retryMaxMs.
   * Default 1000.
   */
  retryFirstMs?: number;
  /** Longest wait between two recovery attempts, in ms. Default 30000. */
  retryMaxMs?: number;
  /**
   * Bytes a recovery attempt must be able to write and sync in a scratch file before it reopens the store
   * (default 64 KiB; 0: no such check). Without it, a disk still full would seem writable: the journal's last
   * page usually has room for a few records, and the store would accept writes, fail again and flap.
   */
  spaceProbeBytes?: number;
  /** Runs fn after ms and returns its cancel function (the recovery retries; tests pass a manual one). */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

export interface LeaseStoreStats {
  leases: number;
  metaKeys: number;
  generation: number;
  journalBytes: number;
  /** Estimated bytes of the live state as records (what a snapshot would hold). */
  liveBytes: number;
  /** write()/delete()/putMeta() calls made durable. */
  commits: number;
  /** Journal appends, each one write + fdatasync: commits / syncs is the group-commit factor. */
  syncs: number;
  compactions: number;
  openMs: number;
  /** Bytes of a torn journal tail cut off at open. */
  tornBytesAtOpen: number;
  /** Damaged regions skipped at open (only with onCorruption: 'skip'). */
  skippedAtOpen: { file: string; offset: number; length: number }[];
  /** Times the store recovered by itself from a failure. */
  recoveries: number;
  /** Set while the store is failed (a write or sync failed): it accepts no write until it has recovered. */
  failed?: string;
  /** While failed: recovery attempts made so far, the last one's error and when the next one starts. */
  recovery?: { attempts: number; lastError?: string; nextAttemptInMs: number };
}

export class StoreFailedError extends Error {
  constructor(dir: string, cause: unknown) {
    super(
      `lease store ${dir} failed (${cause instanceof Error ? cause.message : String(cause)}): whether the last ` +
        `writes reached the disk is unknown, so no write is accepted until the store is reopened ` +
        `(it retries by itself)`,
      { cause },
    );
    this.name = 'StoreFailedError';
  }
}

interface Pending {
  frame: Buffer;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** How a write wants its sync: `lazy`, it may wait up to lazySyncMs (see LeaseStoreOptions). */
export interface WriteOptions {
  lazy?: boolean;
}

/** Queued lazy bytes that are synced without waiting longer (bounds the memory a lazy stream holds). */
const LAZY_BATCH_BYTES = 1 << 20;

interface Loaded {
  leases: LeaseRecords;
  meta: Map<string, string>;
  metaBytes: number;
}

const SNAPSHOT_CHUNK = 4096;

type Settings = Required<
  Pick<
    LeaseStoreOptions,
    | 'compactRatio'
    | 'compactMinBytes'
    | 'log'
    | 'syncIntervalMs'
    | 'lazySyncMs'
    | 'onCorruption'
    | 'retryFirstMs'
    | 'retryMaxMs'
    | 'spaceProbeBytes'
    | 'setTimer'
  >
>;

function unrefTimer(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, ms);
  // A store waiting to retry must not keep alive a process that has nothing else to do.
  t.unref();
  return () => clearTimeout(t);
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function applyRecord(s: Loaded, r: StoreRecord): void {
  if (r.type === RecordType.LEASE) {
    const body = Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
    // Latin-1 strings are V8's most compact way to hold a million small byte strings (see README).
    s.leases.setRaw(body.readInt32BE(0), body.toString('latin1'));
  } else if (r.type === RecordType.DELETE) {
    s.leases.delete(r.address);
  } else {
    const old = s.meta.get(r.key);
    if (old !== undefined) s.metaBytes -= old.length + r.key.length + 8;
    s.meta.set(r.key, r.value);
    s.metaBytes += r.value.length + r.key.length + 8;
  }
}

/**
 * The embedded lease store: an append-only journal of checksummed frames plus periodic snapshots.
 * A write resolves only after its bytes are fdatasync'd; writes requested while a sync is in flight are
 * batched into the next append (group commit). See README.md for the format and recovery policy.
 */
export class LeaseStore {
  private queue: Pending[] = [];
  private loop: Promise<void> | undefined;
  private compactWaiters: Pending[] = [];
  private failure: StoreFailedError | undefined;
  private closed = false;
  private nextAutoCompactAt = 0;
  private lastSyncAt = -Infinity;
  /** What the queue holds: any eager write, when its first lazy write came (0: none), its bytes. */
  private queued = { eager: false, lazySince: 0, bytes: 0 };
  /** Ends untilDue()'s wait early (set while it waits). */
  private wake: (() => void) | undefined;
  private readonly counters = { commits: 0, syncs: 0, compactions: 0, recoveries: 0 };
  private readonly healthListeners: Array<(failure: StoreFailedError | undefined) => void> = [];
  /** Recovery from a failure: backoff, attempts, the pending timer (see fail()). */
  private readonly retry = {
    delayMs: 0,
    attempts: 0,
    failedAt: 0,
    nextAt: 0,
    lastError: undefined as string | undefined,
    cancel: undefined as (() => void) | undefined,
  };
  private recovering: Promise<void> | undefined;
  private recoveredAt = -Infinity;
  /** Damage was skipped ('skip' policy) when the files were reloaded: compact once writable again. */
  private compactAfterRecovery = false;

  private constructor(
    readonly dir: string,
    private readonly io: StoreIo,
    private readonly opts: Settings,
    private readonly state: Loaded,
    private journal: FileHandle,
    private journalBytes: number,
    private generation: number,
    private readonly unlock: () => Promise<void>,
    private readonly openInfo: Pick<LeaseStoreStats, 'openMs' | 'tornBytesAtOpen' | 'skippedAtOpen'>,
  ) {}

  static async open(dir: string, options: LeaseStoreOptions = {}): Promise<LeaseStore> {
    const t0 = performance.now();
    const io: StoreIo = { ...nodeIo, ...options.io };
    const log = options.log ?? ((m: string) => console.warn(m));
    const policy = options.onCorruption ?? 'fail';
    await mkdir(dir, { recursive: true });
    const unlock = await lockDir(dir);
    try {
      const r = await recover(dir, io, policy, log);
      const store = new LeaseStore(
        dir,
        io,
        {
          compactRatio: options.compactRatio ?? 4,
          compactMinBytes: options.compactMinBytes ?? 4 * 1024 * 1024,
          syncIntervalMs: options.syncIntervalMs ?? 1,
          lazySyncMs: options.lazySyncMs ?? 20,
          log,
          onCorruption: policy,
          retryFirstMs: options.retryFirstMs ?? 1000,
          retryMaxMs: options.retryMaxMs ?? 30_000,
          spaceProbeBytes: options.spaceProbeBytes ?? 64 * 1024,
          setTimer: options.setTimer ?? unrefTimer,
        },
        r.state,
        r.journal,
        r.journalBytes,
        r.generation,
        unlock,
        { openMs: 0, tornBytesAtOpen: r.tornBytes, skippedAtOpen: r.skipped },
      );
      // Damage skipped on request is rewritten away at once, so the next open is clean.
      if (r.skipped.length > 0) await store.compact();
      store.openInfo.openMs = performance.now() - t0;
      return store;
    } catch (e) {
      await unlock();
      throw e;
    }
  }

  /** The live state (at open: the last write per address wins). Decoded lazily, one lease at a time. */
  leases(): IterableIterator<Lease> {
    return this.state.leases.values();
  }

  get(address: Ip4): Lease | undefined {
    return this.state.leases.get(address);
  }

  /**
   * The live records themselves (not a copy), for the DHCP core's lease table to use as its own: the process keeps
   * one copy of every lease. A writer that puts a lease into them directly must write the same lease to the store
   * in the same turn of the event loop (a compaction may snapshot the records at any time after that turn).
   */
  get records(): LeaseRecords {
    return this.state.leases;
  }

  get size(): number {
    return this.state.leases.size;
  }

  getMeta(key: string): string | undefined {
    return this.state.meta.get(key);
  }

  /**
   * Stores the leases atomically (all or none survive a crash); resolves once they are durable. `lazy`: no one
   * waits for that soon, the sync may wait up to lazySyncMs to be shared with more writes.
   */
  write(leases: readonly Lease[], opts?: WriteOptions): Promise<void> {
    let records: StoreRecord[];
    try {
      records = leases.map((l) => ({ type: RecordType.LEASE, body: encodeLeaseBody(l) }));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.commit(records, opts);
  }

  /**
   * Makes durable the live records of these leases' addresses as they are now: for a writer that put them into
   * `records` in this turn (the DHCP core's lease table does), so each goes to the journal from the bytes already
   * held in memory instead of being encoded a second time. An address without a record is written as deleted:
   * what reaches the disk is always what memory holds. Atomic and resolved as write().
   */
  writeRecorded(leases: readonly { address: Ip4 }[], opts?: WriteOptions): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const live = this.state.leases;
    const raws: Array<string | undefined> = new Array(leases.length);
    let len = 0;
    for (let i = 0; i < leases.length; i++) {
      const raw = live.raw(leases[i]!.address);
      raws[i] = raw;
      len += raw === undefined ? 5 : 3 + raw.length;
    }
    if (len > MAX_FRAME_PAYLOAD)
      return Promise.reject(
        new RangeError(`one write of ${len} bytes exceeds ${MAX_FRAME_PAYLOAD}: split it`),
      );
    const frame = Buffer.allocUnsafe(FRAME_HEADER_LEN + len);
    let off = FRAME_HEADER_LEN;
    for (let i = 0; i < leases.length; i++) {
      const raw = raws[i];
      if (raw === undefined) {
        frame[off] = RecordType.DELETE;
        frame.writeUInt32BE(leases[i]!.address >>> 0, off + 1);
        off += 5;
      } else {
        frame[off] = RecordType.LEASE;
        frame.writeUInt16BE(raw.length, off + 1);
        frame.write(raw, off + 3, 'latin1');
        off += 3 + raw.length;
      }
    }
    sealFrame(frame);
    // Memory holds these records already (that is where they were read from).
    return this.enqueue(frame, opts);
  }

  delete(address: Ip4): Promise<void> {
    return this.commit([{ type: RecordType.DELETE, address }]);
  }

  /** Small named values that must survive with the leases (e.g. the failover state). */
  putMeta(key: string, value: string): Promise<void> {
    return this.commit([{ type: RecordType.META, key, value }]);
  }

  /** Rewrites the live state as a snapshot and starts a new journal; resolves when that is durable. */
  compact(): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      this.compactWaiters.push({ frame: Buffer.alloc(0), resolve, reject });
      this.kick();
    });
  }

  stats(): LeaseStoreStats {
    const r = this.retry;
    return {
      leases: this.state.leases.size,
      metaKeys: this.state.meta.size,
      generation: this.generation,
      journalBytes: this.journalBytes,
      liveBytes: this.liveBytes(),
      ...this.counters,
      ...this.openInfo,
      ...(this.failure
        ? {
            failed: this.failure.message,
            recovery: {
              attempts: r.attempts,
              ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
              nextAttemptInMs: Math.max(0, Math.round(r.nextAt - performance.now())),
            },
          }
        : {}),
    };
  }

  /**
   * Told when the store fails (with the error; from then on every write is refused) and when it accepts writes
   * again, having recovered by itself (undefined). Called synchronously: before the first write is refused, and
   * before the first write is accepted again.
   */
  onHealth(listener: (failure: StoreFailedError | undefined) => void): void {
    this.healthListeners.push(listener);
  }

  /** Waits for queued writes, then releases the files and the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retry.cancel?.();
    this.wake?.(); // lazy writes queued: synced now
    while (this.loop) await this.loop;
    while (this.recovering) await this.recovering;
    await this.journal.close().catch(() => undefined);
    await this.unlock();
  }

  private refusal(): Error | undefined {
    if (this.failure) return this.failure;
    if (this.closed) return new Error(`lease store ${this.dir} is closed`);
    return undefined;
  }

  private commit(records: StoreRecord[], opts?: WriteOptions): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    let frame: Buffer;
    try {
      frame = encodeFrame(records.map(encodeRecord));
    } catch (e) {
      return Promise.reject(e);
    }
    // Memory follows journal order. If the append fails, the store fails and reloads what is on disk, which
    // these records then are not (see reload()).
    for (const r of records) applyRecord(this.state, r);
    return this.enqueue(frame, opts);
  }

  private enqueue(frame: Buffer, opts: WriteOptions | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const q = this.queued;
      const wasDue = q.eager || q.bytes >= LAZY_BATCH_BYTES;
      if (opts?.lazy) {
        if (q.lazySince === 0) q.lazySince = performance.now();
      } else q.eager = true;
      q.bytes += frame.length;
      this.queue.push({ frame, resolve, reject });
      // Only the write that ends a lazy wait wakes the flusher (a wait for syncIntervalMs is not restarted).
      if (!wasDue && (q.eager || q.bytes >= LAZY_BATCH_BYTES)) this.wake?.();
      this.kick();
    });
  }

  /** Everything queued, taken off the queue (its bookkeeping starts over). */
  private takeQueue(): Pending[] {
    this.queued = { eager: false, lazySince: 0, bytes: 0 };
    return this.queue.splice(0);
  }

  /**
   * Waits until the queued writes are due for their sync: syncIntervalMs after the last sync began; when every
   * queued write is lazy, also until the oldest has waited lazySyncMs (cut short by an eager write, by
   * LAZY_BATCH_BYTES queued, or by close()).
   */
  private async untilDue(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const q = this.queued;
      let due = this.lastSyncAt + this.opts.syncIntervalMs;
      if (!q.eager && q.bytes < LAZY_BATCH_BYTES) due = Math.max(due, q.lazySince + this.opts.lazySyncMs);
      const wait = due - performance.now();
      if (!(wait > 0)) return; // NaN too (a bad option): sync at once rather than never
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => this.wake?.(), wait);
        this.wake = () => {
          clearTimeout(t);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  private kick(): void {
    if (this.loop) return;
    // Start on the next microtask, not inside this call: every write made in the same turn of the event loop (a
    // burst of DHCP ACKs) joins one append and one sync, instead of the first going alone.
    this.loop = Promise.resolve()
      .then(() => this.run())
      .finally(() => {
        this.loop = undefined;
        // Work queued by the last settled promises' callbacks after the loop saw an empty queue.
        if (this.queue.length > 0 || this.compactWaiters.length > 0) this.kick();
      });
  }

  /** One flusher at a time: each turn appends everything queued so far with one write and one sync. */
  private async run(): Promise<void> {
    while (this.queue.length > 0 || this.compactWaiters.length > 0) {
      if (this.failure) {
        for (const p of this.takeQueue()) p.reject(this.failure);
        for (const p of this.compactWaiters.splice(0)) p.reject(this.failure);
        return;
      }
      if (this.queue.length > 0) {
        await this.untilDue();
        this.lastSyncAt = performance.now();
        await this.append(this.takeQueue());
      }
      if (this.failure) continue;
      const due = this.journalBytes > this.compactThreshold() && this.journalBytes >= this.nextAutoCompactAt;
      if (this.compactWaiters.length > 0 || due) await this.runCompaction();
    }
  }

  private compactThreshold(): number {
    return Math.max(this.opts.compactMinBytes, this.opts.compactRatio * this.liveBytes());
  }

  private liveBytes(): number {
    return this.state.leases.liveBytes + this.state.metaBytes;
  }

  private async append(batch: Pending[]): Promise<void> {
    const buf = batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((p) => p.frame));
    try {
      await this.io.write(this.journal, buf, this.journalBytes);
      await this.io.datasync(this.journal);
    } catch (e) {
      this.fail(e);
      for (const p of batch) p.reject(this.failure!);
      return;
    }
    this.journalBytes += buf.length;
    this.counters.syncs++;
    this.counters.commits += batch.length;
    for (const p of batch) p.resolve();
  }

  /**
   * The store refuses every write from now on, and starts recovering by itself. At once it reloads what is on disk
   * (the records then show only what is durable, not the refused writes already applied to them); then it tries
   * to become writable again after retryFirstMs, doubling up to retryMaxMs. A store that fails again within
   * retryMaxMs of recovering keeps its backoff instead of starting over: a disk that fills up again at once costs
   * one failure (and one VIP move) per retryMaxMs, not a flapping service.
   */
  private fail(cause: unknown): void {
    if (this.failure) return;
    this.failure = new StoreFailedError(this.dir, cause);
    this.opts.log(`lease store: ${this.failure.message}`);
    const r = this.retry;
    r.failedAt = performance.now();
    if (r.failedAt - this.recoveredAt >= this.opts.retryMaxMs) r.delayMs = this.opts.retryFirstMs;
    r.attempts = 0;
    r.lastError = undefined;
    this.tell(this.failure);
    if (!this.closed) this.schedule(0, 'reload');
  }

  private tell(failure: StoreFailedError | undefined): void {
    for (const l of this.healthListeners) {
      try {
        l(failure);
      } catch (e) {
        this.opts.log(`lease store: a health listener threw: ${errorText(e)}`);
      }
    }
  }

  private schedule(ms: number, step: 'reload' | 'recover'): void {
    this.retry.nextAt = performance.now() + ms;
    this.retry.cancel = this.opts.setTimer(() => {
      this.retry.cancel = undefined;
      this.recovering = this.attempt(step).finally(() => (this.recovering = undefined));
    }, ms);
  }

  /**
   * One step of the recovery. 'reload' (at once after the failure): reopen the files and make memory what they
   * hold. 'recover' (each retry): check there is room (spaceProbeBytes in a scratch file, written and synced),
   * reopen the files as open() does (replay, torn tail cut), make memory what they hold, append an empty frame
   * and sync it; then writes are accepted again. Reopening, not retrying the sync on the same file: after a failed
   * fsync Linux may already have dropped the dirty pages, and a retried sync would "succeed" without the data. The
   * directory lock is kept throughout: no other process can take the store meanwhile.
   */
  private async attempt(step: 'reload' | 'recover'): Promise<void> {
    while (this.loop) await this.loop;
    if (this.closed || !this.failure) return;
    const r = this.retry;
    try {
      if (step === 'recover') {
        r.attempts++;
        await probeSpace(this.dir, this.io, this.opts.spaceProbeBytes);
      }
      await this.reload();
      if (step === 'recover') {
        await this.appendEmptyFrame();
        return this.recovered();
      }
    } catch (e) {
      r.lastError = errorText(e);
      const next = `next attempt in ${r.delayMs / 1000} s`;
      // One line per attempt: the backoff is the rate limit (at most one per retryMaxMs once it has grown).
      this.opts.log(
        step === 'reload'
          ? `lease store: could not reload ${this.dir} after the failure (${r.lastError}); ${next}`
          : `lease store: recovery attempt ${r.attempts} failed (${r.lastError}); ${next}`,
      );
    }
    if (this.closed) return;
    const delay = r.delayMs;
    r.delayMs = Math.min(delay * 2, this.opts.retryMaxMs);
    this.schedule(delay, 'recover');
  }

  /**
   * Reopens the files as open() does and makes the live state what they hold, through the records' observer.
   * First the journal is cut back to the end of its last acknowledged append: what lies beyond was refused, and
   * after a failed fdatasync it may be there whole (the page cache still holds it), so replay alone would bring
   * it back. (Not made durable by itself: the sync of the next append is.)
   */
  private async reload(): Promise<void> {
    await this.journal.close().catch(() => undefined);
    const jpath = join(this.dir, journalName(this.generation));
    const size = await stat(jpath).then(
      (st) => st.size,
      () => 0,
    );
    if (size > this.journalBytes) {
      await truncate(jpath, this.journalBytes);
      this.opts.log(`lease store: cut ${size - this.journalBytes} bytes of refused writes from ${jpath}`);
    }
    const r = await recover(this.dir, this.io, this.opts.onCorruption, this.opts.log);
    this.journal = r.journal;
    this.journalBytes = r.journalBytes;
    this.generation = r.generation;
    this.state.leases.replaceWith(r.state.leases);
    this.state.meta = r.state.meta;
    this.state.metaBytes = r.state.metaBytes;
    this.nextAutoCompactAt = 0;
    if (r.skipped.length > 0) this.compactAfterRecovery = true;
  }

  /** An empty frame (intact, holding no record: replay skips it), synced: the journal takes writes again. */
  private async appendEmptyFrame(): Promise<void> {
    const frame = encodeFrame([]);
    await this.io.write(this.journal, frame, this.journalBytes);
    await this.io.datasync(this.journal);
    this.journalBytes += frame.length;
  }

  private recovered(): void {
    const r = this.retry;
    this.failure = undefined;
    this.recoveredAt = performance.now();
    this.counters.recoveries++;
    this.opts.log(
      `lease store: ${this.dir} writable again after ${((this.recoveredAt - r.failedAt) / 1000).toFixed(1)} s ` +
        `(attempt ${r.attempts}); ${this.state.leases.size} leases, as stored on disk`,
    );
    this.tell(undefined);
    if (this.compactAfterRecovery) {
      this.compactAfterRecovery = false;
      this.compact().catch(() => undefined); // a failure is logged by the compaction itself
    }
  }

  private async runCompaction(): Promise<void> {
    const waiters = this.compactWaiters.splice(0);
    try {
      await this.switchGeneration();
      this.counters.compactions++;
      this.nextAutoCompactAt = 0;
      for (const w of waiters) w.resolve();
    } catch (e) {
      // Failing before the rename leaves the old journal current and intact: keep going, retry later.
      this.nextAutoCompactAt = this.journalBytes + this.opts.compactMinBytes;
      if (!this.failure) this.opts.log(`lease store: compaction failed, journal kept: ${String(e)}`);
      for (const w of waiters) w.reject(this.failure ?? (e as Error));
    }
  }

  /**
   * Snapshot + new journal. Order matters: (1) snapshot-N+1.tmp written and fsync'd; (2) journal-N+1 created
   * empty and fsync'd; (3) rename snapshot into place, fsync the directory: from here generation N+1 is the
   * truth, so a failure is fatal; (4) drop generation N. An open that finds an empty journal without its
   * snapshot knows (3) never happened and removes it.
   */
  private async switchGeneration(): Promise<void> {
    const gen = this.generation + 1;
    const tmp = join(this.dir, `${snapshotName(gen)}.tmp`);
    const newJournalPath = join(this.dir, journalName(gen));
    let newJournal: FileHandle | undefined;
    try {
      await this.writeSnapshot(tmp);
      newJournal = await open(newJournalPath, 'w+');
      await this.io.write(newJournal, fileHeader(FileKind.JOURNAL), 0);
      await this.io.fsync(newJournal);
    } catch (e) {
      await newJournal?.close().catch(() => undefined);
      await unlink(newJournalPath).catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    try {
      await rename(tmp, join(this.dir, snapshotName(gen)));
      await this.io.syncDir(this.dir);
    } catch (e) {
      this.fail(e);
      await newJournal.close().catch(() => undefined);
      throw this.failure;
    }
    const old = this.journal;
    this.journal = newJournal;
    this.journalBytes = FILE_HEADER_LEN;
    this.generation = gen;
    await old.close().catch(() => undefined);
    await removeOlderGenerations(this.dir, gen, this.opts.log);
  }

  private async writeSnapshot(path: string): Promise<void> {
    const fh = await open(path, 'w');
    try {
      let pos = 0;
      // Asynchronous writes: each chunk yields to the event loop, so DHCP and VRRP keep running meanwhile.
      const put = async (b: Buffer): Promise<void> => {
        await writeAll(fh, b, pos);
        pos += b.length;
      };
      await put(fileHeader(FileKind.SNAPSHOT));
      const meta = [...this.state.meta].map(([key, value]) =>
        encodeRecord({ type: RecordType.META, key, value }),
      );
      if (meta.length > 0) await put(encodeFrame(meta));
      let chunk: Buffer[] = [];
      // Writes arriving meanwhile change the Map under the iterator; whatever mix of old and new values
      // the snapshot gets, the new journal replays those writes on top, in order.
      for (const s of this.state.leases.rawValues()) {
        const body = Buffer.from(s, 'latin1');
        chunk.push(encodeRecord({ type: RecordType.LEASE, body }));
        if (chunk.length >= SNAPSHOT_CHUNK) {
          await put(encodeFrame(chunk));
          chunk = [];
        }
      }
      if (chunk.length > 0) await put(encodeFrame(chunk));
      await this.io.fsync(fh);
    } finally {
      await fh.close();
    }
  }
}

interface Recovered {
  state: Loaded;
  journal: FileHandle;
  journalBytes: number;
  generation: number;
  tornBytes: number;
  skipped: LeaseStoreStats['skippedAtOpen'];
}

async function recover(
  dir: string,
  io: StoreIo,
  policy: CorruptionPolicy,
  log: (m: string) => void,
): Promise<Recovered> {
  const names = (await readdir(dir)).map((n) => ({ name: n, parsed: parseStoreName(n) }));
  let gen = 0;
  for (const { parsed } of names) if (parsed?.kind === 'snapshot') gen = Math.max(gen, parsed.gen);
  for (const { name, parsed } of names) {
    if (parsed?.kind === 'tmp' || name === SPACE_PROBE) await unlink(join(dir, name));
    // A journal newer than every snapshot is left by a compaction interrupted before its rename; it must be
    // empty (nothing is appended to it before the rename is durable).
    if (parsed?.kind === 'journal' && parsed.gen > gen) {
      const b = await readFile(join(dir, name));
      if (b.length > FILE_HEADER_LEN + FRAME_HEADER_LEN - 1) {
        throw new StoreCorruptError(
          join(dir, name),
          0,
          b.length,
          `journal has data but ${snapshotName(parsed.gen)} is missing`,
        );
      }
      await unlink(join(dir, name));
    }
  }
  const jpath = join(dir, journalName(gen));
  const found = await open(jpath, 'r+').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  const jsize = found ? (await found.stat()).size : 0;
  // Shorter than a header, or only zeros (a crash after the size reached the disk but not the bytes, between
  // creating the journal and its first fsync): nothing in it was ever acknowledged.
  const fresh = !found || jsize < FILE_HEADER_LEN || (await onlyZeros(found, jsize));
  let journal: FileHandle;
  if (!fresh) journal = found;
  else {
    await found?.close();
    journal = await open(jpath, 'w+');
    await io.write(journal, fileHeader(FileKind.JOURNAL), 0);
    await io.fsync(journal);
    await io.syncDir(dir);
  }
  try {
    const r = await replay(dir, gen, jpath, journal, fresh ? undefined : jsize, policy);
    if (r.validEnd < jsize && !fresh) {
      await journal.truncate(r.validEnd);
      await io.fsync(journal);
    }
    const tornBytes = fresh ? jsize : r.tornBytes;
    if (tornBytes > 0) {
      log(
        `lease store: cut ${tornBytes} bytes of torn, unacknowledged tail from ${jpath} at byte ${r.validEnd}`,
      );
    }
    for (const s of r.skipped) log(`lease store: SKIPPED ${s.length} damaged bytes at ${s.file}:${s.offset}`);
    await removeOlderGenerations(dir, gen, log);
    return {
      state: r.state,
      journal,
      journalBytes: r.validEnd,
      generation: gen,
      tornBytes,
      skipped: r.skipped,
    };
  } catch (e) {
    await journal.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Loads the snapshot and the journal (jsize undefined: a journal just recreated empty) into the live state.
 *
 * Two passes over the journal, so that records a later one replaces (most of a journal that has grown to
 * compactRatio times the live state) never become strings: a million renewals would otherwise leave hundreds of
 * MB of garbage in a process that then sits idle, with nothing to make V8 collect it. Pass 1 puts in each
 * journal address's slot the ordinal of its last lease or delete record; the snapshot then fills only the
 * addresses the journal does not touch, and pass 2 replaces each ordinal with that last record (or removes the
 * address). The placeholders live in the map whose records then become the live state (copied into its shards):
 * no garbage strings.
 */
async function replay(
  dir: string,
  gen: number,
  jpath: string,
  journal: FileHandle,
  jsize: number | undefined,
  policy: CorruptionPolicy,
): Promise<{ state: Loaded; validEnd: number; tornBytes: number; skipped: Recovered['skipped'] }> {
  const live = new Map<number, string | number>();
  const state: Loaded = { leases: new LeaseRecords(), meta: new Map(), metaBytes: 0 };
  const skipped: Recovered['skipped'] = [];
  const meta = (key: string, value: string): void =>
    applyRecord(state, { type: RecordType.META, key, value });
  let n = 0;
  const pass1: RecordVisitor = {
    lease: (p, start) => void live.set(p.readInt32BE(start), n++),
    delete: (address) => void live.set(address | 0, n++),
    meta: () => undefined,
  };
  // A snapshot fills the addresses the journal does not rewrite (an ordinal in the slot says it does).
  const snapshot: RecordVisitor = {
    lease: (p, start, end) => {
      const key = p.readInt32BE(start);
      if (typeof live.get(key) !== 'number') live.set(key, p.toString('latin1', start, end));
    },
    delete: (address) => {
      if (typeof live.get(address | 0) !== 'number') live.delete(address | 0);
    },
    meta,
  };
  const pass2: RecordVisitor = {
    lease: (p, start, end) => {
      const key = p.readInt32BE(start);
      if (live.get(key) === n++) live.set(key, p.toString('latin1', start, end));
    },
    delete: (address) => {
      if (live.get(address | 0) === n++) live.delete(address | 0);
    },
    meta,
  };
  if (jsize !== undefined) await readStoreFileFrom(journal, jsize, jpath, FileKind.JOURNAL, policy, pass1);
  if (gen > 0) {
    const file = join(dir, snapshotName(gen));
    const fh = await open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      const res = await readStoreFileFrom(fh, size, file, FileKind.SNAPSHOT, policy, snapshot);
      for (const s of res.skipped) skipped.push({ file, ...s });
    } finally {
      await fh.close();
    }
  }
  let validEnd = FILE_HEADER_LEN;
  let tornBytes = 0;
  if (jsize !== undefined) {
    n = 0;
    const res = await readStoreFileFrom(journal, jsize, jpath, FileKind.JOURNAL, policy, pass2);
    for (const s of res.skipped) skipped.push({ file: jpath, ...s });
    validEnd = res.validEnd;
    tornBytes = res.tornBytes;
  }
  for (const [key, rec] of live) {
    // Both journal passes see the same frames, so every ordinal has been replaced; a number here is a bug.
    if (typeof rec !== 'string') throw new Error(`lease store replay: no record for key ${key}`);
  }
  state.leases = new LeaseRecords(live as Map<number, string>);
  return { state, validEnd, tornBytes, skipped };
}

/** Whether a file is all zero bytes (read in chunks). */
async function onlyZeros(fh: FileHandle, size: number): Promise<boolean> {
  const buf = Buffer.alloc(Math.min(size, READ_CHUNK));
  for (let pos = 0; pos < size;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) return false;
    for (let i = 0; i < bytesRead; i++) if (buf[i] !== 0) return false;
    pos += bytesRead;
  }
  return true;
}

async function removeOlderGenerations(dir: string, gen: number, log: (m: string) => void): Promise<void> {
  for (const name of await readdir(dir)) {
    const p = parseStoreName(name);
    if (p && p.kind !== 'tmp' && p.gen < gen) {
      await unlink(join(dir, name)).catch((e) => log(`lease store: could not remove ${name}: ${String(e)}`));
    }
  }
}
