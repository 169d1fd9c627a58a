/** IPv4 addresses travel through the cores as unsigned 32-bit numbers: cheap to compare, hash and mask. */
export type Ip4 = number;

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad text; returns undefined for anything that is not exactly four octets 0-255. */
export function parseIp4(text: string): Ip4 | undefined {
  const m = DOTTED.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    v = v * 256 + o;
  }
  return v >>> 0;
}

export function formatIp4(ip: Ip4): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export function prefixToMask(prefix: number): Ip4 {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Returns the prefix length of a contiguous netmask, or undefined when the mask has holes. */
export function maskToPrefix(mask: Ip4): number | undefined {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return undefined;
  return 32 - Math.log2(inv + 1);
}

export function inSubnet(ip: Ip4, network: Ip4, mask: Ip4): boolean {
  return (ip & mask) >>> 0 === network >>> 0;
}

export function readIp4(buf: Uint8Array, off: number): Ip4 {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function writeIp4(buf: Uint8Array, off: number, ip: Ip4): void {
  buf[off] = ip >>> 24;
  buf[off + 1] = (ip >>> 16) & 255;
  buf[off + 2] = (ip >>> 8) & 255;
  buf[off + 3] = ip & 255;
}

/** Lower-case colon-separated hex, as ISC prints hardware addresses. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.split(':');
  if (parts.length < 1 || parts.length > 16) return undefined;
  const out = new Uint8Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return undefined;
    out[i] = parseInt(p, 16);
  }
  return out;
}
