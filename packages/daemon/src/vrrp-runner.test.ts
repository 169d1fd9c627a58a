import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Ip4 } from '@hadhcp/common';
import type { KeepalivedConfig } from '@hadhcp/vrrp';
import { config, VIP } from '../../vrrp/test-vectors/service-fakes.js';
import { sameVrrpConfig, VrrpRunner, type VrrpServiceLike } from './vrrp-runner.js';
import type { Logger } from './logger.js';

const pos = (line: number) => ({ file: '/etc/hadhcp/keepalived.conf', line, col: 1 });
/** The same instance with its statements at other lines of the file. */
function conf(priority: number, line: number): KeepalivedConfig {
  return config(
    { priority, pos: pos(line), virtualAddresses: [{ address: VIP, prefix: 24, pos: pos(line + 3) }] },
    { files: ['/etc/hadhcp/keepalived.conf'] },
  );
}

describe('reload of keepalived.conf', () => {
  it('treats a file that only moved statements around as unchanged (no election on SIGHUP)', () => {
    expect(sameVrrpConfig(conf(150, 1), conf(150, 9))).toBe(true);
  });
  it('sees a changed priority as a change', () => {
    expect(sameVrrpConfig(conf(150, 1), conf(100, 1))).toBe(false);
  });
});

/** Records what the runner does to its services; stop() takes a while, as the real one does. */
class FakeService extends EventEmitter {
  running = false;
  weights: string[] = [];
  constructor(
    readonly priority: number,
    private readonly trace: string[],
  ) {
    super();
  }
  async start(): Promise<void> {
    this.trace.push(`start ${this.priority} [${this.weights.join(',')}]`);
    this.running = true;
    // Like VrrpService.start() on a configuration naming an interface that is gone: half started, then a throw.
    if (this.priority === 13) throw new Error('(VI_1) interface eth9 does not exist');
  }
  async stop(): Promise<void> {
    this.trace.push(`stopping ${this.priority}`);
    await new Promise((r) => setTimeout(r, 20));
    this.running = false;
    this.trace.push(`stopped ${this.priority}`);
  }
  status() {
    return [];
  }
  setExternalWeightAll(weight: number, reason: string): void {
    this.weights.push(`${weight} ${reason}`);
  }
  peerGone(reason: string): void {
    this.trace.push(`peer gone ${reason}`);
  }
}

function runner() {
  const trace: string[] = [];
  const services: FakeService[] = [];
  const at = (level: string) => (msg: string) => trace.push(`${level}: ${msg}`);
  const log = { info: () => {}, warn: at('warn'), error: at('error'), debug: () => {} } as unknown as Logger;
  const r = new VrrpRunner(conf(150, 1), log, (c) => {
    const s = new FakeService(c.instances[0]!.priority, trace);
    services.push(s);
    return s as unknown as VrrpServiceLike;
  });
  return { r, trace, services };
}

describe('VrrpRunner', () => {
  it('a service created on reconfigure starts with the supervisor weight already applied', async () => {
    const { r, trace } = runner();
    await r.start();
    r.setExternalWeight(-253, 'dhcp unhealthy');
    await r.reconfigure(conf(100, 1));
    expect(trace.at(-1)).toBe('start 100 [-253 dhcp unhealthy]');
    r.setExternalWeight(0, 'dhcp healthy');
    await r.reconfigure(conf(120, 1));
    expect(trace.at(-1)).toBe('start 120 []');
    await r.stop();
  });

  it("tells the VIPs held from the service's vips events (after the netlink add), not from its state events", async () => {
    const { r, services } = runner();
    const told: Ip4[][] = [];
    r.onMaster((vips) => told.push(vips));
    await r.start();
    const s = services[0]!;
    // The transition alone: the VIP may not be on the interface yet.
    s.emit('state', { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', at: 0, reason: 't', vips: [VIP] });
    expect(told).toEqual([]);
    s.emit('vips', { instance: 'VI_1', vips: [VIP] });
    s.emit('vips', { instance: 'VI_2', vips: [VIP + 1] });
    s.emit('vips', { instance: 'VI_1', vips: [] });
    expect(told).toEqual([[VIP], [VIP, VIP + 1], [VIP + 1]]);
    await r.stop();
  });

  it('passes the death notice on to the service', async () => {
    const { r, trace } = runner();
    await r.start();
    r.peerGone('failover link to 10.0.0.3 closed');
    expect(trace.at(-1)).toBe('peer gone failover link to 10.0.0.3 closed');
    await r.stop();
  });

  it('two quick reloads run one after the other and leave one service running', async () => {
    const { r, trace, services } = runner();
    await r.start();
    const a = r.reconfigure(conf(100, 1));
    const b = r.reconfigure(conf(120, 1));
    await Promise.all([a, b]);
    expect(trace).toEqual([
      'start 150 []',
      'stopping 150',
      'stopped 150',
      'start 100 []',
      'stopping 100',
      'stopped 100',
      'start 120 []',
    ]);
    expect(services.filter((s) => s.running)).toHaveLength(1);
    await r.stop();
    expect(services.filter((s) => s.running)).toHaveLength(0);
  });

  it('a reload whose configuration cannot start (run-time sockets, interfaces) goes back to the running one, without throwing', async () => {
    const { r, trace, services } = runner();
    await r.start();
    await expect(r.reconfigure(conf(13, 1))).resolves.toBe(false);
    expect(trace).toEqual([
      'start 150 []',
      'stopping 150',
      'stopped 150',
      'start 13 []',
      'error: VRRP cannot start with this keepalived configuration: (VI_1) interface eth9 does not exist',
      'stopping 13',
      'stopped 13',
      'warn: VRRP: starting the previous keepalived configuration again',
      'start 150 []',
    ]);
    expect(services.filter((s) => s.running).map((s) => s.priority)).toEqual([150]);
    // What runs is the old configuration again: reloading that one changes nothing.
    await expect(r.reconfigure(conf(150, 5))).resolves.toBe(false);
    expect(trace).toHaveLength(9);
    await r.stop();
  });
});
