// The config tests that serve a dhcpd.conf end to end (classes, events, option spaces, computed options): the file
// read as /etc/dhcp/dhcpd.conf and a DHCP core serving it, with the DHCP package's own client-message builder.
import { expect } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import { DhcpServerCore, LeaseTable } from '@hadhcp/dhcp';
import { formatDiagnostics, readDhcpdConf } from '../src/dhcpd/index.js';

export { clientMsg, getOpt, MessageType } from '../../dhcp/src/core/test-helpers.js';

/** How a request relayed from 10.0.0.1 reaches the server at 10.0.0.2 (its eth1). */
export const RELAYED = {
  receivedOn: { iface: 'eth1', localIp: parseIp4('10.0.0.2')! },
  srcIp: parseIp4('10.0.0.1')!,
  srcPort: 67,
};

/** `src` read as /etc/dhcp/dhcpd.conf. */
export function readConf(src: string): ReturnType<typeof readDhcpdConf> {
  return readDhcpdConf('dhcpd.conf', { readFile: () => src, cwd: '/etc/dhcp' });
}

/** A DHCP core serving `src` (which must read without errors) as `serverId`, named dhcp1, with no leases. */
export function serveConf(src: string, serverId = '10.0.0.1'): DhcpServerCore {
  const r = readConf(src);
  expect(r.config, formatDiagnostics(r.diagnostics)).toBeDefined();
  return new DhcpServerCore(r.config!, new LeaseTable(), {
    serverId: parseIp4(serverId)!,
    hostname: 'dhcp1',
  });
}
