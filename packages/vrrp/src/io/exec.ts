import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Runs check and notify scripts the way keepalived does: the configured text is a command line, extra arguments
 * are appended, it runs as the script user, and a check that outlives its timeout is killed with its children.
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
  /** Set when the script could not be started at all (missing file, unknown user). */
  error?: string;
}

export interface ScriptRunner {
  run(
    command: string,
    args: string[],
    opts: { user?: ScriptUser; timeoutMs?: number },
  ): Promise<ScriptResult>;
}

function lookup(file: string, name: string): { id: number; gid: number } | undefined {
  if (/^\d+$/.test(name)) return { id: Number(name), gid: Number(name) };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined) return { id: Number(f[2]), gid: Number(f[3] ?? f[2]) };
  }
  return undefined;
}

/** uid/gid for a script user from /etc/passwd and /etc/group; the user's own group unless one is named. */
export function resolveUser(u: ScriptUser): { uid: number; gid: number } | string {
  const pw = lookup('/etc/passwd', u.user);
  if (!pw) return `unknown user ${u.user}`;
  if (u.group === undefined) return { uid: pw.id, gid: pw.gid };
  const gr = lookup('/etc/group', u.group);
  if (!gr) return `unknown group ${u.group}`;
  return { uid: pw.id, gid: gr.id };
}

export class ShellScriptRunner implements ScriptRunner {
  run(
    command: string,
    args: string[],
    opts: { user?: ScriptUser; timeoutMs?: number },
  ): Promise<ScriptResult> {
    let ids: { uid: number; gid: number } | undefined;
    if (opts.user) {
      const r = resolveUser(opts.user);
      if (typeof r === 'string')
        return Promise.resolve({ code: undefined, signal: undefined, timedOut: false, error: r });
      ids = r;
    }
    return new Promise((resolve) => {
      // sh -c with "$@" keeps keepalived's "command line plus appended arguments" meaning, quoting included.
      const child = spawn('/bin/sh', ['-c', `${command} "$@"`, 'sh', ...args], {
        stdio: 'ignore',
        detached: true, // its own process group, so a timeout kills what it started too
        ...(ids ?? {}),
      });
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
      child.on('error', (err) => {
        if (timer) clearTimeout(timer);
        resolve({ code: undefined, signal: undefined, timedOut, error: err.message });
      });
      child.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code: code ?? undefined, signal: signal ?? undefined, timedOut });
      });
    });
  }
}
