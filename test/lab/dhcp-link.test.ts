// A directly attached segment whose link goes down and comes back: the daemon keeps running (libpcap used to
// abort the process here) and serves the segment again once the link is back.
import { describe, expect, it } from 'vitest';
import { controlRequest } from '../../packages/control/src/index.js';
import {
  directTopology,
  hadhcpStarter,
  requireRoot,
  runClient,
  startCapture,
  stopCapture,
  useLab,
} from './lib/index.js';
import { tshark } from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['udhcpc', 'tcpdump', 'tshark'] });

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

describe.skipIf(skip)('direct segment whose MAC changes', () => {
  const lab = useLab();

  it("answers from the interface's new MAC after it changes (raw frames follow the interface)", async () => {
    const topo = await directTopology(lab(), { server: hadhcpStarter(), clients: 2 });
    const srv = topo.server!;
    const c1 = topo.clients[0]!;
    expect((await runClient('udhcpc', lab(), c1.ns, c1.ifName)).address).toMatch(/^10\.1\.0\./);

    const NEW_MAC = '02:00:5e:10:aa:01';
    await lab().must('srv', 'ip', ['link', 'set', 'dev', 'eth0', 'address', NEW_MAC]);
    await new Promise((r) => setTimeout(r, 2500)); // the daemon looks at its interfaces every 2 s

    const pcap = lab().file('mac-change.pcap');
    const cap = await startCapture(lab(), 'srv', 'eth0', pcap, ['udp', 'port', '67', 'or', 'port', '68']);
    const c2 = topo.clients[1]!;
    expect((await runClient('udhcpc', lab(), c2.ns, c2.ifName)).address).toMatch(/^10\.1\.0\./);
    await stopCapture(cap);
    const replies = await tshark(lab(), pcap, 'udp.srcport == 67 && dhcp', ['dhcp.option.dhcp', 'eth.src']);
    expect(replies.map((r) => r[0]).sort()).toEqual(['2', '5']);
    for (const r of replies) expect(r[1]).toBe(NEW_MAC);
    expect(srv.proc.output()).toMatch(/eth0: hardware address changed to 02:00:5e:10:aa:01/);
  });
});
