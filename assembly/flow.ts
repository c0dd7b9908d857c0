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

/**
 * addrMix6 squeezes an IPv6 address (at `a`, optionally ANDed with the mask at `m`) into 32 bits
 * for flowHash: rotating the words apart keeps the entropy of addresses that share a prefix.
 */
// @ts-ignore: decorator
@inline function addrMix6(a: usize): u32 {
  return load<u32>(a) ^ rotl<u32>(load<u32>(a + 4), 8) ^ rotl<u32>(load<u32>(a + 8), 16) ^ rotl<u32>(load<u32>(a + 12), 24);
}

// @ts-ignore: decorator
@inline function addrMix6Masked(a: usize, m: usize): u32 {
  return (load<u32>(a) & load<u32>(m)) ^ rotl<u32>(load<u32>(a + 4) & load<u32>(m + 4), 8) ^
    rotl<u32>(load<u32>(a + 8) & load<u32>(m + 8), 16) ^ rotl<u32>(load<u32>(a + 12) & load<u32>(m + 12), 24);
}

/** flowHash6: flowHash of a tuple whose addresses are IPv6 (given by their addresses in memory) */
// @ts-ignore: decorator
@inline export function flowHash6(src: usize, dst: usize, ports: u32, proto: u32): u32 {
  return flowHash(addrMix6(src), addrMix6(dst), ports, proto);
}

/** flowHash6Masked: flowHash6 of (src & mask) — a persistence template's client network */
// @ts-ignore: decorator
@inline export function flowHash6Masked(src: usize, mask: usize, dst: usize, ports: u32, proto: u32): u32 {
  return flowHash(addrMix6Masked(src, mask), addrMix6(dst), ports, proto);
}
