// In-memory io for the service's tests (not exported from the package): interfaces and addresses, sockets, scripts.
import { EventEmitter } from 'node:events';
import { vi } from 'vitest';
import { parseIp4, type Ip4 } from '@hadhcp/common';
import type { KeepalivedConfig, VrrpInstanceConfig } from '../src/core/config.js';
import { encodeAdvert, passwordAuthData, type Advert } from '../src/wire/advert.js';
import type { AddressInfo, AddressPort, AddressSpec, LinkInfo, NetEvent } from '../src/io/addresses.js';
import type { ScriptResult, ScriptRunner, ScriptUser } from '../src/io/exec.js';
import type { VrrpPacketIn, VrrpSocketOptions, VrrpTransport } from '../src/io/vrrp-socket.js';
import { VrrpService, type VrrpServiceDeps } from '../src/service/service.js';
import { config as coreInstanceConfig } from './core-fixtures.js';

export const ip = (s: string): Ip4 => parseIp4(s)!;
export const pos = { file: 't', line: 1, col: 1 };
export const VIP = ip('10.0.0.10');

export const link = (name: string, index: number, up = true): LinkInfo => ({
  index,
  name,
  up,
  running: up,
  mac: new Uint8Array([2, 0, 0, 0, 0, index]),
});

export class FakeAddresses extends EventEmitter implements AddressPort {
  readonly ops: string[] = [];
  constructor(
    public addrs: AddressInfo[],
    public linkList: LinkInfo[] = [link('eth0', 2)],
  ) {
    super();
  }
  async links(): Promise<LinkInfo[]> {
    return this.linkList;
  }
  async list(): Promise<AddressInfo[]> {
    return this.addrs;
  }
  /** Addresses an add() finds already there (EEXIST: add() returns false). */
  readonly present = new Set<Ip4>();
  async add(s: AddressSpec): Promise<boolean> {
    this.ops.push(`add ${s.address}`);
    return !this.present.has(s.address);
  }
  async remove(s: AddressSpec): Promise<boolean> {
    this.ops.push(`remove ${s.address}`);
    return true;
  }
  override on(event: 'event', l: (e: NetEvent) => void): this {
    return super.on(event, l);
  }
  /** What netlink would report. */
  event(e: NetEvent): void {
    this.emit('event', e);
  }
  close(): void {}
}

export class FakeSocket extends EventEmitter implements VrrpTransport {
  readonly sent: { payload: Uint8Array; dst: Ip4; src: Ip4 | undefined }[] = [];
  primaryIp: Ip4;
  closed = false;
  constructor(
    readonly iface: string,
    opts?: VrrpSocketOptions,
  ) {
    super();
    this.primaryIp = opts?.primaryIp ?? 0;
  }
  setPrimary(ip: Ip4): void {
    this.primaryIp = ip;
  }
  async send(payload: Uint8Array, dst: Ip4, src?: Ip4): Promise<void> {
    this.sent.push({ payload, dst, src });
  }
  /** A datagram from the wire. */
  receive(a: Partial<Advert> & { vrid?: number }, srcIp: string, ttl = 255, version?: number): void {
    const payload = encodeAdvert({
      vrid: 51,
      priority: 100,
      authType: 1,
      advertInt: 1,
      addresses: [VIP],
      authData: passwordAuthData('secret'),
      ...a,
    });
    if (version !== undefined) payload[0] = (version << 4) | 1;
    const p: VrrpPacketIn = { iface: this.iface, srcIp: ip(srcIp), dstIp: ip('224.0.0.18'), ttl, payload };
    this.emit('packet', p);
  }
  close(): void {
    this.closed = true;
  }
}

export interface ScriptCall {
  command: string;
  args: string[];
  user: ScriptUser | undefined;
}

/** Records every script run; `result` decides each one's exit code, `delayMs` how long it takes. */
export class FakeScripts implements ScriptRunner {
  readonly log: string[] = [];
  readonly calls: ScriptCall[] = [];
  result: (command: string) => number = () => 0;
  delayMs: (command: string, n: number) => number = () => 1;
  async run(
    command: string,
    args: string[],
    opts: { user?: ScriptUser; timeoutMs?: number },
  ): Promise<ScriptResult> {
    this.calls.push({ command, args, user: opts.user });
    this.log.push(`start ${command} ${args.join(' ')}`.trim());
    const delay = this.delayMs(command, this.calls.length);
    // Like ShellScriptRunner: a script outliving its timeout is killed.
    const timedOut = opts.timeoutMs !== undefined && delay > opts.timeoutMs;
    await new Promise((r) => setTimeout(r, timedOut ? opts.timeoutMs : delay));
    this.log.push(`end ${command}`);
    return timedOut
      ? { code: undefined, signal: 'SIGKILL', timedOut: true }
      : { code: this.result(command), signal: undefined, timedOut: false };
  }
}

/** The core fixtures' instance, with the password and VIP the service tests' packets use. */
export function instanceConfig(over: Partial<VrrpInstanceConfig> = {}): VrrpInstanceConfig {
  return coreInstanceConfig({
    auth: { type: 'PASS', pass: 'secret' },
    virtualAddresses: [{ address: VIP, prefix: 24, pos }],
    pos,
    ...over,
  });
}

export function config(
  over: Partial<VrrpInstanceConfig> = {},
  rest: Partial<KeepalivedConfig> = {},
): KeepalivedConfig {
  return {
    global: {
      enableScriptSecurity: false,
      garpMasterDelay: 5,
      garpMasterRepeat: 5,
      garpMasterRefresh: 0,
      garpMasterRefreshRepeat: 1,
      ignored: [],
    },
    scripts: [],
    syncGroups: [],
    files: [],
    instances: [instanceConfig(over)],
    ...rest,
  };
}

export interface Logged {
  level: string;
  msg: string;
}

export function recordingLog(): { log: VrrpServiceDeps['log']; lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: string) => (msg: string) => lines.push({ level, msg });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

export const primary: AddressInfo = {
  ifindex: 2,
  address: ip('10.0.0.2'),
  prefix: 24,
  label: 'eth0',
  secondary: false,
};

export function make(
  cfg: KeepalivedConfig,
  addrs: AddressInfo[] = [primary],
  deps: Partial<VrrpServiceDeps> = {},
  links?: LinkInfo[],
) {
  const addresses = new FakeAddresses(addrs, links);
  const sockets = new Map<string, FakeSocket>();
  const scripts = new FakeScripts();
  const garp = { send: vi.fn(), close: () => {} };
  const logged = recordingLog();
  const svc = new VrrpService(cfg, {
    log: logged.log,
    addresses,
    garp,
    scripts,
    openSocket: (o) => {
      const s = new FakeSocket(o.iface, o);
      sockets.set(o.iface, s);
      return s;
    },
    resolveUser: (u) =>
      u.user === 'nobody'
        ? { uid: 65534, gid: 65534 }
        : u.user === 'root'
          ? { uid: 0, gid: 0 }
          : `unknown user ${u.user}`,
    ...deps,
  });
  const socket = (iface = 'eth0'): FakeSocket => sockets.get(iface)!;
  return { svc, addresses, socket, sockets, scripts, garp, lines: logged.lines };
}

export async function stopped(svc: VrrpService): Promise<void> {
  const p = svc.stop();
  await vi.advanceTimersByTimeAsync(1000);
  await p;
}
