// dhcpd.conf `on commit { execute(...); }` against the built daemon and a real udhcpc: with --enable-execute the
// command runs once the lease is on disk, with the argument expressions' values; without it, it does not run.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { directTopology, requireRoot, runClient, sampleDhcpdConf, useLab } from './lib/index.js';
import { startHadhcp, stopHadhcp, until } from './lib/dhcp-helpers.js';

const skip = requireRoot({ commands: ['udhcpc'] });

describe.skipIf(skip)('execute() in on commit', () => {
  const lab = useLab();

  it('runs with --enable-execute (argv from the expressions, no shell) and not without it', async () => {
    const topo = await directTopology(lab(), { clients: 2 });
    const out = lab().file('commits.txt');
    const conf = sampleDhcpdConf(`
on commit {
  execute("/bin/sh", "-c", "printf '%s %s\\\\n' \\"$1\\" \\"$2\\" >> \\"$0\\"", "${out}",
          binary-to-ascii(10, 8, ".", leased-address), binary-to-ascii(16, 8, ":", substring(hardware, 1, 6)));
}
`);
    const [one, two] = topo.clients;
    let h = await startHadhcp(lab(), 'srv', { conf, args: ['--enable-execute'] });
    const l = await runClient('udhcpc', lab(), one!.ns, one!.ifName);
    const mac = one!.mac
      .split(':')
      .map((b) => parseInt(b, 16).toString(16))
      .join(':');
    const line = await until(
      'the commit command ran',
      async () => (existsSync(out) ? readFileSync(out, 'utf8').trim() || undefined : undefined),
      10_000,
    );
    expect(line).toBe(`${l.address} ${mac}`);
    await stopHadhcp(h);

    h = await startHadhcp(lab(), 'srv', { conf });
    await runClient('udhcpc', lab(), two!.ns, two!.ifName);
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      readFileSync(out, 'utf8').trim().split('\n'),
      'lines after a run without --enable-execute',
    ).toHaveLength(1);
    await stopHadhcp(h);
  });
});
