// A directly attached segment whose link goes down and comes back: the daemon keeps running (libpcap used to
// abort the process here) and serves the segment again once the link is back.
import { describe, expect, it } from 'vitest';
import { controlRequest } from '../../packages/control/src/index.js';
import { directTopology, hadhcpStarter, requireRoot, runClient, useLab } from './lib/index.js';

const skip = requireRoot({ commands: ['udhcpc'] });

describe.skipIf(skip)('direct segment link down and up', () => {
  const lab = useLab();

  it('survives the link going down and serves direct clients again when it is back', async () => {
    const topo = await directTopology(lab(), { server: hadhcpStarter(), clients: 2 });
    const srv = topo.server!;
    const c1 = topo.clients[0]!;
    expect((await runClient('udhcpc', lab(), c1.ns, c1.ifName)).address).toMatch(/^10\.1\.0\./);

    await lab().down('srv', 'eth0');
    await new Promise((r) => setTimeout(r, 1500));
    expect(srv.proc.running).toBe(true);
    expect((await controlRequest(srv.socketPath, 'status-get')).result).toBe(0);
    await lab().up('srv', 'eth0');
    // The address comes back with the link (kernel keeps it); give the bridge port a moment to forward.
    await new Promise((r) => setTimeout(r, 500));

    const c2 = topo.clients[1]!;
    const l2 = await runClient('udhcpc', lab(), c2.ns, c2.ifName);
    expect(l2.address).toMatch(/^10\.1\.0\./);
    expect(srv.proc.running).toBe(true);
  });
});
