/** Checks across statements, mirroring what keepalived 2.2.7's -t reports (quoted where it helps). */
import type { KeepalivedConfig, VrrpInstanceConfig } from '@hadhcp/vrrp';
import { formatIp4 } from '@hadhcp/common';
import { type Ctx, didYouMean, error, note, report, warning } from './ctx.js';
import type { InstanceExtra } from './instance.js';
import type { Stmt } from './parser.js';
import type { RunAs } from './security.js';

export function validateInstance(
  ctx: Ctx,
  inst: VrrpInstanceConfig,
  x: InstanceExtra,
  scriptStmts: ReadonlyMap<string, Stmt>,
): boolean {
  const st = x.st;
  let usable = true;
  /** A required statement left unset: the instance cannot run; reported unless the statement was there. */
  const missing = (kw: string, hint: string): void => {
    if (!x.said.has(kw)) error(ctx, st, st.keyword, `vrrp_instance ${inst.name} has no ${kw}`, hint);
    usable = false;
  };
  if (!inst.interface) {
    missing('interface', 'add: interface <name>, the link the adverts go out on');
  } else if (ctx.interfaces && !ctx.interfaces.has(inst.interface)) {
    // keepalived -t: "WARNING - interface eth2 for vrrp_instance VI_1 doesn't exist"; the config still loads.
    warning(
      ctx,
      st,
      x.interfaceWord!,
      `interface ${inst.interface} of vrrp_instance ${inst.name} does not exist on this machine`,
      'fine if you are checking a file for another router; otherwise fix the name',
    );
  }
  if (!inst.vrid) missing('virtual_router_id', 'add: virtual_router_id <1-255>, the same on both routers');
  if (inst.initialState === 'MASTER' && !x.priorityGiven) {
    // keepalived 2.2.7 (checked with -d): state MASTER without priority runs with priority 255, the address owner.
    inst.priority = 255;
    note(
      ctx,
      st,
      x.stateWord!,
      `state MASTER without priority means priority 255 (address owner), as in keepalived`,
      'write the priority you want explicitly; two owners of one VRID both claim master',
    );
  }
  if (!inst.preempt && x.nopreemptWord) {
    if (inst.priority === 255) {
      warning(
        ctx,
        st,
        x.nopreemptWord,
        'nopreempt is incompatible with priority 255 (the owner always preempts, RFC 3768 6.4.2); ignored, as keepalived does',
        'remove nopreempt or lower the priority',
      );
      inst.preempt = true;
    } else if (inst.initialState === 'MASTER') {
      warning(
        ctx,
        st,
        x.nopreemptWord,
        'nopreempt does not work with state MASTER; ignored, as keepalived does',
        'write state BACKUP on both routers when you want nopreempt',
      );
      inst.preempt = true;
    }
  }
  if (inst.preemptDelay > 0 && !inst.preempt) {
    warning(
      ctx,
      st,
      st.keyword,
      'preempt_delay has no meaning with nopreempt; ignored, as keepalived does',
      'remove one of the two',
    );
    inst.preemptDelay = 0;
  }
  if (inst.virtualAddresses.length === 0) {
    warning(
      ctx,
      st,
      st.keyword,
      `vrrp_instance ${inst.name} has no virtual_ipaddress`,
      'add the address(es) the master should hold',
    );
  }
  for (const ti of inst.trackInterfaces) {
    if (ctx.interfaces && !ctx.interfaces.has(ti.name))
      report(
        ctx,
        'warning',
        st.file,
        st.keyword,
        `track_interface ${ti.name} of ${inst.name} does not exist on this machine`,
      );
  }
  for (const v of inst.virtualAddresses) {
    if (v.dev && ctx.interfaces && !ctx.interfaces.has(v.dev))
      ctx.diags.push({
        severity: 'warning',
        ...v.pos,
        message: `virtual address ${formatIp4(v.address)} names dev ${v.dev}, which does not exist on this machine`,
      });
  }
  for (const t of x.trackScripts) {
    if (inst.trackScripts.some((r) => r.name === t.name)) continue;
    const later = scriptStmts.get(t.name);
    if (later) {
      error(
        ctx,
        t.st,
        t.word,
        `track_script ${t.name} is used before its vrrp_script (line ${later.keyword.line}); keepalived ignores it`,
        'move the vrrp_script block above this vrrp_instance',
      );
    } else {
      const guess = didYouMean(t.name, scriptStmts.keys());
      error(
        ctx,
        t.st,
        t.word,
        `track_script ${t.name}: no vrrp_script of that name`,
        guess
          ? `did you mean '${guess}'?`
          : 'define it with vrrp_script NAME { script ... } above this instance',
      );
    }
  }
  return usable;
}

export function validateAll(
  ctx: Ctx,
  cfg: KeepalivedConfig,
  instStmts: Map<string, Stmt>,
  groupStmts: Map<string, Stmt>,
): void {
  const byLink = new Map<string, VrrpInstanceConfig>();
  for (const inst of cfg.instances) {
    const key = `${inst.interface}/${inst.vrid}`;
    const other = byLink.get(key);
    if (other) {
      const st = instStmts.get(inst.name)!;
      error(
        ctx,
        st,
        st.keyword,
        `${other.name} and ${inst.name} both use VRID ${inst.vrid} on ${inst.interface}`,
        'give each instance on one link its own virtual_router_id',
      );
    } else byLink.set(key, inst);
  }
  const owner = new Map<string, string>();
  for (const g of cfg.syncGroups) {
    const st = groupStmts.get(g.name)!;
    for (const inst of cfg.instances.filter((i) => g.instances.includes(i.name)))
      syncGroupWeights(ctx, cfg, inst, instStmts.get(inst.name)!);
    for (const m of g.instances) {
      if (!cfg.instances.some((i) => i.name === m))
        error(
          ctx,
          st,
          st.keyword,
          `vrrp_sync_group ${g.name} names ${m}, which is no vrrp_instance`,
          'check the name against your vrrp_instance blocks',
        );
      const prev = owner.get(m);
      if (prev)
        error(
          ctx,
          st,
          st.keyword,
          `${m} is in both sync groups ${prev} and ${g.name}`,
          'an instance belongs to at most one sync group',
        );
      owner.set(m, g.name);
    }
    if (g.instances.length < 2)
      warning(
        ctx,
        st,
        st.keyword,
        `vrrp_sync_group ${g.name} has ${g.instances.length} instance(s); a group syncs two or more`,
      );
  }
}

/**
 * keepalived -t's SECURITY VIOLATION: scripts that run as root while enable_script_security is off. We run them
 * anyway (as keepalived does) but say so, and the check exits 6 like keepalived.
 */
export function checkScriptUsers(
  ctx: Ctx,
  cfg: KeepalivedConfig,
  lookup: (user: string, group?: string) => RunAs | undefined,
  globalStmt: Stmt | undefined,
  top: Stmt[],
): void {
  const notifies = [...cfg.instances, ...cfg.syncGroups].flatMap((i) =>
    [
      i.notifyMaster,
      i.notifyBackup,
      i.notifyFault,
      i.notify,
      'notifyStop' in i ? i.notifyStop : undefined,
    ].filter((x) => x),
  );
  if (cfg.scripts.length === 0 && notifies.length === 0) return;
  const su = cfg.global.scriptUser;
  let def: RunAs | undefined;
  if (su) {
    def = lookup(su.user, su.group);
    if (!def && globalStmt)
      error(
        ctx,
        globalStmt,
        globalStmt.keyword,
        `script_user ${su.user}${su.group ? ' ' + su.group : ''}: no such user or group on this machine`,
        'create the user or name an existing one',
      );
  } else def = lookup('keepalived_script') ?? { uid: 0, gid: 0 };
  const asRoot = (r: RunAs | undefined): boolean => r !== undefined && (r.uid === 0 || r.gid === 0);
  const rootScripts = cfg.scripts.filter((s) => asRoot(s.user ? lookup(s.user.user, s.user.group) : def));
  if (cfg.global.enableScriptSecurity) return;
  if (rootScripts.length === 0 && !(notifies.length > 0 && asRoot(def))) return;
  ctx.security = true;
  const at = globalStmt ?? top[0];
  if (!at) return;
  warning(
    ctx,
    at,
    at.keyword,
    'scripts run as root but enable_script_security is off (keepalived -t: SECURITY VIOLATION); hadhcp runs them anyway, as keepalived does, without checking who can modify them',
    'add enable_script_security (and script_user) to global_defs',
  );
  if (!su && !lookup('keepalived_script'))
    note(
      ctx,
      at,
      at.keyword,
      "no script_user and no user 'keepalived_script': scripts run as root, as in keepalived",
    );
}

/**
 * keepalived 2.2.7 in a sync group: "ignoring <if> tracked interface weight due to SYNC group" (the interface
 * is still tracked, a failure means FAULT) and "ignoring tracked script <s> with weights due to SYNC group" (the
 * script is not tracked at all). We do the same, so a pair of hadhcp and keepalived routers agree.
 */
function syncGroupWeights(ctx: Ctx, cfg: KeepalivedConfig, inst: VrrpInstanceConfig, st: Stmt): void {
  for (const t of inst.trackInterfaces) {
    if (!t.weight) continue;
    warning(
      ctx,
      st,
      st.keyword,
      `${inst.name} is in a sync group: the weight of track_interface ${t.name} is ignored (a failure means FAULT), as keepalived does`,
      'remove the weight, or take the instance out of the sync group',
    );
    delete t.weight;
  }
  inst.trackScripts = inst.trackScripts.filter((t) => {
    const w = t.weight ?? cfg.scripts.find((s) => s.name === t.name)?.weight ?? 0;
    if (w === 0) return true;
    warning(
      ctx,
      st,
      st.keyword,
      `${inst.name} is in a sync group: track_script ${t.name} has a weight, so it is not tracked at all, as keepalived does`,
      'write weight 0 after the name in track_script to track it (a failure then means FAULT)',
    );
    return false;
  });
}
