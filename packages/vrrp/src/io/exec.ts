import { spawn as nodeSpawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Runs check and notify scripts the way keepalived does: the configured text is a command line, extra arguments
 * are appended, it runs as the script user, and a check that outlives its timeout is killed with its children.
 * A script that cannot be started is a result like any other (`error`, `errorCode`), never a throw: spawn()
 * throws EPERM synchronously (setuid/setgid refused in the child) rather than emitting 'error', and a throw here
 * used to end the daemon.
 */

export interface ScriptUser {
  user: string;
  group?: string;
}

export interface ScriptResult {
  /** Exit status; undefined when it died by a signal or could not start. */
  code: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  /** Set when the script could not be started at all (missing shell, unknown user, user not switchable). */
  error?: string;
  /**
   * Why it could not start, for the caller to explain: the errno code of spawn() (`EPERM`: the user cannot be
   * switched to, `ENOENT`, `EACCES`, `EAGAIN` ...), or `unknown-user`, `unknown-group`, `user-lookup` (passwd or
   * group unreadable).
   */
  errorCode?: string;
}

export interface ScriptRunner {
  run(
    command: string,
    args: string[],
    opts: { user?: ScriptUser; timeoutMs?: number },
  ): Promise<ScriptResult>;
}

function lookup(text: string, name: string): { id: number; gid: number } | undefined {
  if (/^\d+$/.test(name)) return { id: Number(name), gid: Number(name) };
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined) return { id: Number(f[2]), gid: Number(f[3] ?? f[2]) };
  }
  return undefined;
}

/** Where a user lookup failed: the code a ScriptResult carries, and the words for the log. */
export interface UserLookupError {
  code: 'unknown-user' | 'unknown-group' | 'user-lookup';
  message: string;
}

export type ReadText = (path: string) => string;
const readText: ReadText = (p) => readFileSync(p, 'utf8');

/**
 * uid/gid for a script user from /etc/passwd and /etc/group; the user's own group unless one is named. Never
 * throws: an unreadable file is an error like an unknown name.
 */
export function lookupUser(
  u: ScriptUser,
  read: ReadText = readText,
): { uid: number; gid: number } | UserLookupError {
  const file = (path: string): string | UserLookupError => {
    try {
      return read(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      return { code: 'user-lookup', message: `cannot read ${path} (${code}) to look up ${u.user}` };
    }
  };
  const passwd = file('/etc/passwd');
  if (typeof passwd !== 'string') return passwd;
  const pw = lookup(passwd, u.user);
  if (!pw) return { code: 'unknown-user', message: `unknown user ${u.user}` };
  if (u.group === undefined) return { uid: pw.id, gid: pw.gid };
  const groups = file('/etc/group');
  if (typeof groups !== 'string') return groups;
  const gr = lookup(groups, u.group);
  if (!gr) return { code: 'unknown-group', message: `unknown group ${u.group}` };
  return { uid: pw.id, gid: gr.id };
}

/** lookupUser with the reason as a string (the shape the service's `resolveUser` dependency takes). */
export function resolveUser(u: ScriptUser, read: ReadText = readText): { uid: number; gid: number } | string {
  const r = lookupUser(u, read);
  return 'code' in r ? r.message : r;
}

/**
 * Who this process is, for explaining a user switch that fails: its uid/gid and whether it holds CAP_SETUID /
 * CAP_SETGID (switching to any other user needs them; root under systemd with a reduced capability set may lack
 * them too). `name` is the user's name when known.
 */
export interface ProcessIdentity {
  uid: number;
  gid: number;
  name?: string;
  canSetUid: boolean;
  canSetGid: boolean;
}

const CAP_SETGID = 6n;
const CAP_SETUID = 7n;

/** From /proc/self/status (CapEff); without it, root is assumed to hold both. Never throws. */
export function processIdentity(read: ReadText = readText): ProcessIdentity {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let eff: bigint | undefined;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(read('/proc/self/status'));
    if (m) eff = BigInt(`0x${m[1]}`);
  } catch {
    // no /proc: judge by the uid alone
  }
  const has = (bit: bigint): boolean => (eff === undefined ? uid === 0 : ((eff >> bit) & 1n) === 1n);
  let name: string | undefined;
  try {
    const f = read('/etc/passwd')
      .split('\n')
      .map((l) => l.split(':'))
      .find((x) => x[2] === String(uid));
    name = f?.[0];
  } catch {
    // the name only makes messages friendlier
  }
  return { uid, gid, ...(name ? { name } : {}), canSetUid: has(CAP_SETUID), canSetGid: has(CAP_SETGID) };
}

export interface ShellScriptRunnerOptions {
  /** The shell that runs the command line (default /bin/sh). */
  shell?: string;
  /** child_process.spawn, replaceable in tests. */
  spawn?: typeof nodeSpawn;
  /** How users are looked up (default /etc/passwd and /etc/group). */
  lookupUser?: (u: ScriptUser) => { uid: number; gid: number } | UserLookupError;
}

const notStarted = (errorCode: string, error: string): ScriptResult => ({
  code: undefined,
  signal: undefined,
  timedOut: false,
  error,
  errorCode,
});

export class ShellScriptRunner implements ScriptRunner {
  private readonly shell: string;
  private readonly spawn: typeof nodeSpawn;
  private readonly lookupUser: (u: ScriptUser) => { uid: number; gid: number } | UserLookupError;

  constructor(opts: ShellScriptRunnerOptions = {}) {
    this.shell = opts.shell ?? '/bin/sh';
    this.spawn = opts.spawn ?? nodeSpawn;
    this.lookupUser = opts.lookupUser ?? ((u) => lookupUser(u));
  }

  run(
    command: string,
    args: string[],
    opts: { user?: ScriptUser; timeoutMs?: number },
  ): Promise<ScriptResult> {
    let ids: { uid: number; gid: number } | undefined;
    if (opts.user) {
      const r = this.lookupUser(opts.user);
      if ('code' in r) return Promise.resolve(notStarted(r.code, r.message));
      ids = r;
    }
    return new Promise((resolve) => {
      let child: ReturnType<typeof nodeSpawn>;
      try {
        // sh -c with "$@" keeps keepalived's "command line plus appended arguments" meaning, quoting included.
        child = this.spawn(this.shell, ['-c', `${command} "$@"`, 'sh', ...args], {
          stdio: 'ignore',
          detached: true, // its own process group, so a timeout kills what it started too
          ...(ids ?? {}),
        });
      } catch (e) {
        // EPERM (setuid/setgid refused: no CAP_SETUID/CAP_SETGID) and other errors libuv reports at once.
        const err = e as NodeJS.ErrnoException;
        resolve(notStarted(err.code ?? 'spawn', err.message));
        return;
      }
      let timedOut = false;
      const timer =
        opts.timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true;
              try {
                process.kill(-child.pid!, 'SIGKILL');
              } catch {
                // already gone
              }
            }, opts.timeoutMs)
          : undefined;
      // ENOENT, EACCES, EAGAIN, EMFILE, ENFILE come this way (no 'exit' follows).
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        resolve({ ...notStarted(err.code ?? 'spawn', err.message), timedOut });
      });
      child.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code: code ?? undefined, signal: signal ?? undefined, timedOut });
      });
    });
  }
}
