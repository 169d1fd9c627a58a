import { networkInterfaces } from 'node:os';
import { parseIp4, parseMac, prefixToMask, type Ip4 } from '@hadhcp/common';

export interface LocalAddress {
  ip: Ip4;
  prefix: number;
  mask: Ip4;
}

export interface LocalInterface {
  name: string;
  mac: Uint8Array;
  /** IPv4 addresses in the kernel's order: the first is the primary one. */
  addresses: LocalAddress[];
}

/** The machine's IPv4 interfaces now: `listInterfaces`, or a test's list. */
export type ListInterfaces = () => LocalInterface[];

/** The machine's IPv4 interfaces as the kernel reports them now (loopback left out). */
export function listInterfaces(): LocalInterface[] {
  const out: LocalInterface[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (!addrs) continue;
    const v4 = addrs.filter((a) => a.family === 'IPv4' && !a.internal);
    if (v4.length === 0) continue;
    const mac = parseMac(v4[0]!.mac) ?? new Uint8Array(6);
    out.push({
      name,
      mac,
      addresses: v4.flatMap((a) => {
        const ip = parseIp4(a.address);
        const prefix = Number(a.cidr?.split('/')[1] ?? 32);
        return ip === undefined ? [] : [{ ip, prefix, mask: prefixToMask(prefix) }];
      }),
    });
  }
  return out;
}
