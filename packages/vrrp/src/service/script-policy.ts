import type { KeepalivedConfig, VrrpInstanceConfig, VrrpSyncGroup } from '../core/config.js';
import type { ScriptUser } from '../io/exec.js';

/**
 * enable_script_security and script_user, keepalived's way (vrrp.c check_vrrp_script_security, notify.c):
 * every vrrp_script and notify script is checked once at start for the user it will run as. A refused
 * vrrp_script is removed from every instance that tracks it ("Disabling track script X due to insecure": it then
 * neither weighs nor faults), a refused notify script is never run. The check itself (who may modify the file
 * and its directories) lives in @hadhcp/config and is injected: this package cannot depend on it.
 */

export interface RunAs {
  uid: number;
  gid: number;
}

/** Whether `command` (a keepalived command line) may run as `runAs`; `reason` says why not. */
export type ScriptGuard = (command: string, runAs: RunAs) => { ok: boolean; reason?: string };

export interface ScriptPolicyInput {
  config: KeepalivedConfig;
  guard: ScriptGuard | undefined;
  /** uid/gid of a user, or why it cannot be resolved. */
  resolve: (u: ScriptUser) => RunAs | string;
  /** The user scripts run as when neither `user` nor script_user says (keepalived: keepalived_script, else root). */
  defaultUser: ScriptUser | undefined;
}

export interface RefusedScript {
  /** "track script chk_dhcp", "notify script of VI_1" ... */
  what: string;
  command: string;
  reason: string;
  /** Instances whose behaviour changes because of it. */
  instances: string[];
}

export interface ScriptPolicy {
  /** The configuration with refused scripts taken out (track_script entries removed, notify lines cleared). */
  config: KeepalivedConfig;
  refused: RefusedScript[];
}

const FIX =
  'fix: make the script and every directory above it owned by root and writable by root only, or run it as an unprivileged script_user (global_defs) or `user` (vrrp_script)';

/** keepalived's log line for a refused script, with the reason and what to do about it. */
export function refusedMessage(r: RefusedScript): string {
  return `Disabling ${r.what} due to insecure: ${r.reason} (${r.command}); ${FIX}`;
}

type NotifyKey = 'notifyMaster' | 'notifyBackup' | 'notifyFault' | 'notifyStop' | 'notify';
const NOTIFY_KEYS: NotifyKey[] = ['notifyMaster', 'notifyBackup', 'notifyFault', 'notifyStop', 'notify'];

export function applyScriptSecurity(input: ScriptPolicyInput): ScriptPolicy {
  const { config, guard } = input;
  // Without enable_script_security keepalived runs every script (the config check reports the SECURITY
  // VIOLATION); a missing script then simply fails when run.
  if (!config.global.enableScriptSecurity || !guard) return { config, refused: [] };
  const refused: RefusedScript[] = [];
  const check = (command: string, user: ScriptUser | undefined): string | undefined => {
    const who = user ? input.resolve(user) : { uid: 0, gid: 0 };
    if (typeof who === 'string') return who;
    const r = guard(command, who);
    return r.ok ? undefined : (r.reason ?? 'refused');
  };

  const badScripts = new Set<string>();
  for (const s of config.scripts) {
    const reason = check(s.script, s.user ?? input.defaultUser);
    if (reason === undefined) continue;
    badScripts.add(s.name);
    refused.push({
      what: `track script ${s.name}`,
      command: s.script,
      reason,
      instances: config.instances
        .filter((i) => i.trackScripts.some((t) => t.name === s.name))
        .map((i) => i.name),
    });
  }
  const clearNotifies = <T extends VrrpInstanceConfig | VrrpSyncGroup>(owner: T): T => {
    const out = { ...owner } as Record<string, unknown>;
    for (const k of NOTIFY_KEYS) {
      const cmd = out[k];
      if (typeof cmd !== 'string') continue;
      const reason = check(cmd, input.defaultUser);
      if (reason === undefined) continue;
      delete out[k];
      refused.push({
        what: `notify script of ${owner.name}`,
        command: cmd,
        reason,
        instances: 'instances' in owner ? owner.instances : [owner.name],
      });
    }
    return out as T;
  };
  const instances = config.instances.map((i) =>
    clearNotifies({ ...i, trackScripts: i.trackScripts.filter((t) => !badScripts.has(t.name)) }),
  );
  const syncGroups = config.syncGroups.map((g) => clearNotifies(g));
  return {
    config: {
      ...config,
      scripts: config.scripts.filter((s) => !badScripts.has(s.name)),
      instances,
      syncGroups,
    },
    refused,
  };
}
