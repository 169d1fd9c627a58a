// hadhcp against keepalived 2.2.7 on one segment, in both roles, with preempt and nopreempt.
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from './lib/guard.js';
import { Lab } from './lib/lab.js';
import { startKeepalived } from './lib/peers/servers.js';
import { hasVip, keepalivedConf, segment, startNode, until, vipHolders } from './vrrp-node.js';

const skip = requireRoot({ commands: ['keepalived'] });

const SKEW_90 = 648; // RFC 3768 6.1, priority 90
const MASTER_DOWN_90 = 3648;
const SLACK = 700;
const only = async (lab: Lab, ns: string): Promise<boolean> =>
  (await vipHolders(lab, ['r1', 'r2'])).join() === ns;

describe.skipIf(skip)('hadhcp with keepalived', () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.cleanup();
  });

  it('hadhcp higher: keepalived stays backup, takes over on graceful stop, yields on return (preempt)', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const h = await startNode(lab, 'r1', { priority: 100 });
    await h.proc.waitForLine(/Entering MASTER STATE/, 8000);
    const k = await startKeepalived(lab, 'r2', { conf: keepalivedConf({ priority: 90 }) });
    await new Promise((r) => setTimeout(r, 4500)); // longer than keepalived's Master_Down_Interval
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r1']);
    expect(k.output()).not.toMatch(/Entering MASTER STATE/);
    const t0 = Date.now();
    h.proc.kill('SIGTERM');
    await until(async () => only(lab, 'r2'), 5000, 'VIP on keepalived only');
    expect(Date.now() - t0).toBeLessThan(SKEW_90 + SLACK);
    await h.proc.exit;
    const h2 = await startNode(lab, 'r1', { priority: 100 }, 'again');
    await h2.proc.waitForLine(/Entering MASTER STATE/, 8000);
    await until(async () => only(lab, 'r1'), 3000, 'keepalived to release the VIP');
  });

  it('keepalived higher: hadhcp stays backup, takes over within Master_Down_Interval after kill -9', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const k = await startKeepalived(lab, 'r2', { conf: keepalivedConf({ priority: 100 }) });
    await k.waitForLine(/Entering MASTER STATE/, 8000);
    const h = await startNode(lab, 'r1', { priority: 90 });
    await new Promise((r) => setTimeout(r, 4500));
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r2']);
    expect(h.proc.output()).not.toMatch(/Entering MASTER STATE/);
    const t0 = Date.now();
    k.kill('SIGKILL');
    await until(async () => hasVip(lab, 'r1'), MASTER_DOWN_90 + 3000, 'VIP on hadhcp');
    expect(Date.now() - t0).toBeLessThan(MASTER_DOWN_90 + SLACK);
  });

  it('nopreempt on hadhcp: a higher-priority hadhcp joining a keepalived master stays backup', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const k = await startKeepalived(lab, 'r2', { conf: keepalivedConf({ priority: 90 }) });
    await k.waitForLine(/Entering MASTER STATE/, 8000);
    const h = await startNode(lab, 'r1', { priority: 100, preempt: false });
    await new Promise((r) => setTimeout(r, 5000));
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r2']);
    expect(h.proc.output()).not.toMatch(/Entering MASTER STATE/);
  });

  it('nopreempt on keepalived: a higher-priority keepalived joining a hadhcp master stays backup', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const h = await startNode(lab, 'r1', { priority: 90 });
    await h.proc.waitForLine(/Entering MASTER STATE/, 8000);
    const k = await startKeepalived(lab, 'r2', { conf: keepalivedConf({ priority: 100, preempt: false }) });
    await new Promise((r) => setTimeout(r, 5000));
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r1']);
    expect(k.output()).not.toMatch(/Entering MASTER STATE/);
  });
});
