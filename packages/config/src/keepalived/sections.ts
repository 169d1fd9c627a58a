/** global_defs, vrrp_script and vrrp_sync_group into the model; the shared unknown-keyword answer. */
import type { GlobalDefs, VrrpScript, VrrpSyncGroup } from '@hadhcp/vrrp';
import {
  type Ctx,
  arg1,
  didYouMean,
  error,
  extraArgs,
  intArg,
  needBlock,
  noBlock,
  note,
  posOf,
  report,
  secondsArg,
  warning,
} from './ctx.js';
import {
  GLOBAL_IMPLEMENTED,
  GLOBAL_KNOWN,
  INSTANCE_KNOWN,
  SCRIPT_IMPLEMENTED,
  type Stance,
  SYNC_IMPLEMENTED,
  TOP_IMPLEMENTED,
  TOP_KNOWN,
} from './keywords.js';
import type { Stmt } from './parser.js';

export const INSTANCE_IMPLEMENTED = [
  'state',
  'interface',
  'virtual_router_id',
  'priority',
  'advert_int',
  'authentication',
  'virtual_ipaddress',
  'virtual_ipaddress_excluded',
  'nopreempt',
  'preempt',
  'preempt_delay',
  'garp_master_delay',
  'garp_master_repeat',
  'garp_master_refresh',
  'garp_master_refresh_repeat',
  'unicast_src_ip',
  'unicast_peer',
  'track_interface',
  'track_script',
  'notify_master',
  'notify_backup',
  'notify_fault',
  'notify_stop',
  'notify',
];

const SECTIONS: Record<string, readonly string[]> = {
  'the top level': TOP_IMPLEMENTED,
  global_defs: GLOBAL_IMPLEMENTED,
  vrrp_script: SCRIPT_IMPLEMENTED,
  vrrp_instance: INSTANCE_IMPLEMENTED,
  vrrp_sync_group: SYNC_IMPLEMENTED,
};

/** A keyword the section has no handler for: a stance for keepalived's own keywords, else a did-you-mean error. */
export function unknownKeyword(
  ctx: Ctx,
  st: Stmt,
  section: string,
  known: ReadonlyMap<string, Stance>,
  owner?: string,
): void {
  const kw = st.keyword.text;
  const stance = known.get(kw);
  if (stance) {
    report(ctx, stance.severity, st.file, st.keyword, `${kw} ${stance.why}`);
    if (stance.severity !== 'error') ctx.ignored.push(owner ? `${owner}: ${kw}` : kw);
    return;
  }
  const home = Object.entries(SECTIONS).find(([name, kws]) => name !== section && kws.includes(kw))?.[0];
  if (home) {
    error(
      ctx,
      st,
      st.keyword,
      `'${kw}' does not belong in ${section}`,
      `move it into ${home === 'the top level' ? 'the top level' : `a ${home} block`}`,
    );
    return;
  }
  const here = SECTIONS[section] ?? [];
  const guess = didYouMean(kw, [...here, ...known.keys()]);
  if (guess) {
    error(ctx, st, st.keyword, `unknown keyword '${kw}' in ${section}`, `did you mean '${guess}'?`);
    return;
  }
  error(
    ctx,
    st,
    st.keyword,
    `unknown keyword '${kw}' in ${section}`,
    'check the spelling against keepalived.conf(5); hadhcp refuses what it does not understand',
  );
}

function userArgs(st: Stmt, from: number): { user: string; group?: string } | undefined {
  const u = st.args[from];
  if (!u) return undefined;
  const g = st.args[from + 1];
  return g ? { user: u.text, group: g.text } : { user: u.text };
}

export function defaultGlobal(): GlobalDefs {
  return {
    enableScriptSecurity: false,
    garpMasterDelay: 5,
    garpMasterRepeat: 5,
    garpMasterRefresh: 0,
    garpMasterRefreshRepeat: 1,
    ignored: [],
  };
}

export function readGlobalDefs(ctx: Ctx, st: Stmt, g: GlobalDefs): void {
  extraArgs(ctx, st, 0);
  for (const s of needBlock(ctx, st)) {
    const kw = s.keyword.text;
    if (kw !== 'notification_email') noBlock(ctx, s);
    switch (kw) {
      case 'router_id': {
        const a = arg1(ctx, s, 'a name');
        if (a) g.routerId = a.text;
        extraArgs(ctx, s, 1);
        break;
      }
      case 'vrrp_garp_master_delay':
      case 'vrrp_garp_master_repeat':
      case 'vrrp_garp_master_refresh':
      case 'vrrp_garp_master_refresh_repeat': {
        const { field, max } = GARP_TIMINGS[kw.slice('vrrp_'.length) as keyof typeof GARP_TIMINGS];
        g[field] = intArg(ctx, s, 0, max) ?? g[field];
        break;
      }
      case 'enable_script_security':
        extraArgs(ctx, s, 0);
        g.enableScriptSecurity = true;
        break;
      case 'script_user': {
        if (arg1(ctx, s, 'a user name')) g.scriptUser = userArgs(s, 0);
        extraArgs(ctx, s, 2);
        break;
      }
      case 'vrrp_version': {
        const v = intArg(ctx, s, 2, 3);
        if (v === 3)
          error(
            ctx,
            s,
            s.args[0]!,
            'vrrp_version 3 is not implemented: hadhcp speaks VRRPv2 (RFC 3768) only',
            'remove it (or write 2); both routers must then run VRRPv2',
          );
        else if (v === 2) {
          note(ctx, s, s.keyword, 'vrrp_version 2 is the default; the line has no effect');
          ctx.ignored.push('vrrp_version');
        }
        break;
      }
      default:
        unknownKeyword(ctx, s, 'global_defs', GLOBAL_KNOWN);
    }
  }
}

export function readVrrpScript(ctx: Ctx, st: Stmt): VrrpScript | undefined {
  const name = arg1(ctx, st, 'a name');
  extraArgs(ctx, st, 1);
  const body = needBlock(ctx, st);
  if (!name) return undefined;
  const sc: VrrpScript = {
    name: name.text,
    script: '',
    interval: 1,
    timeout: NaN,
    weight: 0,
    rise: 1,
    fall: 1,
    pos: posOf(st),
  };
  for (const s of body) {
    noBlock(ctx, s);
    switch (s.keyword.text) {
      case 'script':
        // keepalived joins an unquoted rest of line into one command string.
        if (arg1(ctx, s, 'a command')) sc.script = s.args.map((a) => a.text).join(' ');
        break;
      case 'interval':
        sc.interval = intArg(ctx, s, 1, 4294) ?? sc.interval;
        break;
      case 'timeout':
        sc.timeout = intArg(ctx, s, 1, 4294) ?? sc.timeout;
        break;
      case 'weight': {
        sc.weight = intArg(ctx, s, -253, 253) ?? sc.weight;
        const r = s.args[1];
        if (r?.text === 'reverse')
          error(
            ctx,
            s,
            r,
            'weight ... reverse is not implemented',
            "negate the weight and the script's exit status instead",
          );
        else extraArgs(ctx, s, 1);
        break;
      }
      case 'rise':
        sc.rise = intArg(ctx, s, 1, 65535) ?? sc.rise;
        break;
      case 'fall':
        sc.fall = intArg(ctx, s, 1, 65535) ?? sc.fall;
        break;
      case 'user':
        if (arg1(ctx, s, 'a user name')) sc.user = userArgs(s, 0);
        extraArgs(ctx, s, 2);
        break;
      case 'init_fail':
        extraArgs(ctx, s, 0);
        sc.initFail = true;
        break;
      default:
        unknownKeyword(ctx, s, 'vrrp_script', new Map());
    }
  }
  if (!sc.script) {
    error(ctx, st, st.keyword, `vrrp_script ${sc.name} has no script`, 'add: script "/path/to/check args"');
    return undefined;
  }
  // keepalived: the timeout defaults to the interval.
  if (Number.isNaN(sc.timeout)) sc.timeout = sc.interval;
  return sc;
}

/**
 * The gratuitous-ARP timings, per vrrp_instance (overrides) and, with a vrrp_ prefix, in global_defs (defaults):
 * the same ranges in both (seconds or counts, from 0).
 */
export const GARP_TIMINGS = {
  garp_master_delay: { field: 'garpMasterDelay', max: 86400 },
  garp_master_repeat: { field: 'garpMasterRepeat', max: 65535 },
  garp_master_refresh: { field: 'garpMasterRefresh', max: 86400 },
  garp_master_refresh_repeat: { field: 'garpMasterRefreshRepeat', max: 65535 },
} as const;

/** The scripts run on a state change, in a vrrp_instance and (but notify_stop) a vrrp_sync_group. */
export const NOTIFY_FIELDS = {
  notify_master: 'notifyMaster',
  notify_backup: 'notifyBackup',
  notify_fault: 'notifyFault',
  notify_stop: 'notifyStop',
  notify: 'notify',
} as const;

/** notify_* "cmd args" — a further unquoted word is a per-script user in keepalived, which we do not carry. */
export function notifyArg(ctx: Ctx, st: Stmt): string | undefined {
  const a = arg1(ctx, st, 'a script path');
  const user = st.args[1];
  if (user)
    error(
      ctx,
      st,
      user,
      `a per-script user ('${user.text}') is not implemented`,
      'quote the command if these are its arguments ("/path arg"), or use global_defs script_user',
    );
  return a?.text;
}

export function readSyncGroup(ctx: Ctx, st: Stmt): VrrpSyncGroup | undefined {
  const name = arg1(ctx, st, 'a name');
  extraArgs(ctx, st, 1);
  const body = needBlock(ctx, st);
  if (!name) return undefined;
  const g: VrrpSyncGroup = { name: name.text, instances: [], pos: posOf(st) };
  for (const s of body) {
    const kw = s.keyword.text;
    if (kw !== 'group') noBlock(ctx, s);
    switch (kw) {
      case 'group':
        for (const m of needBlock(ctx, s)) {
          g.instances.push(m.keyword.text, ...m.args.map((a) => a.text));
        }
        break;
      case 'notify_master':
      case 'notify_backup':
      case 'notify_fault':
      case 'notify':
        g[NOTIFY_FIELDS[kw]] = notifyArg(ctx, s);
        break;
      case 'notify_stop':
        warning(
          ctx,
          s,
          s.keyword,
          "notify_stop of a sync group is not implemented; the instances' notify_stop still run",
        );
        break;
      case 'smtp_alert':
      case 'global_tracking':
      case 'sync_group_tracking_weight':
        note(ctx, s, s.keyword, `${kw} has no effect in hadhcp`);
        ctx.ignored.push(`${g.name}: ${kw}`);
        break;
      default:
        unknownKeyword(ctx, s, 'vrrp_sync_group', new Map(), g.name);
    }
  }
  return g;
}

export { TOP_KNOWN, secondsArg };
