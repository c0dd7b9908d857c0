// wrr.ts — weighted round robin, IPVS's interleaved form (ip_vs_wrr.c): a current weight cw
// starts at the maximum and drops by the gcd of the weights each time the list wraps; a server
// is chosen when its weight is at least cw. Weights 4,3,2 give A A B A B C A B C.
import { NO_RS, SVC_RR_CURSOR, SVC_WRR_CW, SVC_WRR_GCD, SVC_WRR_MAX } from '../abi';
import { destAt, destCount, eligible, rsAt, usableNow, weightOf } from './avail';

function gcd(a: u32, b: u32): u32 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** rebuildWrr: max weight and gcd over eligible servers, cycle restarted at the head */
export function rebuildWrr(svc: usize): void {
  const n = destCount(svc);
  let g: u32 = 0;
  let mx: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const r = rsAt(destAt(svc, k));
    if (!eligible(r)) continue;
    const w = weightOf(r);
    g = gcd(w, g);
    if (w > mx) mx = w;
  }
  // IPVS: mw = max - (gcd - 1), so the first pass picks only the heaviest servers
  const mw = mx == 0 ? 0 : mx - (g - 1);
  store<u32>(svc + SVC_WRR_GCD, g);
  store<u32>(svc + SVC_WRR_MAX, mw);
  store<i32>(svc + SVC_WRR_CW, <i32>mw);
  store<u32>(svc + SVC_RR_CURSOR, 0);
}

export function scheduleWrr(svc: usize): u32 {
  const p = wrrFrom(svc, load<u32>(svc + SVC_RR_CURSOR), load<i32>(svc + SVC_WRR_CW));
  const rs = <u32>p & 0xffff;
  if (rs == NO_RS) return NO_RS;
  store<u32>(svc + SVC_RR_CURSOR, <u32>(p >>> 16) & 0xffff);
  store<i32>(svc + SVC_WRR_CW, <i32>(p >>> 32));
  return rs;
}

/**
 * wrrFrom: the choice from cursor `k` at current weight `cw`, and the state after it
 * (rs | k' << 16 | cw' << 32; a destination count and weights fit 16 bits), or NO_RS; changes
 * nothing, so pass 2 can look ahead with it (peek.ts)
 */
// @ts-ignore: decorator
@inline export function wrrFrom(svc: usize, k: u32, cw: i32): u64 {
  const n = destCount(svc);
  const mw = load<u32>(svc + SVC_WRR_MAX);
  const g = load<u32>(svc + SVC_WRR_GCD);
  if (n == 0 || mw == 0 || g == 0) return <u64>NO_RS;
  // every (server, cw level) pair once, plus one wrap: then nothing is usable
  const bound = n * (mw / g + 2);
  for (let step: u32 = 0; step < bound; step++) {
    if (k >= n) {
      k = 0;
      cw -= <i32>g;
      if (cw <= 0) cw = <i32>mw;
    }
    const rs = destAt(svc, k);
    k++;
    const r = rsAt(rs);
    if (usableNow(r) && <i32>weightOf(r) >= cw) return <u64>rs | (<u64>k << 16) | (<u64><u32>cw << 32);
  }
  return <u64>NO_RS;
}
