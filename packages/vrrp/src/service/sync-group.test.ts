import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AddressInfo } from '../io/addresses.js';
import {
  config,
  instanceConfig,
  ip,
  link,
  make,
  pos,
  primary,
  stopped,
  VIP,
} from '../../test-vectors/service-fakes.js';

// Two instances of one gateway: LAN side on eth0 (VRID 51), WAN side on eth1 (VRID 52), one vrrp_sync_group.
const VIP2 = ip('192.0.2.10');
const eth1Primary: AddressInfo = {
  ifindex: 3,
  address: ip('192.0.2.2'),
  prefix: 24,
  label: 'eth1',
  secondary: false,
};

function gateway(
  over: { lanPriority?: number; wanPriority?: number; lanState?: 'MASTER' | 'BACKUP'; eth1Up?: boolean } = {},
) {
  const cfg = config(
    { priority: over.lanPriority ?? 100, initialState: over.lanState ?? 'BACKUP' },
    {
      syncGroups: [{ name: 'G1', instances: ['VI_1', 'VI_2'], notify: '/etc/ka/group.sh', pos }],
    },
  );
  cfg.instances.push(
    instanceConfig({
      name: 'VI_2',
      interface: 'eth1',
      vrid: 52,
      priority: over.wanPriority ?? 50,
      virtualAddresses: [{ address: VIP2, prefix: 24, pos }],
    }),
  );
  return make(cfg, [primary, eth1Primary], {}, [link('eth0', 2), link('eth1', 3, over.eth1Up ?? true)]);
}

const states = (svc: { status(): { name: string; state: string }[] }) =>
  Object.fromEntries(svc.status().map((s) => [s.name, s.state]));

describe('vrrp_sync_group in the service', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the first member to become MASTER takes the other with it, VIPs of both added; group notify once', async () => {
    const { svc, addresses, scripts } = gateway();
    await svc.start();
    // VI_1 (priority 100): Master_Down 3609 ms; VI_2 (priority 50) alone would wait 3804 ms.
    await vi.advanceTimersByTimeAsync(3610);
    expect(states(svc)).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
    expect(addresses.ops).toEqual([`add ${VIP}`, `add ${VIP2}`]);
    expect(svc.status()[1]!.lastTransition?.reason).toBe('sync group G1: VI_1 is MASTER');
    expect(scripts.calls.map((c) => c.args.join(' '))).toEqual(['GROUP G1 BACKUP', 'GROUP G1 MASTER']);
    await stopped(svc);
  });

  it('one member losing the election takes the other to BACKUP and its VIPs away', async () => {
    const { svc, addresses, socket } = gateway();
    await svc.start();
    await vi.advanceTimersByTimeAsync(3610);
    socket('eth0').receive({ priority: 150 }, '10.0.0.3');
    expect(states(svc)).toEqual({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
    await vi.advanceTimersByTimeAsync(1);
    expect(addresses.ops.slice(2)).toEqual([`remove ${VIP}`, `remove ${VIP2}`]);
    await stopped(svc);
  });

  it('a member whose interface goes down takes the group to FAULT; back up, both return to BACKUP', async () => {
    const { svc, addresses } = gateway();
    await svc.start();
    await vi.advanceTimersByTimeAsync(3610);
    addresses.event({ kind: 'link', op: 'new', link: link('eth1', 3, false) });
    expect(states(svc)).toEqual({ VI_1: 'FAULT', VI_2: 'FAULT' });
    expect(svc.status()[0]!.lastTransition?.reason).toBe('sync group G1: VI_2 is FAULT');
    addresses.event({ kind: 'link', op: 'new', link: link('eth1', 3, true) });
    expect(states(svc)).toEqual({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
    await stopped(svc);
  });

  it('at start, a member already MASTER (state MASTER) takes the group with it', async () => {
    const { svc } = gateway({ lanState: 'MASTER' });
    await svc.start();
    expect(states(svc)).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
    await stopped(svc);
  });

  it('at start, a member whose interface is down holds the whole group in FAULT', async () => {
    const { svc } = gateway({ eth1Up: false });
    await svc.start();
    expect(states(svc)).toEqual({ VI_1: 'FAULT', VI_2: 'FAULT' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(states(svc)).toEqual({ VI_1: 'FAULT', VI_2: 'FAULT' });
    await stopped(svc);
  });
});
