// stats.ts — counters the host reads from memory: global ones (STAT_*), drops per reason, and
// per-service / per-real-server traffic. u64 in memory, never across the boundary.
import {
  HDR_RS_STATS_BASE, HDR_STATS_BASE, HDR_SVC_STATS_BASE, STATS_SIZE, STAT_DROPPED, STAT_DROP_BASE, STAT_LOCK_SLEEPS,
  STAT_LOCK_WAITS,
  STAT_SYN_RECEIVED, ST_CONNS, ST_INBYTES, ST_INPKTS, ST_OUTBYTES, ST_OUTPKTS, ST_SYNS,
} from './abi';
import { add64, hdr, lhdr, sleepsOf } from './mem';

// @ts-ignore: decorator
@inline export function count(stat: u32, v: u64): void {
  add64(<usize>(lhdr(HDR_STATS_BASE) + (stat << 3)), v);
}

// @ts-ignore: decorator
@inline export function countDrop(reason: u32): void {
  const base = <usize>lhdr(HDR_STATS_BASE);
  add64(base + ((STAT_DROP_BASE + reason) << 3), 1);
  add64(base + (STAT_DROPPED << 3), 1);
}

// @ts-ignore: decorator
@inline export function countConn(svc: u32, rs: u32): void {
  add64(<usize>(lhdr(HDR_SVC_STATS_BASE) + svc * STATS_SIZE + ST_CONNS), 1);
  add64(<usize>(lhdr(HDR_RS_STATS_BASE) + rs * STATS_SIZE + ST_CONNS), 1);
}

/** countTraffic: one packet of `bytes` in direction in (client -> RS) or out (RS -> client). */
// @ts-ignore: decorator
@inline export function countTraffic(svc: u32, rs: u32, out: bool, bytes: u32): void {
  const s = <usize>(lhdr(HDR_SVC_STATS_BASE) + svc * STATS_SIZE);
  const r = <usize>(lhdr(HDR_RS_STATS_BASE) + rs * STATS_SIZE);
  const pk: u32 = out ? ST_OUTPKTS : ST_INPKTS;
  const by: u32 = out ? ST_OUTBYTES : ST_INBYTES;
  add64(s + pk, 1);
  add64(s + by, bytes);
  add64(r + pk, 1);
  add64(r + by, bytes);
}

/** countSyn: a SYN to service `svc` that found no session (a new connection attempt, or a flood) */
// @ts-ignore: decorator
@inline export function countSyn(svc: u32): void {
  add64(<usize>(lhdr(HDR_SVC_STATS_BASE) + svc * STATS_SIZE + ST_SYNS), 1);
  count(STAT_SYN_RECEIVED, 1);
}

/** countLockWait: the table lock just taken needed `spins` tries (mem.ts lockSpins); 0 counts nothing */
export function countLockWait(spins: u32): void {
  if (spins == 0) return;
  count(STAT_LOCK_WAITS, 1);
  const sleeps = sleepsOf(spins);
  if (sleeps != 0) count(STAT_LOCK_SLEEPS, sleeps);
}
