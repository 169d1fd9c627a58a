/**
 * keepalived's script security, re-stated from its manual and lib/notify.c: a script that runs with root's
 * uid or gid (or is set-uid/set-gid root) is unsafe when anyone but root could change what runs — that is, when
 * the file or any directory on its path (checked for the path as written and for its symlink-resolved target)
 * is not owned by root, or is writable by "other", or is group-writable with a group other than root. A directory
 * with the sticky bit is exempt from the write checks (only its owner may replace entries, and the owner is root),
 * which is why /tmp itself does not make /tmp/x/script unsafe. With enable_script_security keepalived refuses to
 * run unsafe scripts; without it, it runs them and reports a SECURITY VIOLATION.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface FileInfo {
  uid: number;
  gid: number;
  mode: number;
  kind: 'dir' | 'file' | 'symlink' | 'other';
}

/** The few filesystem calls the check needs; injectable so tests can describe any ownership without root. */
export interface ScriptFs {
  lstat(p: string): FileInfo | undefined;
  stat(p: string): FileInfo | undefined;
  realpath(p: string): string | undefined;
}

export interface RunAs {
  uid: number;
  gid: number;
}

function info(st: fs.Stats): FileInfo {
  const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, kind };
}

export const nodeScriptFs: ScriptFs = {
  lstat: (p) => {
    try {
      return info(fs.lstatSync(p));
    } catch {
      return undefined;
    }
  },
  stat: (p) => {
    try {
      return info(fs.statSync(p));
    } catch {
      return undefined;
    }
  },
  realpath: (p) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return undefined;
    }
  },
};

/** keepalived's search path for a bare script name. */
export const DEFAULT_SCRIPT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The program of a command line (`"/etc/ka/notify.sh arg"` -> `/etc/ka/notify.sh`). */
export function scriptProgram(command: string): string {
  return command.trim().split(/[ \t]+/)[0] ?? '';
}

function executableBy(f: FileInfo, who: RunAs): boolean {
  if (who.uid === 0) return (f.mode & 0o111) !== 0;
  if (f.uid === who.uid) return (f.mode & 0o100) !== 0;
  if (f.gid === who.gid) return (f.mode & 0o010) !== 0;
  return (f.mode & 0o001) !== 0;
}

/** The first component of `p` (from `/` down) that someone other than root could change, or undefined. */
function unsafeComponent(p: string, fsys: ScriptFs): string | undefined {
  const parts = p.split('/').filter((x) => x.length > 0);
  const prefixes = ['/', ...parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'))];
  for (let i = 0; i < prefixes.length; i++) {
    const comp = prefixes[i]!;
    const last = i === prefixes.length - 1;
    const f = fsys.lstat(comp);
    if (!f) return `${comp} cannot be examined`;
    if (!last && f.kind !== 'dir') return `${comp} is not a directory`;
    if (last && f.kind !== 'file' && f.kind !== 'symlink') return `${comp} is not a regular file`;
    if (f.uid !== 0) return `${comp} is owned by uid ${f.uid}, not root`;
    const writeChecked = (f.kind === 'dir' && (f.mode & 0o1000) === 0) || f.kind === 'file';
    if (writeChecked && (f.mode & 0o002) !== 0) return `${comp} is writable by everyone`;
    if (writeChecked && f.gid !== 0 && (f.mode & 0o020) !== 0) return `${comp} is writable by group ${f.gid}`;
  }
  return undefined;
}

/**
 * Whether `program` (a path, or a bare name searched in `searchPath`) may be run as `runAs` under keepalived's
 * rules. `ok: false` also for a script that is missing or not executable for that user (keepalived disables those).
 */
export function checkScriptSecurity(
  program: string,
  runAs: RunAs,
  fsys: ScriptFs = nodeScriptFs,
  searchPath = DEFAULT_SCRIPT_PATH,
): { ok: boolean; reason?: string } {
  let file = program;
  if (!program.includes('/')) {
    const found = searchPath
      .split(':')
      .map((d) => path.posix.join(d, program))
      .find((c) => fsys.stat(c)?.kind === 'file');
    if (!found) return { ok: false, reason: `${program} is not found in ${searchPath}` };
    file = found;
  }
  if (!path.posix.isAbsolute(file))
    return { ok: false, reason: `${file} is a relative path; write it from /` };
  const real = fsys.realpath(file);
  const target = real ? fsys.stat(real) : undefined;
  if (!real || !target) return { ok: false, reason: `${file} does not exist or cannot be reached` };
  if (target.kind !== 'file') return { ok: false, reason: `${real} is not a regular file` };
  if (!executableBy(target, runAs))
    return { ok: false, reason: `${real} is not executable by uid ${runAs.uid}` };
  const setuidRoot = target.uid === 0 && (target.mode & 0o4100) === 0o4100;
  const setgidRoot = target.gid === 0 && (target.mode & 0o2010) === 0o2010;
  if (runAs.uid !== 0 && runAs.gid !== 0 && !setuidRoot && !setgidRoot) return { ok: true };
  // Like keepalived: the directories are checked as resolved (so /bin -> usr/bin is fine), the last component as
  // named (it may be a symlink), and the resolved target as well when the name differs.
  const dirReal = fsys.realpath(path.posix.dirname(file)) ?? path.posix.dirname(file);
  const named = path.posix.join(dirReal, path.posix.basename(file));
  const bad = unsafeComponent(named, fsys) ?? (real !== named ? unsafeComponent(real, fsys) : undefined);
  return bad ? { ok: false, reason: `${bad}, and the script runs as root` } : { ok: true };
}

/** Looks a user (and optional group) up in passwd/group text, as getpwnam/getgrnam would. */
export function resolveUser(
  user: string,
  group: string | undefined,
  passwd: string,
  groups: string,
): RunAs | undefined {
  const pw = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === user);
  if (!pw || pw.length < 4) return undefined;
  let gid = Number(pw[3]);
  if (group !== undefined) {
    const gr = groups
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === group);
    if (!gr || gr.length < 3) return undefined;
    gid = Number(gr[2]);
  }
  return { uid: Number(pw[2]), gid };
}
