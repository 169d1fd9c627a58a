import { describe, expect, it } from 'vitest';
import { hadhcpStarter, relayTopology, requireRoot, runClient, useLab } from './lib/index.js';

const skip = requireRoot({ commands: ['dhcrelay', 'udhcpc'] });

describe.skipIf(skip)('smoke', () => {
  const lab = useLab();
  it('udhcpc gets a lease through dhcrelay from hadhcp', async () => {
    const topo = await relayTopology(lab(), {
      server: hadhcpStarter({ extraArgs: ['--log-level', 'debug'] }),
      clients: 1,
    });
    const c = topo.clients[0]!;
    try {
      const lease = await runClient('udhcpc', lab(), c.ns, c.ifName);
      expect(lease.address).toMatch(/^10\.1\.0\./);
    } finally {
      console.log(topo.servers[0]!.proc.tail());
    }
  });
});
