// unicast_src_ip / unicast_peer against keepalived 2.2.7: no multicast on the wire, and no TTL check (keepalived's
// peer sends with unicast_ttl 64, as through a routed hop, and hadhcp still hears it).
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from './lib/guard.js';
import { Lab } from './lib/lab.js';
import { startKeepalived } from './lib/peers/servers.js';
import { keepalivedConf, nodeStatus, segment, startNode, until, vipHolders } from './vrrp-node.js';

const skip = requireRoot({ commands: ['keepalived', 'tcpdump'] });

const SKEW_90 = 648; // RFC 3768 6.1, priority 90
const SLACK = 700;
const H = { src: '10.77.0.2', peers: ['10.77.0.3'] };
const K = { src: '10.77.0.3', peers: ['10.77.0.2'] };

describe.skipIf(skip)('unicast VRRP with keepalived', () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.cleanup();
  });

  it('elects, fails over on graceful stop and follows a TTL-64 master, all by unicast', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const dump = lab.spawn('sw', 'tcpdump', ['-l', '-n', '-v', '-i', 'sw0', 'ip proto 112']);
    await dump.waitForLine(/listening on/, 10_000);

    const h = await startNode(lab, 'r1', { priority: 100, unicast: H });
    await h.proc.waitForLine(/Entering MASTER STATE/, 8000);
    const k = await startKeepalived(lab, 'r2', {
      conf: keepalivedConf({ priority: 90, unicast: K, extra: ['unicast_ttl 64'] }),
    });
    await new Promise((r) => setTimeout(r, 4500)); // longer than keepalived's Master_Down_Interval
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r1']);
    expect(k.output()).not.toMatch(/Entering MASTER STATE/);

    const t0 = Date.now();
    h.proc.kill('SIGTERM');
    await until(
      async () => (await vipHolders(lab, ['r1', 'r2'])).join() === 'r2',
      5000,
      'VIP on keepalived only',
    );
    expect(Date.now() - t0).toBeLessThan(SKEW_90 + SLACK);
    await h.proc.exit;

    // A lower-priority hadhcp stays backup only if it accepts keepalived's TTL-64 adverts.
    const h2 = await startNode(lab, 'r1', { priority: 80, unicast: H }, 'again');
    await new Promise((r) => setTimeout(r, 5000));
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r2']);
    const [st] = await nodeStatus(h2);
    expect(st).toMatchObject({ state: 'BACKUP', masterAddress: '10.77.0.3' });
    expect(st!.advertsReceived as number).toBeGreaterThanOrEqual(3);
    expect(st!.drops).toEqual({});

    dump.kill('SIGINT');
    await dump.exit;
    const wire = dump.output();
    expect(wire).not.toMatch(/224\.0\.0\.18/);
    expect(wire).toMatch(/10\.77\.0\.2 > 10\.77\.0\.3: VRRPv2/);
    expect(wire).toMatch(/10\.77\.0\.3 > 10\.77\.0\.2: VRRPv2/);
    expect(wire).toMatch(/tos 0xc0, ttl 64,/); // keepalived's
    expect(wire).toMatch(/tos 0xc0, ttl 255,.*\n\s+10\.77\.0\.2 > 10\.77\.0\.3/); // ours, alike
  });
});
