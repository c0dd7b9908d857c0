// csum.ts — Internet checksums. Incremental updates follow RFC 1624 eqn 3,
// HC' = ~(~HC + ~m + m'), so a rewrite never re-reads the payload. Values are "raw": u16 and u32
// loaded little-endian from wire bytes. One's-complement sums are byte-order independent
// (RFC 1071 §2(B)), so raw words give the raw checksum with no byte swaps.
//
// With a virtio_net_hdr flagged NEEDS_CSUM, the L4 checksum field does not hold a checksum but
// the folded, NOT complemented pseudo-header sum the kernel or NIC finishes later. Only the
// pseudo-header's fields (addresses, length) are in it, not the ports: csumPartial* update that.

// @ts-ignore: decorator
@inline function fold(sum: u32): u32 {
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

/**
 * csumDelta accumulates the one's-complement difference of a 32-bit field change; sum several
 * deltas (each < 2^18) and apply them with csumApply. Lets one update cover addresses and ports.
 */
// @ts-ignore: decorator
@inline export function csumDelta32(from: u32, to: u32): u32 {
  return (~from & 0xffff) + (~from >>> 16) + (to & 0xffff) + (to >>> 16);
}

/** csumApply applies an accumulated delta to a complemented checksum. */
// @ts-ignore: decorator
@inline export function csumApply(check: u32, delta: u32): u32 {
  return ~fold((~check & 0xffff) + delta) & 0xffff;
}

/** csumApplyPartial applies a delta to a NOT complemented partial (pseudo-header) sum. */
// @ts-ignore: decorator
@inline export function csumApplyPartial(partial: u32, delta: u32): u32 {
  return fold((partial & 0xffff) + delta);
}

/** csumSum adds `len` bytes at `p` to a running one's-complement sum (not folded, not complemented). */
export function csumSum(p: usize, len: u32, sum: u64): u64 {
  let acc = sum;
  let n = len;
  while (n >= 8) {
    const w = load<u64>(p);
    // add the two 32-bit halves: no carry is lost in a u64 for any frame size we see
    acc += (w & 0xffffffff) + (w >>> 32);
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    acc += <u64>load<u32>(p);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    acc += <u64>load<u16>(p);
    p += 2;
    n -= 2;
  }
  // an odd last byte is the high-order byte of a big-endian word: raw, it is the low byte
  if (n) acc += <u64>load<u8>(p);
  return acc;
}

/** csumFinish folds a running sum to 16 bits and complements it. */
export function csumFinish(sum: u64): u32 {
  let s = (sum & 0xffffffff) + (sum >>> 32);
  s = (s & 0xffffffff) + (s >>> 32);
  return ~fold(<u32>s) & 0xffff;
}

/** csumFold16 folds a running sum to 16 bits without complementing it. */
// @ts-ignore: decorator
@inline export function csumFold16(sum: u64): u32 {
  let s = (sum & 0xffffffff) + (sum >>> 32);
  s = (s & 0xffffffff) + (s >>> 32);
  return fold(<u32>s);
}

/** ipHeaderValid: the header's checksum verifies (the one's-complement sum is 0xffff). */
// @ts-ignore: decorator
@inline export function ipHeaderValid(ip: usize, ihl: u32): bool {
  if (ihl != 20) return csumFold16(csumSum(ip, ihl, 0)) == 0xffff;
  // the common header without options: five words, no loop and no call on the per-packet path
  const s = <u64>load<u32>(ip) + <u64>load<u32>(ip + 4) + <u64>load<u32>(ip + 8) +
    <u64>load<u32>(ip + 12) + <u64>load<u32>(ip + 16);
  return csumFold16(s) == 0xffff;
}

/** ipHeaderChecksum computes a fresh IPv4 header checksum (the field must be 0 first). */
export function ipHeaderChecksum(ip: usize, ihl: u32): u32 {
  return csumFinish(csumSum(ip, ihl, 0));
}

/** csumDelta128 accumulates the change of a 16-byte field (an IPv6 address) from `from` to `to`. */
// @ts-ignore: decorator
@inline export function csumDelta128(from: usize, to: usize): u32 {
  return csumDelta32(load<u32>(from), load<u32>(to)) + csumDelta32(load<u32>(from + 4), load<u32>(to + 4)) +
    csumDelta32(load<u32>(from + 8), load<u32>(to + 8)) + csumDelta32(load<u32>(from + 12), load<u32>(to + 12));
}

/** csumAdd128: the one's-complement sum (not folded) of a 16-byte field, for pseudo-headers */
// @ts-ignore: decorator
@inline export function csumAdd128(p: usize): u32 {
  const a = load<u32>(p);
  const b = load<u32>(p + 4);
  const c = load<u32>(p + 8);
  const d = load<u32>(p + 12);
  return (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) + (c & 0xffff) + (c >>> 16) + (d & 0xffff) + (d >>> 16);
}

/** csumNeg128: what removing a 16-byte field from a sum adds (the sum of its complemented words) */
// @ts-ignore: decorator
@inline export function csumNeg128(p: usize): u32 {
  const a = ~load<u32>(p);
  const b = ~load<u32>(p + 4);
  const c = ~load<u32>(p + 8);
  const d = ~load<u32>(p + 12);
  return (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) + (c & 0xffff) + (c >>> 16) + (d & 0xffff) + (d >>> 16);
}

/** csumNeg32 / csumAdd32: the same for a 4-byte field (IPv4 address, ports) */
// @ts-ignore: decorator
@inline export function csumNeg32(v: u32): u32 {
  return (~v & 0xffff) + (~v >>> 16);
}

// @ts-ignore: decorator
@inline export function csumAdd32(v: u32): u32 {
  return (v & 0xffff) + (v >>> 16);
}

/**
 * tcpChecksum computes the checksum of a TCP segment of `len` bytes at `l4` from scratch, with the
 * pseudo-header of addresses `src`, `dst` (wire order) (RFC 9293 §3.1); the field must be 0 first.
 * For segments the director builds itself: a handshake's 40 bytes, no payload.
 */
export function tcpChecksum(src: u32, dst: u32, l4: usize, len: u32): u32 {
  // the pseudo-header's last word (zero, protocol 6, length) as a little-endian load of its bytes
  const tail = (<u64>6 << 8) | (<u64>(((len & 0xff) << 8) | ((len >> 8) & 0xff)) << 16);
  return csumFinish(csumSum(l4, len, <u64>src + <u64>dst + tail));
}
