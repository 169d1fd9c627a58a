// A router serving DHCP also forwards its clients' traffic. A DHCP unicast it merely forwards to another server is
// not addressed to it and must not be answered (an authoritative server would NAK a renewal meant for someone
// else); the same packet sent to the router's own address is answered.
import { describe, expect, it } from 'vitest';
import {
  bootRequest,
  enableForwarding,
  logMessages,
  sendDatagrams,
  startHadhcp,
  stats,
  until,
  sleep,
} from './lib/dhcp-helpers.js';
import { directTopology, requireRoot, sampleDhcpdConf, useLab } from './lib/index.js';

const skip = requireRoot({ commands: ['ip', 'sysctl'] });
const MAC = '02:00:00:00:0f:0f';

describe.skipIf(skip)('DHCP traffic the router only forwards', () => {
  const lab = useLab();

  it('answers a renewal sent to its own address, not one it forwards to another server', async () => {
    const topo = await directTopology(lab(), { clients: 1 });
    const c = topo.clients[0]!;
    await enableForwarding(lab(), 'srv');
    await lab().addr(c.ns, c.ifName, '10.1.0.200/24');
    await lab().must(c.ns, 'ip', ['route', 'add', 'default', 'via', '10.1.0.1']);
    const h = await startHadhcp(lab(), 'srv', { conf: sampleDhcpdConf() });
    // RENEWING (RFC 2131 4.3.2): ciaddr set, DHCPREQUEST, unicast.
    const renew = bootRequest({ ciaddr: '10.1.0.200', chaddr: MAC, options: [53, 1, 3, 255] });

    const before = (await stats(h))['packets-received'] ?? 0;
    await sendDatagrams(lab(), c.ns, '10.9.9.9', 67, [renew]);
    await sleep(1000);
    expect(logMessages(h).filter((m) => m.includes(MAC))).toEqual([]);
    expect((await stats(h))['packets-received'] ?? 0).toBe(before);

    // The control: the same packet to the router's own address is handled.
    await sendDatagrams(lab(), c.ns, '10.1.0.1', 67, [renew]);
    await until('the renewal to our own address logged', async () =>
      logMessages(h).some((m) => m.startsWith('DHCPREQUEST for 10.1.0.200') && m.includes(MAC))
        ? true
        : undefined,
    );
  });
});
