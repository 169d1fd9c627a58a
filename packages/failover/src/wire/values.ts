/** Conversions between the codec's byte-string options and what the rest of the program holds. */

const utf8 = new TextEncoder();
const lossy = new TextDecoder('utf-8', { fatal: false });

/** UTF-8 bytes of a configured string (relationship name, message text). */
export function bytesOf(text: string): Uint8Array {
  return utf8.encode(text);
}

/** A byte-string option as text for logs and status (invalid UTF-8 becomes U+FFFD). */
export function text(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '' : lossy.decode(bytes);
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A plain Uint8Array copy of `b` from `start` (to `end`), never a view: a Node Buffer's slice() is a view of the
 * receive buffer. Made without an intermediate view, which for small values costs more than the copy.
 */
export function copyOf(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  const v = new Uint8Array(end - start);
  for (let i = start; i < end; i++) v[i - start] = b[i]!;
  return v;
}

/** The chaddr option as ISC sends it: the hardware type byte (1 = Ethernet), then the address. */
export function chaddrOf(htype: number, addr: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + addr.length);
  out[0] = htype & 0xff;
  out.set(addr, 1);
  return out;
}

/** Splits a chaddr option into hardware type and address; undefined when empty. */
export function chaddrParts(chaddr: Uint8Array): { htype: number; addr: Uint8Array } | undefined {
  if (chaddr.length === 0) return undefined;
  return { htype: chaddr[0]!, addr: chaddr.subarray(1) };
}
