// The two shapes every DHCP lab test uses, with the server pluggable (ISC dhcpd, Kea or hadhcp):
//   relay:  routers srv, srv2.. (10.0.0.2, .3.. on bridge lan0) <- relay (10.0.0.1 | 10.1.0.1, dhcrelay)
//           <- clients cli1..N on bridge lan1 (10.1.0.0/24)
//   direct: router srv (10.1.0.1) and clients cli1..N on bridge lan1
// Both bridges live in the lab's switch namespace `sw`; every lab interface is called eth0/eth1 in its namespace.
import type { Bridge, Lab } from './lab.js';
import type { LabProcess } from './proc.js';
import { startDhcrelay } from './peers/servers.js';

export interface RouterSpot {
  ns: string;
  ifName: string;
  /** The router's own address on its segment, without prefix length. */
  address: string;
  cidr: string;
  index: number;
}

/** Starts a DHCP server on one router; returns whatever handle the test needs (often a LabProcess). */
export type ServerStarter<T> = (lab: Lab, at: RouterSpot) => Promise<T>;

export interface ClientSpot {
  ns: string;
  ifName: string;
  mac: string;
}

export interface TopologyOptions<T> {
  /** Started once per router after the links are up; omit to start servers yourself. */
  server?: ServerStarter<T>;
  /** Router namespaces (relay topology only; default ['srv']). */
  routers?: string[];
  clients?: number;
  /** Client MACs in order (default 02:00:00:00:01:NN, locally administered). */
  clientMacs?: string[];
}

export interface RelayTopology<T> {
  routers: RouterSpot[];
  servers: T[];
  relay: { ns: 'relay'; upstream: string; downstream: string; proc: LabProcess | undefined };
  clients: ClientSpot[];
  serverLan: Bridge;
  clientLan: Bridge;
}

export interface DirectTopology<T> {
  router: RouterSpot;
  server: T | undefined;
  clients: ClientSpot[];
  clientLan: Bridge;
}

export const SERVER_SUBNET = '10.0.0.0/24';
export const CLIENT_SUBNET = '10.1.0.0/24';

/** dhcpd.conf for either topology: a pool on the client subnet, an empty declaration for the server segment. */
export function sampleDhcpdConf(extra = ''): string {
  return `# hadhcp lab
authoritative;
default-lease-time 600;
max-lease-time 1200;
ddns-update-style none;

subnet 10.0.0.0 netmask 255.255.255.0 {
}

subnet 10.1.0.0 netmask 255.255.255.0 {
  option routers 10.1.0.1;
  option subnet-mask 255.255.255.0;
  option broadcast-address 10.1.0.255;
  range 10.1.0.50 10.1.0.99;
}
${extra}`;
}

async function addClients(lab: Lab, lan: Bridge, o: TopologyOptions<unknown>): Promise<ClientSpot[]> {
  const clients: ClientSpot[] = [];
  for (let i = 1; i <= (o.clients ?? 3); i++) {
    const ns = `cli${i}`;
    const mac = o.clientMacs?.[i - 1] ?? `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`;
    await lab.addNamespace(ns);
    await lab.link(ns, 'eth0', lan, `c${i}`, { macA: mac });
    clients.push({ ns, ifName: 'eth0', mac });
  }
  return clients;
}

/** Kea (and other servers binding per interface) skip interfaces that came up a moment ago. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

/** Relay topology; dhcrelay forwards to `relayTo` (default: the first router; pass a VIP for failover). */
export async function relayTopology<T>(
  lab: Lab,
  o: TopologyOptions<T> & { relayTo?: string[] } = {},
): Promise<RelayTopology<T>> {
  const serverLan = await lab.addBridge(undefined, 'lan0');
  const clientLan = await lab.addBridge(undefined, 'lan1');
  const routers: RouterSpot[] = [];
  for (const [index, ns] of (o.routers ?? ['srv']).entries()) {
    const address = `10.0.0.${2 + index}`;
    await lab.addNamespace(ns);
    await lab.link(ns, 'eth0', serverLan, `s${index}`);
    await lab.addr(ns, 'eth0', `${address}/24`);
    routers.push({ ns, ifName: 'eth0', address, cidr: `${address}/24`, index });
  }
  await lab.addNamespace('relay');
  await lab.link('relay', 'eth0', serverLan, 'r0');
  await lab.addr('relay', 'eth0', '10.0.0.1/24');
  await lab.link('relay', 'eth1', clientLan, 'r1');
  await lab.addr('relay', 'eth1', '10.1.0.1/24');
  // Servers answer the relay at giaddr; the routers need a way back to 10.1.0.0/24 for unicast replies.
  for (const r of routers) await lab.must(r.ns, 'ip', ['route', 'add', CLIENT_SUBNET, 'via', '10.0.0.1']);
  const clients = await addClients(lab, clientLan, o);
  await settle();
  const servers: T[] = [];
  if (o.server) for (const r of routers) servers.push(await o.server(lab, r));
  const relayTo = o.relayTo ?? [routers[0]!.address];
  const proc = await startDhcrelay(lab, 'relay', {
    downstream: ['eth1'],
    upstream: ['eth0'],
    servers: relayTo,
  });
  return {
    routers,
    servers,
    relay: { ns: 'relay', upstream: 'eth0', downstream: 'eth1', proc },
    clients,
    serverLan,
    clientLan,
  };
}

/** Directly attached: the server's router srv sits on the clients' bridge as 10.1.0.1/24. */
export async function directTopology<T>(lab: Lab, o: TopologyOptions<T> = {}): Promise<DirectTopology<T>> {
  const clientLan = await lab.addBridge(undefined, 'lan1');
  await lab.addNamespace('srv');
  await lab.link('srv', 'eth0', clientLan, 's0');
  await lab.addr('srv', 'eth0', '10.1.0.1/24');
  const router: RouterSpot = {
    ns: 'srv',
    ifName: 'eth0',
    address: '10.1.0.1',
    cidr: '10.1.0.1/24',
    index: 0,
  };
  const clients = await addClients(lab, clientLan, o);
  await settle();
  const server = o.server ? await o.server(lab, router) : undefined;
  return { router, server, clients, clientLan };
}
