/** vrrp_instance blocks into VrrpInstanceConfig. Cross-instance checks live in validate.ts. */
import { parseIp4 } from '@hadhcp/common';
import type { VirtualAddress, VrrpInstanceConfig, VrrpScript } from '@hadhcp/vrrp';
import {
  type Ctx,
  arg1,
  error,
  extraArgs,
  intArg,
  needBlock,
  noBlock,
  note,
  posOf,
  secondsArg,
  warning,
} from './ctx.js';
import { INSTANCE_KNOWN } from './keywords.js';
import type { Word } from './lexer.js';
import type { Stmt } from './parser.js';
import { GARP_TIMINGS, NOTIFY_FIELDS, notifyArg, unknownKeyword } from './sections.js';

/** What validate.ts needs beyond the model: where things were said, and what was left unset. */
export interface InstanceExtra {
  st: Stmt;
  stateWord?: Word;
  priorityGiven: boolean;
  nopreemptWord?: Word;
  interfaceWord?: Word;
  vridWord?: Word;
  /** The statement was there (perhaps with a bad value already reported), so "missing" would be noise. */
  said: Set<string>;
  trackScripts: { name: string; word: Word; st: Stmt }[];
}

const VIP_OPTIONS = new Set(['dev', 'label', 'brd', 'broadcast', 'scope']);
const SCOPES = new Set(['host', 'link', 'global', 'site', 'nowhere']);

function ipArg(ctx: Ctx, st: Stmt, w: Word | undefined, what: string): number | undefined {
  if (!w) {
    error(ctx, st, st.keyword, `${st.keyword.text} needs ${what}`);
    return undefined;
  }
  const ip = parseIp4(w.text);
  if (ip === undefined) {
    const v6 = w.text.includes(':');
    error(
      ctx,
      st,
      w,
      `'${w.text}' is not an IPv4 address`,
      v6 ? 'hadhcp is IPv4 only' : 'write a dotted quad such as 10.0.0.10',
    );
  }
  return ip;
}

/** One line of virtual_ipaddress: `ip[/len] [brd X] [dev IF] [scope S] [label L]` (keepalived.conf(5)). */
function readVip(ctx: Ctx, st: Stmt): VirtualAddress | undefined {
  const words = [st.keyword, ...st.args];
  const first = st.keyword;
  const [addr, len, extra] = first.text.split('/');
  const address = ipArg(ctx, { ...st, keyword: first }, { ...first, text: addr ?? '' }, 'an address');
  if (address === undefined) return undefined;
  let prefix = 32;
  if (len !== undefined) {
    if (!/^\d{1,2}$/.test(len) || Number(len) > 32 || extra !== undefined) {
      error(ctx, st, first, `'${first.text}': prefix length must be 0-32`, 'write e.g. 10.0.0.10/24');
      return undefined;
    }
    prefix = Number(len);
  }
  const vip: VirtualAddress = { address, prefix, pos: posOf(st) };
  for (let i = 1; i < words.length; i += 2) {
    const opt = words[i]!;
    const val = words[i + 1];
    if (!VIP_OPTIONS.has(opt.text)) {
      error(
        ctx,
        st,
        opt,
        `unknown option '${opt.text}' for a virtual address`,
        'hadhcp knows brd, dev, scope and label here',
      );
      return undefined;
    }
    if (!val) {
      error(ctx, st, opt, `'${opt.text}' needs a value`);
      return undefined;
    }
    switch (opt.text) {
      case 'dev':
        vip.dev = val.text;
        break;
      case 'label':
        vip.label = val.text;
        break;
      case 'brd':
      case 'broadcast': {
        const b = parseIp4(val.text);
        if (b === undefined) {
          error(ctx, st, val, `broadcast '${val.text}' is not an IPv4 address`);
          return undefined;
        }
        vip.brd = b;
        break;
      }
      case 'scope':
        if (!SCOPES.has(val.text) && !/^\d+$/.test(val.text)) {
          error(ctx, st, val, `unknown scope '${val.text}'`, 'use host, link, global, site or nowhere');
          return undefined;
        }
        vip.scope = val.text;
        break;
    }
  }
  return vip;
}

function readVips(ctx: Ctx, st: Stmt): VirtualAddress[] {
  extraArgs(ctx, st, 0);
  const out: VirtualAddress[] = [];
  for (const s of needBlock(ctx, st)) {
    noBlock(ctx, s);
    const v = readVip(ctx, s);
    if (v) out.push(v);
  }
  return out;
}

function readAuth(ctx: Ctx, st: Stmt): VrrpInstanceConfig['auth'] {
  let type: 'PASS' | 'AH' | undefined;
  let pass: string | undefined;
  for (const s of needBlock(ctx, st)) {
    noBlock(ctx, s);
    if (s.keyword.text === 'auth_type') {
      const a = arg1(ctx, s, 'PASS or AH');
      if (a && (a.text === 'PASS' || a.text === 'AH')) type = a.text;
      else if (a) error(ctx, s, a, `auth_type '${a.text}' is not PASS or AH`, 'write: auth_type PASS');
    } else if (s.keyword.text === 'auth_pass') {
      const a = arg1(ctx, s, 'a password');
      if (!a) continue;
      pass = a.text;
      if (pass.length > 8) {
        // RFC 3768 5.3.6.1: the PASS field is 8 octets; keepalived truncates ("Truncating auth_pass to 8 characters").
        warning(
          ctx,
          s,
          a,
          `auth_pass is ${pass.length} characters; only the first 8 ('${pass.slice(0, 8)}') are sent`,
          'shorten it to 8 characters so the file says what the wire carries',
        );
        pass = pass.slice(0, 8);
      }
    } else unknownKeyword(ctx, s, 'authentication', new Map());
  }
  if (!type) {
    error(ctx, st, st.keyword, 'authentication has no auth_type', 'add: auth_type PASS');
    return undefined;
  }
  if (pass === undefined) {
    error(ctx, st, st.keyword, 'authentication has no auth_pass', 'add: auth_pass <up to 8 characters>');
    return undefined;
  }
  return { type, pass };
}

function readWeighted(ctx: Ctx, s: Stmt, min: number, max: number): number | undefined {
  const w = s.args[0];
  if (!w) return undefined;
  if (w.text !== 'weight') {
    error(ctx, s, w, `unexpected '${w.text}' after ${s.keyword.text}`, 'write: NAME [weight N]');
    return undefined;
  }
  const v = intArg(ctx, { ...s, keyword: w, args: s.args.slice(1) }, min, max);
  extraArgs(ctx, s, 2);
  return v;
}

export function readInstance(
  ctx: Ctx,
  st: Stmt,
  scripts: ReadonlyMap<string, VrrpScript>,
): { inst: VrrpInstanceConfig; extra: InstanceExtra } | undefined {
  const name = arg1(ctx, st, 'a name');
  extraArgs(ctx, st, 1);
  const body = needBlock(ctx, st);
  if (!name) return undefined;
  const inst: VrrpInstanceConfig = {
    name: name.text,
    initialState: 'BACKUP',
    interface: '',
    vrid: 0,
    priority: 100,
    advertInt: 1,
    virtualAddresses: [],
    virtualAddressesExcluded: [],
    preempt: true,
    preemptDelay: 0,
    unicastPeers: [],
    trackInterfaces: [],
    trackScripts: [],
    pos: posOf(st),
  };
  const extra: InstanceExtra = { st, priorityGiven: false, trackScripts: [], said: new Set() };
  for (const s of body) readInstanceStmt(ctx, s, inst, extra, scripts);
  return { inst, extra };
}

const BLOCK_KWS = new Set([
  'authentication',
  'virtual_ipaddress',
  'virtual_ipaddress_excluded',
  'unicast_peer',
  'track_interface',
  'track_script',
]);

function readInstanceStmt(
  ctx: Ctx,
  s: Stmt,
  inst: VrrpInstanceConfig,
  extra: InstanceExtra,
  scripts: ReadonlyMap<string, VrrpScript>,
): void {
  const kw = s.keyword.text;
  extra.said.add(kw);
  if (!BLOCK_KWS.has(kw)) noBlock(ctx, s);
  switch (kw) {
    case 'state': {
      const a = arg1(ctx, s, 'MASTER or BACKUP');
      if (a?.text === 'MASTER' || a?.text === 'BACKUP') {
        inst.initialState = a.text;
        extra.stateWord = a;
      } else if (a)
        error(
          ctx,
          s,
          a,
          `state '${a.text}' is not MASTER or BACKUP`,
          'write: state BACKUP (the election decides who is master)',
        );
      extraArgs(ctx, s, 1);
      return;
    }
    case 'interface': {
      const a = arg1(ctx, s, 'an interface name');
      if (a) {
        inst.interface = a.text;
        extra.interfaceWord = a;
      }
      extraArgs(ctx, s, 1);
      return;
    }
    case 'virtual_router_id': {
      const v = intArg(ctx, s, 1, 255);
      if (v !== undefined) {
        inst.vrid = v;
        extra.vridWord = s.args[0];
      }
      extraArgs(ctx, s, 1);
      return;
    }
    case 'priority': {
      const v = intArg(ctx, s, 1, 255);
      if (v !== undefined) {
        inst.priority = v;
        extra.priorityGiven = true;
      }
      extraArgs(ctx, s, 1);
      return;
    }
    case 'advert_int': {
      const v = secondsArg(ctx, s, 0.01, 255);
      if (v === undefined) return;
      // RFC 3768 5.3.7: VRRPv2 carries whole seconds. keepalived 2.2.7 rounds half up (1.5 -> 2, 0.5 -> 1) and
      // reports it; we round the same way so both routers put the same number on the wire.
      const r = Math.max(1, Math.round(v));
      if (r !== v)
        warning(
          ctx,
          s,
          s.args[0]!,
          `advert_int ${s.args[0]!.text}: VRRPv2 carries whole seconds; using ${r} (as keepalived does)`,
          `write advert_int ${r}`,
        );
      inst.advertInt = r;
      extraArgs(ctx, s, 1);
      return;
    }
    case 'authentication':
      inst.auth = readAuth(ctx, s);
      return;
    case 'virtual_ipaddress':
      inst.virtualAddresses.push(...readVips(ctx, s));
      return;
    case 'virtual_ipaddress_excluded':
      inst.virtualAddressesExcluded.push(...readVips(ctx, s));
      return;
    case 'nopreempt':
      inst.preempt = false;
      extra.nopreemptWord = s.keyword;
      extraArgs(ctx, s, 0);
      return;
    case 'preempt':
      note(ctx, s, s.keyword, 'preempt is the default; the line has no effect');
      return;
    case 'preempt_delay':
      inst.preemptDelay = secondsArg(ctx, s, 0, 1000) ?? inst.preemptDelay;
      return;
    case 'garp_master_delay':
    case 'garp_master_repeat':
    case 'garp_master_refresh':
    case 'garp_master_refresh_repeat': {
      const { field, max } = GARP_TIMINGS[kw];
      inst[field] = intArg(ctx, s, 0, max);
      return;
    }
    case 'unicast_src_ip':
      inst.unicastSrcIp = ipArg(ctx, s, s.args[0], 'an address');
      extraArgs(ctx, s, 1);
      return;
    case 'unicast_peer':
      for (const p of needBlock(ctx, s)) {
        noBlock(ctx, p);
        const ip = ipArg(ctx, p, p.keyword, 'an address');
        extraArgs(ctx, p, 0);
        if (ip !== undefined) inst.unicastPeers.push(ip);
      }
      return;
    case 'track_interface':
      for (const t of needBlock(ctx, s)) {
        noBlock(ctx, t);
        const weight = readWeighted(ctx, t, -254, 254);
        if (t.keyword.text === inst.interface) {
          // keepalived: "Ignoring track_interface X since own interface" — the own link is always tracked.
          note(
            ctx,
            t,
            t.keyword,
            `track_interface ${t.keyword.text} is the instance's own interface, which is always tracked; ignored`,
          );
          continue;
        }
        inst.trackInterfaces.push(
          weight === undefined ? { name: t.keyword.text } : { name: t.keyword.text, weight },
        );
      }
      return;
    case 'track_script':
      for (const t of needBlock(ctx, s)) {
        noBlock(ctx, t);
        const weight = readWeighted(ctx, t, -253, 253);
        extra.trackScripts.push({ name: t.keyword.text, word: t.keyword, st: t });
        if (!scripts.has(t.keyword.text)) continue;
        inst.trackScripts.push(
          weight === undefined ? { name: t.keyword.text } : { name: t.keyword.text, weight },
        );
      }
      return;
    case 'notify_master':
    case 'notify_backup':
    case 'notify_fault':
    case 'notify_stop':
    case 'notify':
      inst[NOTIFY_FIELDS[kw]] = notifyArg(ctx, s);
      return;
    default:
      unknownKeyword(ctx, s, 'vrrp_instance', INSTANCE_KNOWN, inst.name);
  }
}
