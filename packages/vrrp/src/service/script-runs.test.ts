import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { VrrpScript } from '../core/config.js';
import type { ProcessIdentity, ScriptResult, ScriptRunner, ScriptUser } from '../io/exec.js';
import { config, make, pos, recordingLog, stopped } from '../../test-vectors/service-fakes.js';
import { ScriptRuns, switchProblem, whyNotRun, type ScriptJob } from './script-runs.js';

/** As deploy/hadhcp.service runs it: its own user, CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE only. */
const unprivileged: ProcessIdentity = {
  uid: 998,
  gid: 997,
  name: 'hadhcp',
  canSetUid: false,
  canSetGid: false,
};
const root: ProcessIdentity = { uid: 0, gid: 0, name: 'root', canSetUid: true, canSetGid: true };

const eperm: ScriptResult = {
  code: undefined,
  signal: undefined,
  timedOut: false,
  error: 'spawn EPERM',
  errorCode: 'EPERM',
};
const exited = (code: number): ScriptResult => ({ code, signal: undefined, timedOut: false });

describe('switchProblem: can this process run something as that user?', () => {
  it('its own uid and gid need no capability', () => {
    expect(switchProblem({ uid: 998, gid: 997 }, unprivileged)).toBeUndefined();
  });
  it('another uid needs CAP_SETUID, another gid CAP_SETGID', () => {
    expect(switchProblem({ uid: 0, gid: 0 }, unprivileged)).toBe(
      'hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID',
    );
    expect(switchProblem({ uid: 998, gid: 0 }, unprivileged)).toBe(
      'hadhcp runs as hadhcp (uid 998) without CAP_SETGID',
    );
    expect(switchProblem({ uid: 65534, gid: 65534 }, root)).toBeUndefined();
  });
});

describe('whyNotRun', () => {
  const ctx = { user: { user: 'root' }, runAs: { uid: 0, gid: 0 }, self: unprivileged, trackScript: true };

  it('EPERM for a user switch: the capabilities to add, or the user to change', () => {
    const w = whyNotRun('/etc/ka/chk.sh', eperm, ctx)!;
    expect(w.reason).toBe(
      'cannot switch to user root (uid 0, gid 0): hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID (spawn EPERM)',
    );
    expect(w.fix).toMatch(/^add CAP_SETUID CAP_SETGID to AmbientCapabilities= and CapabilityBoundingSet= /);
    expect(w.fix).toMatch(/script_user hadhcp in global_defs \(or user hadhcp in the vrrp_script\)$/);
    // A notify script has no `user` of its own.
    expect(whyNotRun('/n.sh', eperm, { ...ctx, trackScript: false })!.fix).toMatch(/global_defs$/);
  });

  it('unknown user, missing or unusable shell, exit 126/127: each with its reason and fix', () => {
    const unknown = { ...eperm, errorCode: 'unknown-user', error: 'unknown user ghost' };
    expect(whyNotRun('/c', unknown, ctx)).toEqual({
      reason: 'unknown user ghost',
      fix: "create it, or name an existing user in script_user (global_defs) or the vrrp_script's user",
    });
    expect(whyNotRun('/c', { ...eperm, errorCode: 'ENOENT' }, ctx)!.reason).toBe(
      'the shell /bin/sh cannot be started (ENOENT: no such file or directory)',
    );
    expect(whyNotRun('/c', { ...eperm, errorCode: 'EACCES' }, ctx)!.fix).toBe(
      'make /bin/sh executable by user root',
    );
    expect(whyNotRun('/etc/ka/chk.sh arg', exited(127), ctx)!.reason).toMatch(
      /^exit 127: the shell found no such command \(\/etc\/ka\/chk\.sh,/,
    );
    expect(whyNotRun('/etc/ka/chk.sh', exited(126), ctx)!.reason).toBe(
      'exit 126: /etc/ka/chk.sh was found but cannot be executed by user root',
    );
  });

  it('a script that ran is not "not run", whatever it returned', () => {
    expect(whyNotRun('/c', exited(0), ctx)).toBeUndefined();
    expect(whyNotRun('/c', exited(1), ctx)).toBeUndefined();
    expect(whyNotRun('/c', { code: undefined, signal: 'SIGKILL', timedOut: true }, ctx)).toBeUndefined();
  });
});

describe('ScriptRuns', () => {
  const job: ScriptJob = {
    what: 'track script chk',
    command: '/etc/ka/chk.sh',
    args: [],
    user: { user: 'root' },
    timeoutMs: 1000,
    instances: ['VI_1'],
    consequence: 'each run counts as a failed check',
  };
  const runs = (runner: ScriptRunner) => {
    const logged = recordingLog();
    let now = Date.parse('2026-12-01T10:00:00Z');
    const r = new ScriptRuns({
      runner,
      log: logged.log,
      wallClock: { now: () => (now += 1000) },
      self: unprivileged,
      resolve: () => ({ uid: 0, gid: 0 }),
    });
    return { r, lines: logged.lines };
  };

  it('logs a script that cannot start once, counts its attempts, and forgets it once it runs', async () => {
    let result = eperm;
    const { r, lines } = runs({ run: async () => result });
    for (let i = 0; i < 3; i++) expect(await r.run(job)).toMatchObject({ errorCode: 'EPERM', notRun: true });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('error');
    expect(lines[0]!.msg).toBe(
      'Cannot run track script chk (/etc/ka/chk.sh) as root: cannot switch to user root (uid 0, gid 0): hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID (spawn EPERM); each run counts as a failed check; fix: ' +
        "add CAP_SETUID CAP_SETGID to AmbientCapabilities= and CapabilityBoundingSet= in hadhcp.service (or run it as root), or run the script as the daemon's own user: script_user hadhcp in global_defs (or user hadhcp in the vrrp_script)",
    );
    expect(r.notRunFor('VI_1')).toEqual([
      expect.objectContaining({
        script: 'track script chk',
        user: 'root',
        attempts: 3,
        since: '2026-12-01T10:00:01.000Z',
        last: '2026-12-01T10:00:03.000Z',
      }),
    ]);
    expect(r.notRunFor('VI_2')).toEqual([]);
    result = exited(1); // runs now (and fails, which is the check's own business)
    expect(await r.run(job)).not.toHaveProperty('notRun');
    expect(r.notRunFor('VI_1')).toEqual([]);
    expect(lines.at(-1)).toEqual({ level: 'info', msg: 'track script chk (/etc/ka/chk.sh) runs again' });
  });

  it('a runner that throws or rejects is a run that could not start, not a rejection', async () => {
    const { r } = runs({
      run: () => {
        throw Object.assign(new Error('spawn EPERM'), { code: 'EPERM' });
      },
    });
    await expect(r.run(job)).resolves.toMatchObject({ errorCode: 'EPERM', notRun: true });
    const rejecting = runs({ run: () => Promise.reject(new Error('boom')) });
    await expect(rejecting.r.run(job)).resolves.toMatchObject({ errorCode: 'spawn', notRun: true });
  });
});

/** Scripts as an unprivileged daemon sees them: any user but its own cannot be switched to. */
class NoSwitchRunner implements ScriptRunner {
  readonly calls: string[] = [];
  async run(command: string, _args: string[], opts: { user?: ScriptUser }): Promise<ScriptResult> {
    this.calls.push(command);
    return opts.user && opts.user.user !== 'hadhcp' ? eperm : exited(0);
  }
}

const script = (name: string, over: Partial<VrrpScript> = {}): VrrpScript => ({
  name,
  script: `/etc/ka/${name}.sh`,
  interval: 1,
  timeout: 1,
  weight: -20,
  rise: 1,
  fall: 1,
  pos,
  ...over,
});

describe('VrrpService: a script it cannot run (unprivileged, script_user root)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const cfg = (over: Partial<VrrpScript>, notify?: string) =>
    config(
      { priority: 150, trackScripts: [{ name: 'chk' }], ...(notify ? { notify } : {}) },
      {
        scripts: [script('chk', over)],
        global: { ...config().global, enableScriptSecurity: true, scriptUser: { user: 'root' } },
      },
    );

  it('counts as a failed check: its weight applies, logged once, listed in the status with reason and fix', async () => {
    const runner = new NoSwitchRunner();
    const { svc, lines } = make(cfg({}, '/etc/ka/notify.sh'), undefined, {
      scripts: runner,
      identity: unprivileged,
      scriptGuard: () => ({ ok: true }),
    });
    await svc.start();
    await vi.advanceTimersByTimeAsync(5000); // five check intervals and the election
    const st = svc.status()[0]!;
    expect(st).toMatchObject({ state: 'MASTER', configuredPriority: 150, effectivePriority: 130 });
    expect(st.priorityReasons).toEqual(['-20 script:chk failing']);
    expect(runner.calls.filter((c) => c === '/etc/ka/chk.sh').length).toBeGreaterThanOrEqual(5);
    const cannot = lines.filter((l) => l.msg.startsWith('Cannot run '));
    expect(cannot.map((l) => l.msg.slice(0, l.msg.indexOf(':')))).toEqual([
      'Cannot run track script chk (/etc/ka/chk.sh) as root',
      'Cannot run notify script of VI_1 (/etc/ka/notify.sh) as root',
    ]);
    // The notify's own failure line is not repeated per transition: the one above says it all.
    expect(lines.filter((l) => /notify script .* failed/.test(l.msg))).toEqual([]);
    expect(st.scriptsNotRun).toEqual([
      expect.objectContaining({
        script: 'track script chk',
        user: 'root',
        reason: expect.stringContaining('without CAP_SETUID and CAP_SETGID (spawn EPERM)'),
        fix: expect.stringContaining('script_user hadhcp'),
      }),
      expect.objectContaining({ script: 'notify script of VI_1', attempts: 2 }), // BACKUP, then MASTER
    ]);
    expect(st.scriptsNotRun[0]!.attempts).toBeGreaterThanOrEqual(5);
    expect(st.disabledScripts).toEqual([]); // accepted by script security: it counts, it is not disabled
    await stopped(svc);
  });

  it('without a weight it holds the instance in FAULT, as a failing check does', async () => {
    const { svc } = make(cfg({ weight: 0 }), undefined, {
      scripts: new NoSwitchRunner(),
      identity: unprivileged,
    });
    await svc.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(svc.status()[0]).toMatchObject({ state: 'FAULT', faults: ['script:chk'] });
    await stopped(svc);
  });

  it("as the daemon's own user the same script runs: nothing to report", async () => {
    const { svc, lines } = make(cfg({ user: { user: 'hadhcp' } }), undefined, {
      scripts: new NoSwitchRunner(),
      identity: unprivileged,
      resolveUser: (u) => (u.user === 'hadhcp' ? { uid: 998, gid: 997 } : { uid: 0, gid: 0 }),
    });
    await svc.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(svc.status()[0]).toMatchObject({ state: 'MASTER', effectivePriority: 150, scriptsNotRun: [] });
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    await stopped(svc);
  });
});
