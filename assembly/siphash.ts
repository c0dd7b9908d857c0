// siphash.ts — SipHash-2-4 (Aumasson and Bernstein, 2012) under a 128-bit key, the keyed hash
// Linux uses for SYN cookies: of four 32-bit words for IPv4 (siphash_4u32 in
// include/linux/siphash.h: the 16 message bytes as two little-endian u64) and of 40 bytes for
// IPv6 (net/ipv6/syncookies.c hashes two addresses, the counter and the ports). No state.

// @ts-ignore: decorator
@inline function rotl64(x: u64, b: u64): u64 {
  return (x << b) | (x >>> (64 - b));
}

/**
 * sipHash is SipHash-2-4 of the `n` (2..5) little-endian message words w0..w4 (8n bytes) under
 * the key k0 | k1 << 64: n compression steps, the final word holding only the length, then the
 * 4 finalisation rounds. One body for the two message shapes the cookies hash.
 */
function sipHash(k0: u64, k1: u64, w0: u64, w1: u64, w2: u64, w3: u64, w4: u64, n: u32): u64 {
  let v0: u64 = k0 ^ 0x736f6d6570736575;
  let v1: u64 = k1 ^ 0x646f72616e646f6d;
  let v2: u64 = k0 ^ 0x6c7967656e657261;
  let v3: u64 = k1 ^ 0x7465646279746573;
  for (let w: u32 = 0; w <= n; w++) {
    const m: u64 = w == n ? <u64>(n << 3) << 56 : w == 0 ? w0 : w == 1 ? w1 : w == 2 ? w2 : w == 3 ? w3 : w4;
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

/**
 * siphash4u32 hashes the message a | b << 32 | c << 64 | d << 96 (16 bytes, little-endian) with
 * the key k0 | k1 << 64 and returns the 64-bit result.
 */
export function siphash4u32(k0: u64, k1: u64, a: u32, b: u32, c: u32, d: u32): u64 {
  return sipHash(k0, k1, <u64>a | (<u64>b << 32), <u64>c | (<u64>d << 32), 0, 0, 0, 2);
}

/**
 * siphash40 hashes 40 bytes: the 16 at `a`, the 16 at `b`, then the 8 of `tail` (little-endian),
 * as Linux's siphash() hashes the IPv6 cookie's struct of two addresses, counter and ports.
 */
export function siphash40(k0: u64, k1: u64, a: usize, b: usize, tail: u64): u64 {
  return sipHash(k0, k1, load<u64>(a), load<u64>(a + 8), load<u64>(b), load<u64>(b + 8), tail, 5);
}
