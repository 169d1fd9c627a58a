import type { Clock } from '@hadhcp/common';
import type { ProcessIdentity, ScriptResult, ScriptRunner, ScriptUser } from '../io/exec.js';
import type { RunAs } from './script-policy.js';
import type { ScriptNotRun, VrrpLogger } from './types.js';

/**
 * Every script the service runs (vrrp_script checks, notify scripts) goes through here. One that cannot be run —
 * its user cannot be switched to (spawn EPERM: no CAP_SETUID/CAP_SETGID, as under deploy/hadhcp.service), the
 * user does not exist, the shell or the script is missing or not executable — never ends the daemon: the run
 * is a failed run (a vrrp_script's weight applies, or FAULT, as keepalived does for a failed check; a notify is
 * lost), it is logged once with the reason and the fix, and it stays in the status until a run starts again.
 * (A script refused by enable_script_security is another matter: it never runs at all, see script-policy.ts.)
 */

export interface ScriptJob {
  /** "track script chk_dhcp", "notify script of VI_1": the same words as script-policy's refusals. */
  what: string;
  command: string;
  args: string[];
  user: ScriptUser | undefined;
  timeoutMs: number;
  /** Instances whose status lists it. */
  instances: string[];
  /** What a run that cannot start means, for the log line ("counts as a failed check ..."). */
  consequence: string;
}

export interface NotRunWhy {
  reason: string;
  fix: string;
}

const who = (self: ProcessIdentity): string =>
  self.name ? `${self.name} (uid ${self.uid})` : `uid ${self.uid}`;

/**
 * Why this process cannot run something as `target`, or undefined when it can: switching to another uid needs
 * CAP_SETUID, to another gid CAP_SETGID (libuv's setuid/setgid in the child; the daemon's own ids need neither).
 */
export function switchProblem(target: RunAs, self: ProcessIdentity): string | undefined {
  const missing = [
    target.uid !== self.uid && !self.canSetUid ? 'CAP_SETUID' : undefined,
    target.gid !== self.gid && !self.canSetGid ? 'CAP_SETGID' : undefined,
  ].filter((c): c is string => c !== undefined);
  if (missing.length === 0) return undefined;
  return `hadhcp runs as ${who(self)} without ${missing.join(' and ')}`;
}

/** The two ways out of a user switch the process may not make: more capabilities, or no switch at all. */
export function switchFix(self: ProcessIdentity, trackScript: boolean): string {
  const me = self.name ?? String(self.uid);
  return (
    'add CAP_SETUID CAP_SETGID to AmbientCapabilities= and CapabilityBoundingSet= in hadhcp.service (or run it as root), ' +
    `or run the script as the daemon's own user: script_user ${me} in global_defs` +
    (trackScript ? ` (or user ${me} in the vrrp_script)` : '')
  );
}

export interface WhyContext {
  user: ScriptUser | undefined;
  /** The user's ids when they could be looked up. */
  runAs: RunAs | undefined;
  self: ProcessIdentity;
  trackScript: boolean;
  shell?: string;
}

const program = (command: string): string => command.trim().split(/\s+/)[0] ?? command;

/**
 * Whether a result means the script could not be run at all, and then why and what to do. Exit 126 and 127 are
 * the shell's own words for "found but not executable" and "not found" (POSIX sh): the script itself, or its
 * #! interpreter, cannot be run. Any other result, a timeout or a non-zero exit included, means it ran.
 */
export function whyNotRun(command: string, r: ScriptResult, c: WhyContext): NotRunWhy | undefined {
  const shell = c.shell ?? '/bin/sh';
  const as = c.user ? `user ${c.user.user}` : who(c.self);
  const userFix = `create it, or name an existing user in script_user (global_defs)${c.trackScript ? " or the vrrp_script's user" : ''}`;
  switch (r.errorCode) {
    case undefined:
      if (r.timedOut) return undefined;
      if (r.code === 127)
        return {
          reason: `exit 127: the shell found no such command (${program(command)}, its #! interpreter, or a command it runs)`,
          fix: `check that ${program(command)} exists, is written from /, and can be reached by ${as}`,
        };
      if (r.code === 126)
        return {
          reason: `exit 126: ${program(command)} was found but cannot be executed by ${as}`,
          fix: `make it executable (chmod +x) and readable by ${as}, on a file system mounted without noexec`,
        };
      return undefined;
    case 'EPERM': {
      if (!c.user)
        return {
          reason: `spawn EPERM: ${r.error ?? 'operation not permitted'}`,
          fix: 'check what confines the daemon (seccomp, SELinux, AppArmor, NoNewPrivileges)',
        };
      const ids = c.runAs ? ` (uid ${c.runAs.uid}, gid ${c.runAs.gid})` : '';
      const problem = c.runAs ? switchProblem(c.runAs, c.self) : undefined;
      return {
        reason: `cannot switch to user ${c.user.user}${ids}: ${problem ?? 'the kernel refused setuid/setgid'} (spawn EPERM)`,
        fix: switchFix(c.self, c.trackScript),
      };
    }
    case 'unknown-user':
    case 'unknown-group':
      return { reason: r.error ?? r.errorCode, fix: userFix };
    case 'user-lookup':
      return {
        reason: r.error ?? 'cannot read /etc/passwd',
        fix: `make /etc/passwd and /etc/group readable by ${who(c.self)}`,
      };
    case 'ENOENT':
      return {
        reason: `the shell ${shell} cannot be started (ENOENT: no such file or directory)`,
        fix: `install ${shell} (the daemon's working directory must exist too)`,
      };
    case 'EACCES':
      return {
        reason: `the shell ${shell} cannot be started (EACCES: permission denied)`,
        fix: `make ${shell} executable by ${as}`,
      };
    case 'EAGAIN':
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOMEM':
      return {
        reason: `no process can be started (${r.errorCode}): ${r.error ?? ''}`.trim(),
        fix: 'raise the limits (LimitNPROC=, LimitNOFILE= in hadhcp.service) or find what uses them up',
      };
    default:
      return {
        reason: `cannot be started (${r.errorCode}): ${r.error ?? ''}`.trim(),
        fix: 'see the reason; the script is tried again at its next run',
      };
  }
}

export interface ScriptRunsDeps {
  runner: ScriptRunner;
  log: VrrpLogger;
  /** For the times people read in the status. */
  wallClock: Clock;
  self: ProcessIdentity;
  resolve: (u: ScriptUser) => RunAs | string;
}

interface Entry extends ScriptNotRun {
  instances: string[];
}

export class ScriptRuns {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: ScriptRunsDeps) {}

  /**
   * Runs a job; never rejects (a runner that throws is a run that could not start). `notRun` tells the caller
   * that the reason has been logged here already.
   */
  async run(job: ScriptJob): Promise<ScriptResult & { notRun?: boolean }> {
    let r: ScriptResult;
    try {
      r = await this.deps.runner.run(job.command, job.args, {
        ...(job.user ? { user: job.user } : {}),
        timeoutMs: job.timeoutMs,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      r = {
        code: undefined,
        signal: undefined,
        timedOut: false,
        error: err.message,
        errorCode: err.code ?? 'spawn',
      };
    }
    return this.record(job, r) ? { ...r, notRun: true } : r;
  }

  /** Remembers a run that could not start (logged when it is new or its reason changed); forgets one that did. */
  private record(job: ScriptJob, r: ScriptResult): boolean {
    const key = `${job.what}\0${job.command}`;
    const had = this.entries.get(key);
    const runAs = job.user ? this.deps.resolve(job.user) : undefined;
    const why = whyNotRun(job.command, r, {
      user: job.user,
      runAs: typeof runAs === 'string' ? undefined : runAs,
      self: this.deps.self,
      trackScript: job.what.startsWith('track script'),
    });
    if (!why) {
      if (had) {
        this.entries.delete(key);
        this.deps.log.info(`${job.what} (${job.command}) runs again`);
      }
      return false;
    }
    const now = new Date(this.deps.wallClock.now()).toISOString();
    if (had && had.reason === why.reason) {
      had.attempts++;
      had.last = now;
      return true;
    }
    this.entries.set(key, {
      script: job.what,
      command: job.command,
      user: job.user?.user,
      ...why,
      attempts: 1,
      since: now,
      last: now,
      instances: job.instances,
    });
    const as = job.user ? ` as ${job.user.user}` : '';
    this.deps.log.error(
      `Cannot run ${job.what} (${job.command})${as}: ${why.reason}; ${job.consequence}; fix: ${why.fix}`,
    );
    return true;
  }

  /** The scripts of `instance` that could not be run at their last attempt. */
  notRunFor(instance: string): ScriptNotRun[] {
    return [...this.entries.values()]
      .filter((e) => e.instances.includes(instance))
      .map(({ instances: _, ...rest }) => rest);
  }
}
