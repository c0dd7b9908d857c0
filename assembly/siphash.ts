// siphash.ts — SipHash-2-4 (Aumasson and Bernstein, 2012) of four 32-bit words under a 128-bit
// key, the keyed hash Linux uses for SYN cookies (siphash_4u32 in include/linux/siphash.h: the
// words are the 16 message bytes as two little-endian u64). Locals only: no memory, no state.

// @ts-ignore: decorator
@inline function rotl64(x: u64, b: u64): u64 {
  return (x << b) | (x >>> (64 - b));
}

/**
 * siphash4u32 hashes the message a | b << 32 | c << 64 | d << 96 (16 bytes, little-endian) with
 * the key k0 | k1 << 64 and returns the 64-bit result.
 */
export function siphash4u32(k0: u64, k1: u64, a: u32, b: u32, c: u32, d: u32): u64 {
  let v0: u64 = k0 ^ 0x736f6d6570736575;
  let v1: u64 = k1 ^ 0x646f72616e646f6d;
  let v2: u64 = k0 ^ 0x6c7967656e657261;
  let v3: u64 = k1 ^ 0x7465646279746573;
  // two message words, then the final word holding only the length (16 << 56): three
  // compression steps of 2 rounds each, then 4 finalisation rounds
  for (let w: u32 = 0; w < 3; w++) {
    const m: u64 = w == 0 ? (<u64>a | (<u64>b << 32)) : w == 1 ? (<u64>c | (<u64>d << 32)) : (<u64>16 << 56);
    v3 ^= m;
    for (let r: u32 = 0; r < 2; r++) {
      v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);
      v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;
      v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;
      v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);
    }
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (let r: u32 = 0; r < 4; r++) {
    v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);
    v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);
  }
  return v0 ^ v1 ^ v2 ^ v3;
}
