// rr.ts — round robin (ip_vs_rr.c): the next usable destination after the last one chosen.
// SVC_RR_CURSOR holds the next position to try; a rebuild keeps it (the list may have changed
// length: positions past the end wrap).
import { NO_RS, SVC_RR_CURSOR } from '../abi';
import { destAt, destCount, rsAt, usableNow } from './avail';

export function scheduleRr(svc: usize): u32 {
  const p = rrFrom(svc, load<u32>(svc + SVC_RR_CURSOR));
  if (<u32>p == NO_RS) return NO_RS;
  store<u32>(svc + SVC_RR_CURSOR, <u32>(p >>> 32));
  return <u32>p;
}

/**
 * rrFrom: the first usable destination from position `k` on, and the cursor after it (rs | k' << 32),
 * or NO_RS; changes nothing, so pass 2 can look ahead with it (peek.ts)
 */
// @ts-ignore: decorator
@inline export function rrFrom(svc: usize, k: u32): u64 {
  const n = destCount(svc);
  for (let tries: u32 = 0; tries < n; tries++) {
    if (k >= n) k = 0;
    const rs = destAt(svc, k);
    k++;
    if (usableNow(rsAt(rs))) return <u64>rs | (<u64>k << 32);
  }
  return <u64>NO_RS;
}
