// lc.ts — the connection-counting schedulers of IPVS. Overheads are compared by
// cross-multiplication (no division), in u64 so 32-bit counters times weights cannot overflow.
//   lc  (ip_vs_lc.c):  least active*256 + inactive
//   wlc (ip_vs_wlc.c): least (active*256 + inactive) / weight
//   sed (ip_vs_sed.c): least (active + 1) / weight — shortest expected delay
//   nq  (ip_vs_nq.c):  a server with no active connection if any, else as sed
import { NO_RS, RS_ACTIVE } from '../abi';
import { destAt, destCount, overhead, rsAt, usableNow, weightOf } from './avail';

export function scheduleLc(svc: usize): u32 {
  const n = destCount(svc);
  let best = NO_RS;
  let bestOh: u64 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const rs = destAt(svc, k);
    const r = rsAt(rs);
    if (!usableNow(r)) continue;
    const oh = overhead(r);
    if (best == NO_RS || oh < bestOh) {
      best = rs;
      bestOh = oh;
    }
  }
  return best;
}

/** leastWeighted picks the least cost/weight; `sed` selects (active + 1) as the cost */
function leastWeighted(svc: usize, sed: bool): u32 {
  const n = destCount(svc);
  let best = NO_RS;
  let bestCost: u64 = 0;
  let bestW: u64 = 1;
  for (let k: u32 = 0; k < n; k++) {
    const rs = destAt(svc, k);
    const r = rsAt(rs);
    if (!usableNow(r)) continue;
    const cost: u64 = sed ? <u64>load<u32>(r + RS_ACTIVE) + 1 : overhead(r);
    const w = <u64>weightOf(r);
    // cost / w < bestCost / bestW  <=>  cost * bestW < bestCost * w
    if (best == NO_RS || cost * bestW < bestCost * w) {
      best = rs;
      bestCost = cost;
      bestW = w;
    }
  }
  return best;
}

export function scheduleWlc(svc: usize): u32 {
  return leastWeighted(svc, false);
}

export function scheduleSed(svc: usize): u32 {
  return leastWeighted(svc, true);
}

export function scheduleNq(svc: usize): u32 {
  const n = destCount(svc);
  for (let k: u32 = 0; k < n; k++) {
    const rs = destAt(svc, k);
    const r = rsAt(rs);
    if (usableNow(r) && load<u32>(r + RS_ACTIVE) == 0) return rs;
  }
  return leastWeighted(svc, true);
}
