// perfdhcp load behind the relay, as the pair labs use it: one namespace on the clients' segment acting as a second
// relay (giaddr 10.2.0.1), and the routes that carry the routers' answers back to it.
import type { Lab } from './lab.js';
import type { LabProcess } from './proc.js';
import type { RelayTopology } from './topology.js';
import { enableForwarding, logMessages, type Hadhcp } from './dhcp-helpers.js';

/** The giaddr perfdhcp relays from: its clients' leases come from the routers' 10.2.0.0/16 pool. */
export const LOAD_GIADDR = '10.2.0.1';

/** tcpdump's filter for DHCP both ways (server and client ports). */
export const DHCP_FILTER = ['udp', 'port', '67', 'or', 'udp', 'port', '68'];

/**
 * Namespace `load` on the clients' segment with 10.2.0.1/16. perfdhcp there broadcasts its requests to dhcrelay,
 * which forwards them to the routers; the routers answer 10.2.0.1 through the relay, which routes (as a router
 * does), so renewals unicast to a server identifier cross it too.
 */
export async function addLoadSide(lab: Lab, topo: RelayTopology<unknown>): Promise<void> {
  await enableForwarding(lab, 'relay');
  await lab.addNamespace('load');
  await lab.link('load', 'eth0', topo.clientLan, 'l0');
  await lab.addr('load', 'eth0', `${LOAD_GIADDR}/16`);
  await lab.must('load', 'ip', ['route', 'add', '10.1.0.0/24', 'dev', 'eth0']);
  await lab.must('relay', 'ip', ['route', 'add', '10.2.0.0/16', 'dev', 'eth1']);
  for (const r of topo.routers)
    await lab.must(r.ns, 'ip', ['route', 'add', '10.2.0.0/16', 'via', '10.0.0.1']);
}

export interface PerfLoad {
  /** New clients a second. */
  rate: number;
  /** How long perfdhcp sends, in seconds. */
  seconds: number;
  /** How many distinct client MACs it cycles through (perfdhcp -R). */
  clients: number;
  /** perfdhcp's own extra arguments, e.g. ['-d', '2'] to count answers later than 2 s as lost. */
  extra?: string[];
}

/** perfdhcp from the `load` namespace (addLoadSide): full DORA exchanges at `rate`/s. */
export function spawnPerfLoad(lab: Lab, o: PerfLoad): LabProcess {
  const args = ['-4', '-l', 'eth0', '-r', String(o.rate), '-R', String(o.clients), '-p', String(o.seconds)];
  return lab.spawn('load', 'perfdhcp', [...args, ...(o.extra ?? [])]);
}

/** How many perfdhcp leases (10.2.0.0/16) a daemon has logged a DHCPACK for. */
export function perfAcks(h: Hadhcp): number {
  return logMessages(h).filter((m) => m.startsWith('DHCPACK on 10.2.')).length;
}
