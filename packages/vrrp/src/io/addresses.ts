import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type netlinkModule from 'netlink';
import { readIp4, type Ip4 } from '@hadhcp/common';

/**
 * Interface addresses and link state through rtnetlink (the `netlink` package). Mechanics only: add, remove, list,
 * and a stream of kernel notifications. Which addresses to add or remove is the service's business.
 */

/** The `netlink` package, loaded on first use: a daemon without VRRP never needs it (~40 ms of its start-up). */
let loaded: typeof netlinkModule | undefined;
function netlink(): typeof netlinkModule {
  return (loaded ??= createRequire(import.meta.url)('netlink') as typeof netlinkModule);
}

const AF_INET = 2;
// linux/rtnetlink.h message types, to tell additions from removals in notifications.
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;

export interface LinkInfo {
  index: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_RUNNING / lower up). */
  running: boolean;
  mac: Uint8Array | undefined;
}

export interface AddressInfo {
  ifindex: number;
  address: Ip4;
  prefix: number;
  label: string | undefined;
  /** A secondary address: not the interface's primary for its subnet. */
  secondary: boolean;
}

export interface AddressSpec {
  address: Ip4;
  prefix: number;
  ifindex: number;
  /** IFA_LABEL: the kernel rejects a label that does not start with the interface name (e.g. eth0:vip). */
  label?: string;
  brd?: Ip4;
}

export type NetEvent =
  | { kind: 'link'; op: 'new' | 'del'; link: LinkInfo }
  | { kind: 'address'; op: 'new' | 'del'; addr: AddressInfo }
  /** The netlink socket failed (ENOBUFS when the kernel outran us): notifications may be lost, re-read all. */
  | { kind: 'lost'; error: string };

/** The part of Addresses the service uses; unit tests replace it. */
export interface AddressPort {
  links(): Promise<LinkInfo[]>;
  list(): Promise<AddressInfo[]>;
  add(spec: AddressSpec): Promise<boolean>;
  remove(spec: AddressSpec): Promise<boolean>;
  on(event: 'event', listener: (e: NetEvent) => void): this;
  close(): void;
}

const ip4Bytes = (ip: Ip4): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(ip >>> 0, 0);
  return b;
};

type LinkMsg = { data: netlinkModule.rt.Link; attrs: netlinkModule.ifla.LinkAttrs };
type AddrMsg = { data: netlinkModule.rt.Address; attrs: netlinkModule.rt.AddressAttrs };

function toLink(m: LinkMsg): LinkInfo {
  const f = m.data.flags ?? {};
  return {
    index: m.data.index ?? 0,
    name: m.attrs.ifname ?? '',
    up: f.up === true,
    running: f.running === true || f.lowerUp === true,
    mac: m.attrs.address ? new Uint8Array(m.attrs.address) : undefined,
  };
}

function toAddr(m: AddrMsg): AddressInfo | undefined {
  if (m.data.family !== AF_INET) return undefined;
  const a = m.attrs.local ?? m.attrs.address;
  if (!a || a.length !== 4) return undefined;
  return {
    ifindex: m.data.index ?? 0,
    address: readIp4(a, 0),
    prefix: m.data.prefixlen ?? 32,
    label: m.attrs.label,
    secondary: m.data.flags?.secondary === true,
  };
}

const rejected = (err: unknown, code: string): boolean => err instanceof Error && err.message.includes(code);

export class Addresses extends EventEmitter implements AddressPort {
  private readonly req = netlink().createRtNetlink();
  private events: ReturnType<typeof netlinkModule.createRtNetlink> | undefined;

  async links(): Promise<LinkInfo[]> {
    return (await this.req.getLinks()).map(toLink);
  }

  async list(): Promise<AddressInfo[]> {
    const out: AddressInfo[] = [];
    for (const m of await this.req.getAddresses({ family: AF_INET })) {
      const a = toAddr(m);
      if (a) out.push(a);
    }
    return out;
  }

  /** Adds the address; false when it was there already (EEXIST), so a restart over leftovers is not an error. */
  async add(spec: AddressSpec): Promise<boolean> {
    const attrs: netlinkModule.rt.AddressAttrs = {
      local: ip4Bytes(spec.address),
      address: ip4Bytes(spec.address),
    };
    if (spec.label !== undefined) attrs.label = spec.label;
    if (spec.brd !== undefined) attrs.broadcast = ip4Bytes(spec.brd);
    try {
      await this.req.newAddress({ family: AF_INET, prefixlen: spec.prefix, index: spec.ifindex }, attrs);
      return true;
    } catch (err) {
      if (rejected(err, 'EEXIST')) return false;
      throw err;
    }
  }

  /** Removes the address; false when it was not there (EADDRNOTAVAIL). */
  async remove(spec: AddressSpec): Promise<boolean> {
    try {
      await this.req.delAddress(
        { family: AF_INET, prefixlen: spec.prefix, index: spec.ifindex },
        { local: ip4Bytes(spec.address) },
      );
      return true;
    } catch (err) {
      if (rejected(err, 'EADDRNOTAVAIL')) return false;
      throw err;
    }
  }

  /** Subscribes to RTMGRP_LINK and RTMGRP_IPV4_IFADDR; events arrive as 'event'. */
  watch(): void {
    if (this.events) return;
    const ev = netlink().createRtNetlink();
    ev.addMembership('LINK');
    ev.addMembership('IPV4_IFADDR');
    // The parsed rtnetlink stream drops the message type, and with it new-versus-del: read the raw messages.
    ev.socket.on('message', (msgs) => {
      for (const m of msgs) this.dispatch(m.type, m.data);
    });
    // Without a listener an 'error' (ENOBUFS under address churn) would end the daemon.
    const lost = (err: Error) => this.emit('event', { kind: 'lost', error: err.message } satisfies NetEvent);
    ev.socket.on('error', lost);
    this.req.socket.on('error', lost);
    this.events = ev;
  }

  private dispatch(type: number, data: Buffer): void {
    let e: NetEvent | undefined;
    try {
      if (type === RTM_NEWLINK || type === RTM_DELLINK) {
        const link = toLink(netlink().rt.parseLinkMessage(data));
        e = { kind: 'link', op: type === RTM_NEWLINK ? 'new' : 'del', link };
      } else if (type === RTM_NEWADDR || type === RTM_DELADDR) {
        const addr = toAddr(netlink().rt.parseAddressMessage(data));
        if (addr) e = { kind: 'address', op: type === RTM_NEWADDR ? 'new' : 'del', addr };
      }
    } catch {
      // A message this netlink version cannot parse: nothing the service could act on.
      return;
    }
    // Outside the try: an exception from the service (the state machine) is a bug and must not be swallowed.
    if (e) this.emit('event', e);
  }

  close(): void {
    this.req.socket.close();
    this.events?.socket.close();
    this.events = undefined;
  }
}
