import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { PersistedFailoverState } from '../core/machine-types.js';
import { iscStateName } from '../core/serve.js';

/*
 * The failover state block of one relationship in its own small file (ISC keeps it in dhcpd.leases as
 * `failover peer "NAME" state { my state ... }`). ISC's rule: the state is on disk before the STATE that announces
 * it leaves (dhcp_failover_set_state writes and commits the lease file first). So write() resolves only once
 * the new content is durable: written to a temporary file, fsync'd, renamed over the old one, and the directory
 * fsync'd so the rename itself survives a crash. A crash at any point leaves the old record or the new one.
 */

/** Where the service keeps its state block. write() must be durable when it resolves. */
export interface StateStore {
  /** The last record written, or undefined when there is none (a new server: ISC starts it in recover). */
  load(): Promise<PersistedFailoverState | undefined>;
  write(record: PersistedFailoverState): Promise<void>;
}

interface FileFormat {
  relationship: string;
  /** The states as ISC names them, for people; the numbers are what is read back. */
  my: { state: string; value: number; since: string; sinceMs: number };
  partner: { state: string; value: number; since: string; sinceMs: number };
  mclt: number;
}

export class FileStateStore implements StateStore {
  constructor(
    readonly path: string,
    private readonly relationship: string,
  ) {}

  async load(): Promise<PersistedFailoverState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const f = JSON.parse(text) as Partial<FileFormat>;
    const num = (v: unknown): number | undefined =>
      typeof v === 'number' && Number.isFinite(v) ? v : undefined;
    const my = num(f.my?.value);
    const mySince = num(f.my?.sinceMs);
    const partner = num(f.partner?.value);
    const partnerSince = num(f.partner?.sinceMs);
    const mclt = num(f.mclt);
    if (f.relationship !== this.relationship)
      throw new Error(`${this.path}: state of relationship "${f.relationship}", not "${this.relationship}"`);
    if (my === undefined || mySince === undefined || partner === undefined || partnerSince === undefined)
      throw new Error(`${this.path}: not a failover state record`);
    return { my, mySince, partner, partnerSince, mclt: mclt ?? 0 };
  }

  async write(r: PersistedFailoverState): Promise<void> {
    const body: FileFormat = {
      relationship: this.relationship,
      my: { state: iscStateName(r.my), value: r.my, since: iso(r.mySince), sinceMs: r.mySince },
      partner: {
        state: iscStateName(r.partner),
        value: r.partner,
        since: iso(r.partnerSince),
        sinceMs: r.partnerSince,
      },
      mclt: r.mclt,
    };
    const tmp = join(dirname(this.path), `.${basename(this.path)}.tmp`);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(body, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : '';
}
