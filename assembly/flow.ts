// flow.ts — the hash of a 5-tuple, shared by both lookup directions: a packet is always hashed
// as it is seen (src, dst, ports, proto), and each direction's key is stored in the same shape,
// so pass 1 needs no knowledge of which direction a packet travels.

/**
 * flowHash mixes a tuple of wire-order values. `ports` is sport | dport << 16 (raw). The
 * finaliser is murmur3's fmix32: cheap, and good enough to spread the index's low bits.
 */
// @ts-ignore: decorator
@inline export function flowHash(src: u32, dst: u32, ports: u32, proto: u32): u32 {
  let h: u32 = src * 0x9e3779b1;
  h ^= rotl<u32>(dst, 13) * 0x85ebca77;
  h ^= (ports ^ (proto << 8)) * 0xc2b2ae3d;
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}
