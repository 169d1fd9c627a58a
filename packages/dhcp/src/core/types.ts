import type { Ip4 } from '@hadhcp/common';
import type { Lease } from '@hadhcp/leases';
import type { DhcpMessage } from '../wire/types.js';
import type { EventRun } from './events.js';

/**
 * Where a reply goes (RFC 2131 4.1). `src` is the address the reply must leave from when it matters (a relay
 * expects the reply from the address it sent to); `mac` is set for 'l2' replies sent to yiaddr without ARP.
 */
export interface Destination {
  kind: 'relay' | 'unicast' | 'broadcast' | 'l2';
  ip: Ip4;
  port: number;
  mac?: Uint8Array;
  iface?: string;
  src?: Ip4;
}

/** What the io layer knows about a received packet. */
export interface RequestMeta {
  receivedOn: { iface?: string; localIp?: Ip4 };
  srcIp: Ip4;
  srcPort: number;
  /**
   * True when the packet was sent to a broadcast address. Tells a REBINDING client (broadcast) from a RENEWING one
   * (unicast to us) when giaddr is 0 (RFC 2131 4.3.2); unknown (undefined) counts as unicast.
   */
  toBroadcast?: boolean;
  /**
   * A relayed packet sent to a VIP of the relays' helper address (one this node holds or held: the kernel
   * delivered it here, so the VIP was ours when it arrived). Its answer is the VIP holder's: every relayed client,
   * whatever the failover hash, even when VRRP has moved the VIP away since (the new holder never saw it).
   */
  toVip?: boolean;
}

export interface Reply {
  msg: DhcpMessage;
  to: Destination;
  /**
   * Largest IP datagram the client accepts (option 57, else RFC 2131's 576; for BOOTP a 300-octet message or one as
   * large as the request): the encoder must fit in it.
   */
  maxSize: number;
}

/**
 * The outcome of one packet. The daemon persists `writes` first and sends `reply` only once they are durable: a
 * binding the store failed to record is never acknowledged.
 */
export interface Decision {
  reply?: Reply;
  writes: Lease[];
  drop?: { reason: DropReason; detail: string };
  /** ISC-style log lines, in the order dhcpd prints them (e.g. DHCPDISCOVER then DHCPOFFER). */
  log?: string[];
  /**
   * Set instead of a reply when the address to offer still needs a ping (ping-check, rare with ping-ahead): the io
   * layer pings `ip` for `timeoutMs`, calls probeResult(), then calls handle() again with the same message.
   */
  needsProbe?: { ip: Ip4; timeoutMs: number };
  /**
   * `on commit` / `on release` (dhcpd.conf EVENTS) prepared for the writes: the service runs them once the writes
   * are durable, after the reply has left, and logs what they return. Absent for a configuration without events.
   */
  events?: EventRun[];
}

/** Every reason the core drops a packet; counted as `drop.<reason>`. */
export type DropReason =
  | 'not-bootrequest'
  | 'bad-message-type'
  | 'no-subnet'
  | 'no-server-id'
  | 'not-our-server-id'
  | 'not-authoritative'
  | 'unknown-client-denied'
  | 'no-permitted-pool'
  | 'booting-denied'
  | 'pool-exhausted'
  /** Every class of the client with a `lease limit` is full (ISC: "no available billing"). */
  | 'class-lease-limit'
  | 'bootp-denied'
  | 'request-no-address'
  | 'unknown-lease'
  | 'decline-no-address'
  | 'decline-unknown-lease'
  | 'release-unknown-lease'
  | 'inform-no-address'
  /** Failover only (LeasePolicy.serves): the partner answers this client (RFC 3074 load balancing). */
  | 'load-balanced-to-peer'
  /** Failover only (LeasePolicy.serves): the relationship serves nobody in its state (ISC "not responding"). */
  | 'failover-not-serving'
  /** Failover only (LeasePolicy.mayAllocate): a REQUEST for an address that is the partner's to give. */
  | 'failover-peer-owns';
