// peek.ts — pass 2's look ahead at the schedulers (reply_touch.ts): which server each new
// connection of the batch will get, predicted in frame order without changing any state. The
// round-robin cursors advance in a copy; lc and wlc see, in a copy, the one inactive connection
// each earlier choice adds (batch.ts connCreated); sed and nq count active connections only,
// which a new one is not, and the hashing schedulers depend on the client alone, so those are
// asked directly. One service is followed per batch (the first one a new connection goes to: a
// batch's new connections mostly go to one), the others get no prediction. A wrong prediction
// costs a load that was not needed, never another choice: pass 3 schedules as before.
// The copy is per batch and per instance (every lane's thread has its own globals), so a hot
// swap loses nothing.
import { NO_RS, SCHED_LC, SCHED_RR, SCHED_WLC, SCHED_WRR, SVC_RR_CURSOR, SVC_SCHED, SVC_WRR_CW } from '../abi';
import { destCount } from './avail';
import { schedule } from './index';
import { leastLoaded, leastWeighted } from './lc';
import { rrFrom } from './rr';
import { wrrFrom } from './wrr';

/** destinations lc and wlc are followed for: 16 bits of extra connections each in two u64 */
// @ts-ignore: decorator
@inline const PEEK_LC_DESTS: u32 = 8;

const NONE: u32 = 0xffffffff;
let peekSvc: u32 = NONE;
let peekCursor: u32 = 0;
let peekCw: i32 = 0;
let peekLo: u64 = 0;
let peekHi: u64 = 0;

/** peekReset starts a batch: nothing followed yet */
export function peekReset(): void {
  peekSvc = NONE;
}

/**
 * peekServer predicts the server the next new connection of the batch to service `svcIdx` (record
 * at `s`) from cip:cport to vip (wire order) will get, or NO_RS when it cannot tell.
 */
export function peekServer(svcIdx: u32, s: usize, cip: u32, cport: u16, vip: u32): u32 {
  const kind = load<u8>(s + SVC_SCHED);
  if (kind != SCHED_RR && kind != SCHED_WRR && kind != SCHED_LC && kind != SCHED_WLC) return schedule(s, cip, cport, vip);
  if (peekSvc != svcIdx) {
    if (peekSvc != NONE) return NO_RS;
    peekSvc = svcIdx;
    peekCursor = load<u32>(s + SVC_RR_CURSOR);
    peekCw = load<i32>(s + SVC_WRR_CW);
    peekLo = 0;
    peekHi = 0;
  }
  if (kind == SCHED_RR) {
    const p = rrFrom(s, peekCursor);
    if (<u32>p != NO_RS) peekCursor = <u32>(p >>> 32);
    return <u32>p;
  }
  if (kind == SCHED_WRR) {
    const p = wrrFrom(s, peekCursor, peekCw);
    if ((<u32>p & 0xffff) == NO_RS) return NO_RS;
    peekCursor = (<u32>p >>> 16) & 0xffff;
    peekCw = <i32>(p >>> 32);
    return <u32>p & 0xffff;
  }
  if (destCount(s) > PEEK_LC_DESTS) return NO_RS;
  const p = kind == SCHED_LC ? leastLoaded(s, peekLo, peekHi) : leastWeighted(s, false, peekLo, peekHi);
  const rs = p >>> 16;
  if (rs == NO_RS) return NO_RS;
  const k = p & 0xffff;
  const one = <u64>1 << (<u64>(k & 3) << 4);
  if (k < 4) peekLo += one;
  else peekHi += one;
  return rs;
}
