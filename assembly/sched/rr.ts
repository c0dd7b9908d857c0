// rr.ts — round robin (ip_vs_rr.c): the next usable destination after the last one chosen.
// SVC_RR_CURSOR holds the next position to try; a rebuild keeps it (the list may have changed
// length: positions past the end wrap).
import { NO_RS, SVC_RR_CURSOR } from '../abi';
import { destAt, destCount, rsAt, usableNow } from './avail';

export function scheduleRr(svc: usize): u32 {
  const n = destCount(svc);
  let k = load<u32>(svc + SVC_RR_CURSOR);
  for (let tries: u32 = 0; tries < n; tries++) {
    if (k >= n) k = 0;
    const rs = destAt(svc, k);
    k++;
    if (usableNow(rsAt(rs))) {
      store<u32>(svc + SVC_RR_CURSOR, k);
      return rs;
    }
  }
  return NO_RS;
}
