/**
 * RFC 1071 Internet checksum: the ones' complement of the ones' complement sum of 16-bit big-endian words.
 * An odd trailing byte is padded with a zero byte (RFC 1071 4.1). Summing a message whose checksum field holds
 * a correct checksum gives 0, which is how receivers verify it.
 */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  // Fold the carries back in; two folds suffice for any message under 128 KiB, loop for safety.
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
