// lc.ts — the connection-counting schedulers of IPVS. Overheads are compared by
// cross-multiplication (no division), in u64 so 32-bit counters times weights cannot overflow.
//   lc  (ip_vs_lc.c):  least active*256 + inactive
//   wlc (ip_vs_wlc.c): least (active*256 + inactive) / weight
//   sed (ip_vs_sed.c): least (active + 1) / weight — shortest expected delay
//   nq  (ip_vs_nq.c):  a server with no active connection if any, else as sed
// None changes anything (the counts move in batch.ts connCreated), so pass 2 looks ahead with
// them (peek.ts), lc and wlc with `extra` inactive connections per destination position.
import { NO_RS, RS_ACTIVE } from '../abi';
import { destAt, destCount, overhead, rsAt, usableNow, weightOf } from './avail';

export function scheduleLc(svc: usize): u32 {
  return <u32>(leastLoaded(svc, 0, 0) >>> 16);
}

/**
 * extraAt: the inactive connections peek.ts adds at destination position `k` (< 8): 16 bits
 * each, positions 0-3 in `lo`, 4-7 in `hi`
 */
// @ts-ignore: decorator
@inline export function extraAt(k: u32, lo: u64, hi: u64): u64 {
  return ((k < 4 ? lo : hi) >>> (<u64>(k & 3) << 4)) & 0xffff;
}

/** leastLoaded is lc: the position and server (k | rs << 16) of the least overhead, NO_RS as the server when none */
// @ts-ignore: decorator
@inline export function leastLoaded(svc: usize, lo: u64, hi: u64): u32 {
  const n = destCount(svc);
  let best = NO_RS;
  let bestK: u32 = 0;
  let bestOh: u64 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const rs = destAt(svc, k);
    const r = rsAt(rs);
    if (!usableNow(r)) continue;
    const oh = overhead(r) + extraAt(k, lo, hi);
    if (best == NO_RS || oh < bestOh) {
      best = rs;
      bestK = k;
      bestOh = oh;
    }
  }
  return bestK | (best << 16);
}

/**
 * leastWeighted picks the least cost/weight, as its position and server (k | rs << 16); `sed`
 * selects (active + 1) as the cost, else the overhead with `extra` inactive connections
 */
// @ts-ignore: decorator
@inline export function leastWeighted(svc: usize, sed: bool, lo: u64, hi: u64): u32 {
  const n = destCount(svc);
  let best = NO_RS;
  let bestK: u32 = 0;
  let bestCost: u64 = 0;
  let bestW: u64 = 1;
  for (let k: u32 = 0; k < n; k++) {
    const rs = destAt(svc, k);
    const r = rsAt(rs);
    if (!usableNow(r)) continue;
    const cost: u64 = sed ? <u64>load<u32>(r + RS_ACTIVE) + 1 : overhead(r) + extraAt(k, lo, hi);
    const w = <u64>weightOf(r);
    // cost / w < bestCost / bestW  <=>  cost * bestW < bestCost * w
    if (best == NO_RS || cost * bestW < bestCost * w) {
      best = rs;
      bestK = k;
      bestCost = cost;
      bestW = w;
    }
  }
  return bestK | (best << 16);
}

export function scheduleWlc(svc: usize): u32 {
  return leastWeighted(svc, false, 0, 0) >>> 16;
}

export function scheduleSed(svc: usize): u32 {
  return leastWeighted(svc, true, 0, 0) >>> 16;
}

export function scheduleNq(svc: usize): u32 {
  const n = destCount(svc);
  for (let k: u32 = 0; k < n; k++) {
    const rs = destAt(svc, k);
    const r = rsAt(rs);
    if (usableNow(r) && load<u32>(r + RS_ACTIVE) == 0) return rs;
  }
  return leastWeighted(svc, true, 0, 0) >>> 16;
}
