/**
 * For `hadhcp check-config`: scripts this process could not start because they run as a user it cannot switch
 * to. deploy/hadhcp.service runs check-config as the daemon does (its user, CAP_NET_ADMIN CAP_NET_RAW
 * CAP_NET_BIND_SERVICE), so "this process" is the daemon to be: with script_user root and no CAP_SETUID /
 * CAP_SETGID, every run would fail to start (spawn EPERM). The daemon keeps running then (the check counts as
 * failed), so this is a warning, not an error: known in advance, with its consequence and the fix.
 */
import {
  switchFix,
  switchProblem,
  type KeepalivedConfig,
  type ProcessIdentity,
  type VrrpScript,
} from '@hadhcp/vrrp';
import type { Ctx } from './ctx.js';
import type { RunAs } from './security.js';

type Lookup = (user: string, group?: string) => RunAs | undefined;
type User = { user: string; group?: string };

/** What a failed run of `s` does: its weight on each instance tracking it, or FAULT. */
function consequence(cfg: KeepalivedConfig, s: VrrpScript): string {
  const effects = cfg.instances.flatMap((i) => {
    const t = i.trackScripts.find((x) => x.name === s.name);
    if (!t) return [];
    const w = t.weight ?? s.weight;
    return [w === 0 ? `FAULT for ${i.name}` : `weight ${w > 0 ? '+' : ''}${w} for ${i.name}`];
  });
  return `each run counts as a failed check (${effects.join(', ')})`;
}

export function checkScriptSwitch(
  ctx: Ctx,
  cfg: KeepalivedConfig,
  lookup: Lookup,
  self: ProcessIdentity,
): void {
  // The service's rule: the script's own user, else script_user, else keepalived_script when it exists, else
  // the daemon's own user (no switch at all).
  const su = cfg.global.scriptUser;
  const def: { user: User; whence: string } | undefined = su
    ? { user: su, whence: 'script_user' }
    : lookup('keepalived_script')
      ? { user: { user: 'keepalived_script' }, whence: "keepalived's default user keepalived_script" }
      : undefined;
  const problem = (u: User): string | undefined => {
    const ids = lookup(u.user, u.group);
    return ids ? switchProblem(ids, self) : undefined; // an unknown user is reported on its own
  };
  const warn = (pos: { file: string; line: number; col: number }, message: string, hint: string): void => {
    ctx.diags.push({ severity: 'warning', ...pos, message, hint });
  };
  const tracked = new Set(cfg.instances.flatMap((i) => i.trackScripts.map((t) => t.name)));
  for (const s of cfg.scripts.filter((x) => tracked.has(x.name))) {
    const u = s.user ? { user: s.user, whence: 'its user' } : def;
    const p = u && problem(u.user);
    if (!u || !p) continue;
    warn(
      s.pos,
      `vrrp_script ${s.name} runs as ${u.user.user} (${u.whence}), but ${p}: it cannot be started, and ${consequence(cfg, s)}`,
      switchFix(self, true),
    );
  }
  const p = def && problem(def.user);
  if (!def || !p) return;
  for (const o of [...cfg.instances, ...cfg.syncGroups]) {
    const notifies = [o.notifyMaster, o.notifyBackup, o.notifyFault, o.notify];
    if ('notifyStop' in o) notifies.push(o.notifyStop);
    if (!notifies.some((n) => n)) continue;
    warn(
      o.pos,
      `the notify scripts of ${o.name} run as ${def.user.user} (${def.whence}), but ${p}: they cannot be started, and the notifications are lost`,
      switchFix(self, false),
    );
  }
}
