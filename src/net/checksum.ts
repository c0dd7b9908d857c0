// checksum.ts — the Internet checksum (RFC 1071) for the host's own rare frames (ICMP echo
// replies, VRRP advertisements). The data path has its own in assembly/csum.ts.

/** onesSum adds `b` as big-endian 16-bit words to `initial` (an odd last byte is padded). */
export function onesSum(b: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** checksum is the one's complement of the one's complement sum of `b` (plus `initial`). */
export function checksum(b: Uint8Array, initial = 0): number {
  return ~onesSum(b, initial) & 0xffff;
}
