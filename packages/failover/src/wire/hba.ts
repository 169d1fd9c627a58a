/**
 * The hash bucket assignment (option 11) that the primary sends in every CONNECT: 256 buckets, one bit each, 32
 * bytes. Bucket b is bit (b & 7) of byte (b >> 3), least significant bit first. ISC's meaning, which is the
 * reverse of draft-12 12.11: a SET bit means the PRIMARY serves that bucket (`load_balance_mine`: primary returns
 * the bit, secondary its negation). The secondary never configures its own; it uses the one from CONNECT.
 */
export const HBA_LENGTH = 32;
export const HBA_BUCKETS = 256;

/**
 * ISC's `split N` (confpars.c): buckets 0..N-1 to the primary, the rest to the secondary. `split 128` is ff x 16
 * then 00 x 16. N is clamped to 0..256 (the configuration parser rejects anything else before it gets here).
 */
export function splitToHba(split: number): Uint8Array {
  const n = Math.max(0, Math.min(HBA_BUCKETS, Math.floor(split)));
  const hba = new Uint8Array(HBA_LENGTH);
  for (let b = 0; b < n; b++) hba[b >> 3]! |= 1 << (b & 7);
  return hba;
}

/** Whether the primary serves `bucket` (a load-balancing hash, 0..255) under this HBA. Missing bytes count as 0. */
export function primaryServesBucket(hba: Uint8Array, bucket: number): boolean {
  return ((hba[(bucket >> 3) & 0x1f] ?? 0) & (1 << (bucket & 7))) !== 0;
}

/** Whether a server in `role` serves `bucket`: the primary the set bits, the secondary the clear ones. */
export function servesBucket(hba: Uint8Array, bucket: number, role: 'primary' | 'secondary'): boolean {
  return primaryServesBucket(hba, bucket) === (role === 'primary');
}

/** How many buckets the primary serves (256 minus the secondary's), for status output. */
export function primaryBucketCount(hba: Uint8Array): number {
  let n = 0;
  for (let b = 0; b < HBA_BUCKETS; b++) if (primaryServesBucket(hba, b)) n++;
  return n;
}
