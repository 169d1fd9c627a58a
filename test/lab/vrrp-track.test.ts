// track_interface and vrrp_script move the VIP between two hadhcp nodes.
import { rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from './lib/guard.js';
import { Lab } from './lib/lab.js';
import { hasVip, nodeStatus, segment, startNode, until, vipHolders } from './vrrp-node.js';

const skip = requireRoot();

describe.skipIf(skip)('VRRP trackers', () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.cleanup();
  });

  it('a tracked interface going down puts the master in FAULT and moves the VIP; coming back returns it', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    await lab.must('r1', 'ip', ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p']);
    await lab.up('r1', 'eth1p');
    await lab.up('r1', 'eth1');
    const a = await startNode(lab, 'r1', { priority: 100, trackInterfaces: [{ name: 'eth1' }] });
    await startNode(lab, 'r2', { priority: 90 });
    await until(async () => hasVip(lab, 'r1'), 8000, 'VIP on r1');
    await lab.down('r1', 'eth1');
    await a.proc.waitForLine(/Entering FAULT STATE/, 3000);
    await until(async () => (await vipHolders(lab, ['r1', 'r2'])).join() === 'r2', 5000, 'VIP on r2 only');
    const [st] = await nodeStatus(a);
    expect(st!.state).toBe('FAULT');
    expect(st!.faults).toEqual(['interface:eth1']);
    await lab.up('r1', 'eth1');
    await until(
      async () => (await vipHolders(lab, ['r1', 'r2'])).join() === 'r1',
      8000,
      'VIP back on r1 only',
    );
  });

  it('a failing weighted vrrp_script lowers the priority below the backup, which takes over', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const flag = lab.file('healthy', 'yes');
    const a = await startNode(lab, 'r1', { priority: 100, script: { path: `test -f ${flag}`, weight: -20 } });
    await startNode(lab, 'r2', { priority: 90 });
    await until(async () => hasVip(lab, 'r1'), 8000, 'VIP on r1');
    rmSync(flag);
    await a.proc.waitForLine(/Changing effective priority from 100 to 80/, 3000);
    await until(async () => (await vipHolders(lab, ['r1', 'r2'])).join() === 'r2', 6000, 'VIP on r2 only');
    const [st] = await nodeStatus(a);
    expect(st).toMatchObject({ state: 'BACKUP', effectivePriority: 80 });
    expect(st!.priorityReasons).toEqual(['-20 script:chk_VI_1 failing']);
    writeFileSync(flag, 'yes');
    await until(
      async () => (await vipHolders(lab, ['r1', 'r2'])).join() === 'r1',
      8000,
      'VIP back on r1 only',
    );
  });
});
