import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseIp4, type Ip4 } from '@hadhcp/common';
import type { KeepalivedConfig, VrrpInstanceConfig } from '../core/config.js';
import { encodeAdvert, passwordAuthData } from '../wire/advert.js';
import type { AddressInfo, AddressPort, AddressSpec, LinkInfo, NetEvent } from '../io/addresses.js';
import type { ScriptResult, ScriptRunner } from '../io/exec.js';
import type { VrrpPacketIn, VrrpTransport } from '../io/vrrp-socket.js';
import { VrrpService } from './service.js';

const ip = (s: string): Ip4 => parseIp4(s)!;
const pos = { file: 't', line: 1, col: 1 };
const VIP = ip('10.0.0.10');

class FakeAddresses extends EventEmitter implements AddressPort {
  readonly ops: string[] = [];
  constructor(public addrs: AddressInfo[]) {
    super();
  }
  async links(): Promise<LinkInfo[]> {
    return [{ index: 2, name: 'eth0', up: true, running: true, mac: new Uint8Array(6) }];
  }
  async list(): Promise<AddressInfo[]> {
    return this.addrs;
  }
  async add(s: AddressSpec): Promise<boolean> {
    this.ops.push(`add ${s.address}`);
    return true;
  }
  async remove(s: AddressSpec): Promise<boolean> {
    this.ops.push(`remove ${s.address}`);
    return true;
  }
  override on(event: 'event', l: (e: NetEvent) => void): this {
    return super.on(event, l);
  }
  close(): void {}
}

class FakeSocket extends EventEmitter implements VrrpTransport {
  readonly iface = 'eth0';
  readonly sent: Uint8Array[] = [];
  async send(payload: Uint8Array): Promise<void> {
    this.sent.push(payload);
  }
  close(): void {}
}

class FakeScripts implements ScriptRunner {
  readonly log: string[] = [];
  async run(command: string, args: string[]): Promise<ScriptResult> {
    this.log.push(`start ${command} ${args.join(' ')}`.trim());
    // The first (MASTER) notify is slow: a later one must still wait for it.
    await new Promise((r) => setTimeout(r, this.log.length === 1 ? 500 : 1));
    this.log.push(`end ${command}`);
    return { code: 0, signal: undefined, timedOut: false };
  }
}

function config(over: Partial<VrrpInstanceConfig> = {}): KeepalivedConfig {
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
    instances: [
      {
        name: 'VI_1',
        initialState: 'BACKUP',
        interface: 'eth0',
        vrid: 51,
        priority: 100,
        advertInt: 1,
        auth: { type: 'PASS', pass: 'secret' },
        virtualAddresses: [{ address: VIP, prefix: 24, pos }],
        virtualAddressesExcluded: [],
        preempt: true,
        preemptDelay: 0,
        unicastPeers: [],
        trackInterfaces: [],
        trackScripts: [],
        pos,
        ...over,
      },
    ],
  };
}

const silent = { info: () => {}, warn: () => {}, error: () => {} };
const primary: AddressInfo = {
  ifindex: 2,
  address: ip('10.0.0.2'),
  prefix: 24,
  label: 'eth0',
  secondary: false,
};

function make(cfg: KeepalivedConfig, addrs: AddressInfo[] = [primary]) {
  const addresses = new FakeAddresses(addrs);
  const socket = new FakeSocket();
  const scripts = new FakeScripts();
  const garp = { send: vi.fn(), close: () => {} };
  const svc = new VrrpService(cfg, { log: silent, addresses, garp, scripts, openSocket: () => socket });
  return { svc, addresses, socket, scripts, garp };
}

async function stopped(svc: VrrpService): Promise<void> {
  const p = svc.stop();
  await vi.advanceTimersByTimeAsync(1000);
  await p;
}

describe('VrrpService', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('removes a VIP left on the interface before electing, and re-adds it only as master', async () => {
    const leftover: AddressInfo = { ifindex: 2, address: VIP, prefix: 24, label: undefined, secondary: true };
    const { svc, addresses } = make(config(), [primary, leftover]);
    await svc.start();
    expect(addresses.ops).toEqual([`remove ${VIP}`]);
    expect(svc.status()[0]!.state).toBe('BACKUP');
    // No master heard: Master_Down_Interval (3 s + Skew(100) = 609 ms) later it takes over.
    await vi.advanceTimersByTimeAsync(3608);
    expect(svc.status()[0]!.state).toBe('BACKUP');
    await vi.advanceTimersByTimeAsync(2);
    expect(svc.status()[0]!.state).toBe('MASTER');
    expect(addresses.ops).toEqual([`remove ${VIP}`, `add ${VIP}`]);
    await stopped(svc);
  });

  it('runs notify scripts one at a time in transition order, and stop() sends priority 0 and removes the VIP', async () => {
    const { svc, scripts, socket, addresses } = make(config({ initialState: 'MASTER', notify: '/bin/n' }));
    const states: string[] = [];
    svc.on('state', (c) => states.push(c.to));
    await svc.start();
    expect(states).toEqual(['BACKUP', 'MASTER']);
    const stopping = svc.stop();
    await vi.advanceTimersByTimeAsync(1000);
    await stopping;
    const starts = scripts.log.filter((l) => l.startsWith('start'));
    expect(starts.at(-1)).toBe('start /bin/n INSTANCE VI_1 STOP 100');
    // Never two at once: every start is followed by its own end.
    for (let i = 0; i < scripts.log.length; i += 2) expect(scripts.log[i + 1]).toMatch(/^end /);
    const last = socket.sent.at(-1)!;
    expect(last[2]).toBe(0); // priority byte of the final advert
    expect(addresses.ops.at(-1)).toBe(`remove ${VIP}`);
  });

  it('counts an advert for a VRID not configured here and does not act on it', async () => {
    const { svc, socket } = make(config());
    await svc.start();
    const advert = encodeAdvert({
      vrid: 52,
      priority: 254,
      authType: 1,
      advertInt: 1,
      addresses: [VIP],
      authData: passwordAuthData('secret'),
    });
    const pkt: VrrpPacketIn = {
      iface: 'eth0',
      srcIp: ip('10.0.0.9'),
      dstIp: ip('224.0.0.18'),
      ttl: 255,
      payload: advert,
    };
    socket.emit('packet', pkt);
    expect(svc.status()[0]!.drops).toEqual({ 'vrid-not-configured': 1 });
    expect(svc.status()[0]!.advertsReceived).toBe(0);
    await stopped(svc);
  });

  it('applies the external weight to the effective priority and says why', async () => {
    const { svc } = make(config({ priority: 100 }));
    await svc.start();
    svc.setExternalWeight('VI_1', -30, 'dhcp unhealthy');
    expect(svc.status()[0]).toMatchObject({
      effectivePriority: 70,
      priorityReasons: ['-30 external: dhcp unhealthy failing'],
    });
    svc.setExternalWeight('VI_1', 0, 'dhcp healthy');
    expect(svc.status()[0]).toMatchObject({ effectivePriority: 100, priorityReasons: [] });
    await stopped(svc);
  });
});
