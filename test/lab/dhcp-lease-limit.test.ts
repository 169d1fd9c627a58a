// dhcpd.conf `spawn with` + `lease limit 1` (one lease per cable modem) against the built daemon and real udhcpc
// clients: the limit holds across a restart, as ISC's does from the billing it writes to dhcpd.leases.
import { describe, expect, it } from 'vitest';
import { directTopology, requireRoot, runClient, sampleDhcpdConf, useLab } from './lib/index.js';
import { leaseByIp, logMessages, startHadhcp, stopHadhcp, until } from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['udhcpc'] });
const POOL = /^10\.1\.0\.(5\d|[6-9]\d)$/;
const REFUSED = 'no available billing: lease limit reached in all matching classes (last: cm)';

const CONF = sampleDhcpdConf(`
class "cm" {
  spawn with option vendor-class-identifier;
  lease limit 1;
}
`);

describe.skipIf(skip)('lease limit per spawned class across a restart', () => {
  const lab = useLab();

  it('a second client of a full modem gets nothing, before and after the daemon restarts; another modem does', async () => {
    const topo = await directTopology(lab(), { clients: 3 });
    const [one, two, three] = topo.clients;
    let h = await startHadhcp(lab(), 'srv', { conf: CONF });
    const held = await runClient('udhcpc', lab(), one!.ns, one!.ifName, { vendorClass: 'modem-1' });
    expect(held.address).toMatch(POOL);
    // lease4-get shows the billing in dhcpd.leases' words (the lab's LeaseJson lists only the fields it uses).
    const billing = ((await leaseByIp(h, held.address)) as { billing?: string } | undefined)?.billing;
    expect(billing).toBe('subclass "cm" "modem-1"');
    const refused = (log: () => string[]) =>
      until(
        `"${REFUSED}" for ${two!.mac}`,
        async () =>
          log().some((m) => m.startsWith(`DHCPDISCOVER from ${two!.mac}`) && m.endsWith(REFUSED)) ||
          undefined,
        10_000,
      );
    // udhcpc gives up without a lease (it waits for the OFFER that never comes).
    const noLease = (o: { timeoutMs: number }) =>
      runClient('udhcpc', lab(), two!.ns, two!.ifName, { vendorClass: 'modem-1', ...o }).then(
        (l) => l.address,
        () => 'none',
      );
    const before = noLease({ timeoutMs: 6000 });
    await refused(() => logMessages(h));
    expect(await before).toBe('none');

    await stopHadhcp(h);
    h = await startHadhcp(lab(), 'srv', { conf: CONF });
    const after = noLease({ timeoutMs: 6000 });
    await refused(() => logMessages(h));
    expect(await after).toBe('none');
    const other = await runClient('udhcpc', lab(), three!.ns, three!.ifName, { vendorClass: 'modem-2' });
    expect(other.address).toMatch(POOL);
    expect(other.address).not.toBe(held.address);
    await stopHadhcp(h);
  });
});
