import { link, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK_FILE = 'LOCK';

export class StoreLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `lease store ${dir} is in use by process ${pid} (lock file ${join(dir, LOCK_FILE)}); ` +
        `two daemons must never share a store. Stop that process, or remove the lock file if it is not a hadhcp.`,
    );
    this.name = 'StoreLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else, which still means "in use".
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * This process's start time (/proc/self/stat field 22, clock ticks since boot), written beside the pid: a daemon
 * restarted in a fresh container often gets the same pid as the one that left the lock, and must not mistake that
 * lock for its own. Empty where /proc is missing (then a lock with our pid counts as ours, failing safe).
 */
async function startTime(): Promise<string> {
  const stat = await readFile('/proc/self/stat', 'utf8').catch(() => '');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

/**
 * Takes the directory lock: a file created exclusively, holding our pid. A lock left by a process that no
 * longer exists (kill -9, power loss) is taken over. Node has no flock(2); a pid check is what we can do, and
 * the residual risk is pid reuse by an unrelated process after a crash, which fails safe (we refuse to open).
 * Returns the function that releases it.
 */
export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const started = await startTime();
  for (let attempt = 0; attempt < 3; attempt++) {
    // Written under a private name, then link(2)ed into place: the lock never exists without its pid.
    const tmp = `${path}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(`${process.pid} ${started}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, path);
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    const text = await readFile(path, 'utf8').catch(() => '');
    const [pidText = '', lockStarted = ''] = text.trim().split(/\s+/);
    const pid = Number.parseInt(pidText, 10);
    // Our own pid is ours only if the start time matches too (another store of this process holds it); otherwise
    // it is a previous incarnation's lock, left before a restart that happened to get the same pid.
    const held = pid === process.pid ? lockStarted === started : alive(pid);
    if (Number.isInteger(pid) && pid > 0 && held) throw new StoreLockedError(dir, pid);
    // Stale: its process is gone. Remove and retry.
    await unlink(path).catch(() => undefined);
  }
  throw new Error(`could not take the lock ${path}: it keeps reappearing`);
}
