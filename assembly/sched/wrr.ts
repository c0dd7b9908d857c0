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
  const n = destCount(svc);
  const mw = load<u32>(svc + SVC_WRR_MAX);
  const g = load<u32>(svc + SVC_WRR_GCD);
  if (n == 0 || mw == 0 || g == 0) return NO_RS;
  let k = load<u32>(svc + SVC_RR_CURSOR);
  let cw = load<i32>(svc + SVC_WRR_CW);
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
    if (usableNow(r) && <i32>weightOf(r) >= cw) {
      store<u32>(svc + SVC_RR_CURSOR, k);
      store<i32>(svc + SVC_WRR_CW, cw);
      return rs;
    }
  }
  return NO_RS;
}
