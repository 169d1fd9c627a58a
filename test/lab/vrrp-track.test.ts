// track_interface, vrrp_script and the VRRP interface itself (link and primary address, followed through netlink)
// move or keep the VIP between two hadhcp nodes.
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

  it('the VRRP interface going down: FAULT and the VIP moves; back up: BACKUP, election, the VIP returns', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const a = await startNode(lab, 'r1', { priority: 100 });
    await startNode(lab, 'r2', { priority: 90 });
    await until(async () => hasVip(lab, 'r1'), 8000, 'VIP on r1');
    await lab.down('r1', 'eth0');
    await a.proc.waitForLine(/Entering FAULT STATE/, 3000);
    await until(async () => hasVip(lab, 'r2'), 5000, 'VIP on r2');
    expect(await hasVip(lab, 'r1')).toBe(false);
    const [st] = await nodeStatus(a);
    expect(st).toMatchObject({ state: 'FAULT', faults: ['interface:eth0'] });
    await lab.up('r1', 'eth0');
    await until(async () => (await nodeStatus(a))[0]!.state === 'BACKUP', 3000, 'r1 back in BACKUP');
    // r1 (100) discards r2's lower adverts and takes over when its Master_Down timer runs out.
    await until(
      async () => (await vipHolders(lab, ['r1', 'r2'])).join() === 'r1',
      8000,
      'VIP back on r1 only',
    );
  });

  it('a new primary address on the master: adverts leave from it, the backup sees it, nothing flaps', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const a = await startNode(lab, 'r1', { priority: 100 });
    const b = await startNode(lab, 'r2', { priority: 90 });
    await until(async () => hasVip(lab, 'r1'), 8000, 'VIP on r1');
    await until(async () => (await nodeStatus(b))[0]!.masterAddress === '10.77.0.2', 3000, 'r2 to see r1');
    // Renumber r1: the kernel promotes a secondary when the primary goes (here the VIP, added first).
    await lab.must('r1', 'sysctl', ['-qw', 'net.ipv4.conf.eth0.promote_secondaries=1']);
    await lab.addr('r1', 'eth0', '10.77.0.20/24');
    await lab.must('r1', 'ip', ['addr', 'del', '10.77.0.2/24', 'dev', 'eth0']);
    await a.proc.waitForLine(/eth0 primary address now 10\.77\.0\.20/, 3000);
    expect((await nodeStatus(a))[0]).toMatchObject({ state: 'MASTER', ownAddress: '10.77.0.20' });
    await until(
      async () => (await nodeStatus(b))[0]!.masterAddress === '10.77.0.20',
      3000,
      'adverts from .20',
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r1']);
    expect(b.proc.output()).not.toMatch(/Entering MASTER STATE/);
    expect((await nodeStatus(b))[0]).toMatchObject({ state: 'BACKUP', masterAddress: '10.77.0.20' });
  });
});
