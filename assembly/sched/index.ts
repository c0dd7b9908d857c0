// index.ts — scheduler dispatch on SVC_SCHED, and the rebuild the host calls after a service's
// destinations or weights change. All scheduler state lives in the service record and its
// table; nothing is kept in globals, so a hot-swapped module continues where the old one was.
import {
  HDR_SVC_BASE, NO_RS, SCHED_DH, SCHED_LC, SCHED_MH, SCHED_NQ, SCHED_RR, SCHED_SED, SCHED_SH, SCHED_WLC,
  SCHED_WRR, SVCF_HASH_PORT, SVC_FLAGS, SVC_SCHED, SVC_SIZE,
} from '../abi';
import { bswap16, hdr } from '../mem';
import { scheduleLc, scheduleNq, scheduleSed, scheduleWlc } from './lc';
import { lookupMaglev, rebuildMaglev } from './mh';
import { scheduleRr } from './rr';
import { lookupHashTable, rebuildHashTable } from './sh';
import { rebuildWrr, scheduleWrr } from './wrr';

/**
 * schedule picks a real server for a new connection from client cip:cport (wire order) to
 * daddr (wire order) on the service at `svc`; NO_RS when none can take it.
 */
export function schedule(svc: usize, cip: u32, cport: u16, daddr: u32): u32 {
  const kind = load<u8>(svc + SVC_SCHED);
  if (kind == SCHED_WLC) return scheduleWlc(svc);
  if (kind == SCHED_RR) return scheduleRr(svc);
  if (kind == SCHED_WRR) return scheduleWrr(svc);
  if (kind == SCHED_LC) return scheduleLc(svc);
  if (kind == SCHED_SED) return scheduleSed(svc);
  if (kind == SCHED_NQ) return scheduleNq(svc);
  const withPort = (load<u8>(svc + SVC_FLAGS) & SVCF_HASH_PORT) != 0;
  const port: u32 = withPort ? bswap16(<u32>cport) : 0;
  if (kind == SCHED_SH) return lookupHashTable(svc, bswap<u32>(cip) + port);
  if (kind == SCHED_DH) return lookupHashTable(svc, bswap<u32>(daddr));
  if (kind == SCHED_MH) return lookupMaglev(svc, bswap<u32>(cip) ^ (port * 0x9e3779b1));
  return NO_RS;
}

/** rebuildSched recomputes service `svcIdx`'s scheduler state; 0 = ok, 1 = mh table size not prime */
export function rebuildSched(svcIdx: u32): u32 {
  const svc = <usize>(hdr(HDR_SVC_BASE) + svcIdx * SVC_SIZE);
  const kind = load<u8>(svc + SVC_SCHED);
  if (kind == SCHED_WRR) rebuildWrr(svc);
  if (kind == SCHED_SH || kind == SCHED_DH) rebuildHashTable(svc);
  if (kind == SCHED_MH) return rebuildMaglev(svc);
  return 0;
}
