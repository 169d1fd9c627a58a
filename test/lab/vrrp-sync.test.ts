// vrrp_sync_group through the real daemon: a gateway's LAN and WAN instances move together, so the two routers never
// split one gateway's addresses between them.
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from './lib/guard.js';
import { Lab } from './lib/lab.js';
import {
  messages,
  nodeStatus,
  segment,
  startNode,
  until,
  VIP,
  vipHolders,
  type InstanceOpts,
} from './vrrp-node.js';

const skip = requireRoot();
const WAN_VIP = '10.88.0.10';

const gateway = (
  priority: number,
): { instances: InstanceOpts[]; syncGroup: { name: string; instances: string[] } } => ({
  syncGroup: { name: 'G1', instances: ['VI_LAN', 'VI_WAN'] },
  instances: [
    { name: 'VI_LAN', priority, vrid: 51 },
    { name: 'VI_WAN', priority, vrid: 52, iface: 'eth1', vip: WAN_VIP },
  ],
});

describe.skipIf(skip)('VRRP sync group', () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.cleanup();
  });

  it('the WAN side failing on the master takes its LAN side along: both VIPs move, and come back together', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const wan = await lab.addBridge(undefined, 'sw1');
    for (const [i, r] of ['r1', 'r2'].entries()) {
      await lab.link(r, 'eth1', wan);
      await lab.addr(r, 'eth1', `10.88.0.${i + 2}/24`);
    }
    // vipHolders looks on eth0; the WAN VIP lives on eth1.
    const wanHolders = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const ns of ['r1', 'r2']) if ((await lab.ipv4(ns, 'eth1')).includes(`${WAN_VIP}/24`)) out.push(ns);
      return out;
    };
    const a = await startNode(lab, 'r1', gateway(100));
    await startNode(lab, 'r2', gateway(90));
    await until(
      async () =>
        (await vipHolders(lab, ['r1', 'r2'])).join() === 'r1' && (await wanHolders()).join() === 'r1',
      8000,
      'both VIPs on r1',
    );
    await lab.down('r1', 'eth1');
    await until(
      async () =>
        (await vipHolders(lab, ['r1', 'r2'])).join() === 'r2' && (await wanHolders()).join() === 'r2',
      5000,
      'both VIPs on r2',
    );
    const st = await nodeStatus(a);
    expect(st.map((s) => [s.name, s.state])).toEqual([
      ['VI_LAN', 'FAULT'],
      ['VI_WAN', 'FAULT'],
    ]);
    expect((st[0]!.lastTransition as { reason: string }).reason).toBe('sync group G1: VI_WAN is FAULT');
    expect(messages(a)).toContain('VRRP_Group(G1) Syncing instances to FAULT state');
    await lab.up('r1', 'eth1');
    await until(
      async () =>
        (await vipHolders(lab, ['r1', 'r2'])).join() === 'r1' && (await wanHolders()).join() === 'r1',
      8000,
      'both VIPs back on r1',
    );
  });
});
