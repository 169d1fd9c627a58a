/**
 * readKeepalivedConf: a keepalived.conf (and its includes) into the VRRP model, with diagnostics that name
 * file:line:col. checkKeepalivedConf: the same, plus the script checks, answered with `keepalived -t`'s exit code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { globSync as GlobSync } from 'tinyglobby';
import { processIdentity, type KeepalivedConfig, type ProcessIdentity, type VrrpScript } from '@hadhcp/vrrp';
import { type Diagnostic, hasErrors } from '../diagnostics.js';
import { type Ctx, error } from './ctx.js';
import { type InstanceExtra, readInstance } from './instance.js';
import { type SourceAccess, readLines } from './lexer.js';
import { parseStatements, type Stmt } from './parser.js';
import {
  TOP_KNOWN,
  defaultGlobal,
  readGlobalDefs,
  readSyncGroup,
  readVrrpScript,
  unknownKeyword,
} from './sections.js';
import {
  type RunAs,
  type ScriptFs,
  checkScriptSecurity,
  nodeScriptFs,
  resolveUser,
  scriptProgram,
} from './security.js';
import { checkScriptSwitch } from './script-switch.js';
import { checkScriptUsers, validateAll, validateInstance } from './validate.js';

export interface KeepalivedReadOptions {
  /** Reads a file as text (default fs.readFileSync utf8). */
  readFile?: (path: string) => string;
  /** Expands an absolute include pattern to absolute file names (default: tinyglobby, sorted like glob(3)). */
  glob?: (pattern: string) => string[];
  /** Interface names present on this machine (default: /sys/class/net, else os.networkInterfaces()). */
  interfaces?: string[];
  /** Resolves a script user (default: /etc/passwd and /etc/group). */
  lookupUser?: (user: string, group?: string) => RunAs | undefined;
}

export interface KeepalivedCheckOptions extends KeepalivedReadOptions {
  scriptFs?: ScriptFs;
  /** Who will run the scripts (default: this process, as the daemon run the same way would). */
  identity?: ProcessIdentity;
}

export function machineInterfaces(): string[] {
  try {
    // os.networkInterfaces() lists only interfaces that have an address; keepalived looks at all links.
    return fs.readdirSync('/sys/class/net');
  } catch {
    return Object.keys(os.networkInterfaces());
  }
}

/** tinyglobby, loaded for the first include with a wildcard (most configurations have none). */
let globSync: typeof GlobSync | undefined;

function defaultGlob(pattern: string): string[] {
  if (!/[*?[{]/.test(pattern)) return fs.existsSync(pattern) ? [pattern] : [];
  globSync ??= (createRequire(import.meta.url)('tinyglobby') as { globSync: typeof GlobSync }).globSync;
  return globSync(pattern, { absolute: true, onlyFiles: true, expandDirectories: false }).sort();
}

function defaultLookup(user: string, group?: string): RunAs | undefined {
  const read = (p: string): string => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return resolveUser(user, group, read('/etc/passwd'), read('/etc/group'));
}

interface ReadResult {
  config?: KeepalivedConfig;
  diagnostics: Diagnostic[];
  ctx: Ctx;
  lookup: (user: string, group?: string) => RunAs | undefined;
}

function read(file: string, opts: KeepalivedReadOptions): ReadResult {
  const ctx: Ctx = {
    diags: [],
    security: false,
    fatal: false,
    interfaces: new Set(opts.interfaces ?? machineInterfaces()),
    ignored: [],
  };
  const lookup = opts.lookupUser ?? defaultLookup;
  const src: SourceAccess = {
    readFile: opts.readFile ?? ((p) => fs.readFileSync(p, 'utf8')),
    glob: opts.glob ?? defaultGlob,
    dirname: path.dirname,
    resolve: path.resolve,
  };
  const files: string[] = [];
  const lines = readLines(file, src, ctx.diags, files);
  if (files.length === 0) {
    ctx.fatal = true;
    return { diagnostics: ctx.diags, ctx, lookup };
  }
  const top = parseStatements(lines, ctx.diags);
  const cfg: KeepalivedConfig = {
    global: defaultGlobal(),
    scripts: [],
    instances: [],
    syncGroups: [],
    files,
  };
  cfg.global.ignored = ctx.ignored;
  const scripts = new Map<string, VrrpScript>();
  const scriptStmts = new Map<string, Stmt>();
  const instStmts = new Map<string, Stmt>();
  const groupStmts = new Map<string, Stmt>();
  const extras: InstanceExtra[] = [];
  let globalStmt: Stmt | undefined;
  for (const st of top) {
    const kw = st.keyword.text;
    if (kw === 'global_defs') {
      globalStmt ??= st;
      readGlobalDefs(ctx, st, cfg.global);
    } else if (kw === 'vrrp_script') {
      const sc = readVrrpScript(ctx, st);
      if (sc && scripts.has(sc.name))
        error(ctx, st, st.args[0]!, `vrrp_script ${sc.name} is already defined`, 'rename one of them');
      else if (sc) {
        scripts.set(sc.name, sc);
        cfg.scripts.push(sc);
      }
      if (st.args[0]) scriptStmts.set(st.args[0].text, st);
    } else if (kw === 'vrrp_instance') {
      const r = readInstance(ctx, st, scripts);
      if (!r) continue;
      if (instStmts.has(r.inst.name)) {
        error(ctx, st, st.args[0]!, `vrrp_instance ${r.inst.name} is already defined`, 'rename one of them');
        continue;
      }
      instStmts.set(r.inst.name, st);
      extras.push(r.extra);
      cfg.instances.push(r.inst);
    } else if (kw === 'vrrp_sync_group') {
      const g = readSyncGroup(ctx, st);
      if (g) {
        cfg.syncGroups.push(g);
        groupStmts.set(g.name, st);
      }
    } else unknownKeyword(ctx, st, 'the top level', TOP_KNOWN);
  }
  cfg.instances = cfg.instances.filter((inst, i) => validateInstance(ctx, inst, extras[i]!, scriptStmts));
  validateAll(ctx, cfg, instStmts, groupStmts);
  checkScriptUsers(ctx, cfg, lookup, globalStmt, top);
  // Report in file order, so the list reads top to bottom (validation ran after parsing).
  const order = (d: Diagnostic): number => files.indexOf(d.file);
  ctx.diags.sort((a, b) => order(a) - order(b) || a.line - b.line || a.col - b.col);
  const diagnostics = ctx.diags;
  return hasErrors(diagnostics) ? { diagnostics, ctx, lookup } : { config: cfg, diagnostics, ctx, lookup };
}

/** Reads a keepalived.conf into the model; `config` is absent when any diagnostic is an error. */
export function readKeepalivedConf(
  file: string,
  opts: KeepalivedReadOptions = {},
): { config?: KeepalivedConfig; diagnostics: Diagnostic[] } {
  const r = read(file, opts);
  return r.config ? { config: r.config, diagnostics: r.diagnostics } : { diagnostics: r.diagnostics };
}

/**
 * `keepalived -t`'s exit codes (keepalived 2.2.7 lib/parser.h and core/main.c): 0 nothing to report; 4
 * (KEEPALIVED_EXIT_CONFIG) it cannot run the file at all (here: the file cannot be read); 5
 * (KEEPALIVED_EXIT_CONFIG_TEST) errors or warnings, though keepalived would still run; 6
 * (KEEPALIVED_EXIT_CONFIG_TEST_SECURITY) scripts would run as root without enable_script_security. keepalived
 * keeps the highest of these, so 6 wins over 5 over 4. (3, KEEPALIVED_EXIT_FATAL, is not a config-test answer.)
 */
export type KeepalivedCheckExit = 0 | 4 | 5 | 6;

export function checkKeepalivedConf(
  file: string,
  opts: KeepalivedCheckOptions = {},
): { exitCode: KeepalivedCheckExit; diagnostics: Diagnostic[] } {
  const r = read(file, opts);
  const { ctx } = r;
  if (r.config?.global.enableScriptSecurity)
    checkScripts(ctx, r.config, r.lookup, opts.scriptFs ?? nodeScriptFs);
  if (r.config) checkScriptSwitch(ctx, r.config, r.lookup, opts.identity ?? processIdentity());
  const problems = ctx.diags.some((d) => d.severity !== 'note');
  const exitCode: KeepalivedCheckExit = ctx.security ? 6 : ctx.fatal ? 4 : problems ? 5 : 0;
  return { exitCode, diagnostics: ctx.diags };
}

/** With enable_script_security, keepalived disables each unsafe script ("Disabling track script X due to insecure"). */
function checkScripts(
  ctx: Ctx,
  cfg: KeepalivedConfig,
  lookup: (user: string, group?: string) => RunAs | undefined,
  sfs: ScriptFs,
): void {
  const su = cfg.global.scriptUser;
  const def = (su ? lookup(su.user, su.group) : lookup('keepalived_script')) ?? { uid: 0, gid: 0 };
  const items: {
    cmd: string;
    who: RunAs | undefined;
    pos: { file: string; line: number; col: number };
    what: string;
  }[] = [];
  for (const s of cfg.scripts)
    items.push({
      cmd: s.script,
      who: s.user ? lookup(s.user.user, s.user.group) : def,
      pos: s.pos,
      what: `vrrp_script ${s.name}`,
    });
  for (const i of [...cfg.instances, ...cfg.syncGroups]) {
    for (const cmd of [
      i.notifyMaster,
      i.notifyBackup,
      i.notifyFault,
      i.notify,
      'notifyStop' in i ? i.notifyStop : undefined,
    ]) {
      if (cmd) items.push({ cmd, who: def, pos: i.pos, what: `a notify script of ${i.name}` });
    }
  }
  for (const it of items) {
    if (!it.who) continue;
    const res = checkScriptSecurity(scriptProgram(it.cmd), it.who, sfs);
    if (!res.ok)
      ctx.diags.push({
        severity: 'warning',
        ...it.pos,
        message: `${it.what} (${scriptProgram(it.cmd)}) will not be run: ${res.reason}`,
        hint: 'make the script and every directory above it owned and writable by root only',
      });
  }
}
