import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeepalivedConfig, VrrpScript } from '../core/config.js';
import { config, make, pos, stopped } from '../../test-vectors/service-fakes.js';
import { applyScriptSecurity, type RunAs, type ScriptGuard } from './script-policy.js';

const script = (name: string, path: string, over: Partial<VrrpScript> = {}): VrrpScript => ({
  name,
  script: path,
  interval: 1,
  timeout: 1,
  weight: -20,
  rise: 1,
  fall: 1,
  pos,
  ...over,
});

/** Refuses anything under /tmp/open (world-writable, say) when it runs as root; records who asked. */
function openDirGuard(): { guard: ScriptGuard; asked: { command: string; runAs: RunAs }[] } {
  const asked: { command: string; runAs: RunAs }[] = [];
  const guard: ScriptGuard = (command, runAs) => {
    asked.push({ command, runAs });
    return command.startsWith('/tmp/open/') && runAs.uid === 0
      ? { ok: false, reason: '/tmp/open is writable by everyone, and the script runs as root' }
      : { ok: true };
  };
  return { guard, asked };
}

function secured(cfg: KeepalivedConfig, scriptUser?: string): KeepalivedConfig {
  return {
    ...cfg,
    global: {
      ...cfg.global,
      enableScriptSecurity: true,
      ...(scriptUser ? { scriptUser: { user: scriptUser } } : {}),
    },
  };
}

const resolve = (u: { user: string }): RunAs | string =>
  u.user === 'nobody'
    ? { uid: 65534, gid: 65534 }
    : u.user === 'root'
      ? { uid: 0, gid: 0 }
      : `unknown user ${u.user}`;

describe('applyScriptSecurity (enable_script_security, keepalived check_vrrp_script_security)', () => {
  const base = config(
    {
      trackScripts: [{ name: 'chk_bad' }, { name: 'chk_ok' }],
      notifyMaster: '/tmp/open/master.sh',
      notify: '/etc/ka/n.sh',
    },
    { scripts: [script('chk_bad', '/tmp/open/chk.sh'), script('chk_ok', '/etc/ka/chk.sh')] },
  );

  it('takes a refused vrrp_script out of every instance tracking it and clears a refused notify script', () => {
    const { guard } = openDirGuard();
    const r = applyScriptSecurity({ config: secured(base), guard, resolve, defaultUser: undefined });
    expect(r.config.scripts.map((s) => s.name)).toEqual(['chk_ok']);
    expect(r.config.instances[0]!.trackScripts).toEqual([{ name: 'chk_ok' }]);
    expect(r.config.instances[0]!.notifyMaster).toBeUndefined();
    expect(r.config.instances[0]!.notify).toBe('/etc/ka/n.sh');
    expect(r.refused).toEqual([
      expect.objectContaining({
        what: 'track script chk_bad',
        instances: ['VI_1'],
        reason: expect.stringMatching(/writable by everyone/),
      }),
      expect.objectContaining({ what: 'notify script of VI_1', command: '/tmp/open/master.sh' }),
    ]);
  });

  it('checks each script for the user it runs as: `user` over script_user over root', () => {
    const { guard, asked } = openDirGuard();
    const cfg = secured(
      {
        ...base,
        scripts: [
          script('chk_bad', '/tmp/open/chk.sh', { user: { user: 'root' } }),
          script('chk_ok', '/etc/ka/chk.sh'),
        ],
      },
      'nobody',
    );
    const r = applyScriptSecurity({ config: cfg, guard, resolve, defaultUser: { user: 'nobody' } });
    expect(asked.map((a) => [a.command, a.runAs.uid])).toEqual([
      ['/tmp/open/chk.sh', 0],
      ['/etc/ka/chk.sh', 65534],
      ['/tmp/open/master.sh', 65534],
      ['/etc/ka/n.sh', 65534],
    ]);
    // As nobody the open-directory notify script cannot be abused to gain root: keepalived runs it.
    expect(r.refused.map((x) => x.what)).toEqual(['track script chk_bad']);
  });

  it('refuses a script whose user does not exist', () => {
    const { guard } = openDirGuard();
    const cfg = secured({
      ...base,
      scripts: [script('chk_ok', '/etc/ka/chk.sh', { user: { user: 'ghost' } })],
    });
    const r = applyScriptSecurity({ config: cfg, guard, resolve, defaultUser: undefined });
    expect(r.refused[0]).toMatchObject({ what: 'track script chk_ok', reason: 'unknown user ghost' });
  });

  it('without enable_script_security nothing is refused (keepalived runs them, the config check warns)', () => {
    const { guard, asked } = openDirGuard();
    const r = applyScriptSecurity({ config: base, guard, resolve, defaultUser: undefined });
    expect(r.refused).toEqual([]);
    expect(r.config).toBe(base);
    expect(asked).toEqual([]);
  });
});

describe('VrrpService with enable_script_security', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never runs a refused track script, which then neither weighs nor faults; logged once with reason and fix', async () => {
    const cfg = secured(
      config(
        { trackScripts: [{ name: 'chk_bad' }, { name: 'chk_fault' }] },
        {
          scripts: [
            script('chk_bad', '/tmp/open/chk.sh'),
            script('chk_fault', '/tmp/open/f.sh', { weight: 0 }),
          ],
        },
      ),
    );
    const { svc, scripts, lines } = make(cfg, undefined, { scriptGuard: openDirGuard().guard });
    scripts.result = () => 1; // had they run, both would fail
    await svc.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(scripts.calls).toEqual([]);
    const st = svc.status()[0]!;
    expect(st).toMatchObject({ state: 'MASTER', effectivePriority: 100, faults: [] });
    expect(st.disabledScripts).toEqual(['track script chk_bad', 'track script chk_fault']);
    const refusals = lines.filter((l) => /Disabling track script/.test(l.msg));
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatchObject({ level: 'error' });
    expect(refusals[0]!.msg).toMatch(
      /^Disabling track script chk_bad due to insecure: \/tmp\/open is writable by everyone.*\(\/tmp\/open\/chk\.sh\); fix: /,
    );
    await stopped(svc);
  });

  it('runs allowed scripts as script_user, a vrrp_script as its own `user`, and skips a refused notify', async () => {
    const cfg = secured(
      config(
        {
          initialState: 'MASTER',
          trackScripts: [{ name: 'chk' }],
          notifyMaster: '/tmp/open/m.sh',
          notify: '/etc/ka/n.sh',
        },
        { scripts: [script('chk', '/etc/ka/chk.sh', { user: { user: 'root' } })] },
      ),
      'nobody',
    );
    // As root (the vrrp_script's user) /tmp/open is refused; as nobody (notify) it is not: the guard decides per user.
    const guard: ScriptGuard = (command) =>
      command === '/tmp/open/m.sh' ? { ok: false, reason: 'owned by uid 1000, not root' } : { ok: true };
    const { svc, scripts } = make(cfg, undefined, { scriptGuard: guard });
    await svc.start();
    await vi.advanceTimersByTimeAsync(50);
    const who = (cmd: string) => scripts.calls.filter((c) => c.command === cmd).map((c) => c.user?.user);
    // notify for BACKUP (every instance enters it first) and MASTER, as script_user; notify_master refused.
    expect(who('/etc/ka/n.sh')).toEqual(['nobody', 'nobody']);
    expect(who('/etc/ka/chk.sh')).toEqual(['root']);
    expect(who('/tmp/open/m.sh')).toEqual([]);
    expect(svc.status()[0]!.disabledScripts).toEqual(['notify script of VI_1']);
    await stopped(svc);
  });

  it('without the guard (unit tests, or no check injected) every script runs', async () => {
    const cfg = secured(
      config({ trackScripts: [{ name: 'chk' }] }, { scripts: [script('chk', '/tmp/open/chk.sh')] }),
    );
    const { svc, scripts } = make(cfg);
    await svc.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(scripts.calls.map((c) => c.command)).toEqual(['/tmp/open/chk.sh']);
    await stopped(svc);
  });
});
