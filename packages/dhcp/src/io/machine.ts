import { openFrameChannel, type OpenFrames } from './frames.js';
import { listInterfaces, type ListInterfaces } from './interfaces.js';
import { openPinger, type PingPort } from './pinger.js';
import { openDhcpUdpSocket, type OpenUdp } from './udp.js';

/** The machine as the DHCP service sees it: sockets, frame channels, ICMP and the interface list. */
export interface DhcpIo {
  openUdp: OpenUdp;
  openFrames: OpenFrames;
  /** Throws when ping-check cannot run (no ICMP socket): the service then offers without pinging. */
  openPinger: () => PingPort;
  listInterfaces: ListInterfaces;
}

/** The real machine: what the daemon runs with. Tests pass in-memory ones (test-vectors/service-fakes.ts). */
export const nodeDhcpIo: DhcpIo = {
  openUdp: openDhcpUdpSocket,
  openFrames: openFrameChannel,
  openPinger,
  listInterfaces,
};
