// hash.ts — the hashes of the hashing schedulers and the per-service lookup table they fill.
// sh and dh use IPVS's hash_32 (multiplicative, golden ratio) on host-order values; mh mixes
// with murmur3's finaliser and takes it modulo the prime table size.
import { HDR_SCHED_BASE, HDR_SCHED_SIZE, HDR_SVC_BASE, SVC_SIZE } from '../abi';
import { hdr } from '../mem';

/** tableOf: the scheduler lookup table (u16 RS indices) of the service at `svc` */
// @ts-ignore: decorator
@inline export function tableOf(svc: usize): usize {
  const index = <u32>(svc - <usize>hdr(HDR_SVC_BASE)) / SVC_SIZE;
  return <usize>(hdr(HDR_SCHED_BASE) + index * hdr(HDR_SCHED_SIZE) * 2);
}

/** hash32: IPVS's hash_32(val, bits) */
// @ts-ignore: decorator
@inline export function hash32(v: u32, bits: u32): u32 {
  return (v * 0x61c88647) >>> (32 - bits);
}

// @ts-ignore: decorator
@inline export function mix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

export function gcd32(a: u32, b: u32): u32 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
