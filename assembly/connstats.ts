// connstats.ts — per-connection packet and byte counters for connection logs, in the parallel
// region HDR_CONNSTATS_BASE (CONNSTATS_SIZE per session record), and the EVT_CONN_END +
// EVT_CONN_STATS pair the host turns into one JSON line when a logged connection ends.
// Nothing here runs unless the host laid the region out (base != 0) and the session's service
// has SVCF_CONNLOG, so services without logs pay one header load per packet.
import {
  CEND_FIN, CEND_FLUSHED, CEND_RST, CEND_TIMEOUT, CONN_PROTO, CONN_STATE, CONN_SVC, CONNSTATS_SIZE,
  CST_BYTES_IN, CST_BYTES_OUT, CST_CREATED, CST_LAST, CST_PKTS_IN, CST_PKTS_OUT, EVT_CONN_END,
  EVT_CONN_STATS, EVT_REASON, EVT_SIZE, EVT_STATS, EVT_TYPE, HDR_CONNSTATS_BASE, HDR_EVT_BASE,
  HDR_EVT_CAP, HDR_EVT_HEAD, HDR_EVT_TAIL, HDR_SVC_BASE, IPPROTO_TCP, STAT_EVENTS_LOST, SVC_FLAGS,
  SVC_SIZE, SVCF_CONNLOG, TCP_S_CLOSE, TCP_S_CLOSE_WAIT, TCP_S_FIN_WAIT, TCP_S_LAST_ACK, TCP_S_TIME_WAIT,
} from './abi';
import { writeEvent } from './events';
import { hdr, setHdr } from './mem';
import { count } from './stats';

/** logged: the session at `c` belongs to a service that logs its connections. */
// @ts-ignore: decorator
@inline function logged(c: usize): bool {
  const svc = <usize>(hdr(HDR_SVC_BASE) + <u32>load<u16>(c + CONN_SVC) * SVC_SIZE);
  return (load<u8>(svc + SVC_FLAGS) & SVCF_CONNLOG) != 0;
}

// @ts-ignore: decorator
@inline function statsAddress(base: u32, rec: u32): usize {
  return <usize>(base + rec * CONNSTATS_SIZE);
}

/** connStatsStart zeroes the counters of a new session record `rec` (created at `now`). */
export function connStatsStart(rec: u32, c: usize, now: u32): void {
  const base = hdr(HDR_CONNSTATS_BASE);
  if (base == 0 || !logged(c)) return;
  const s = statsAddress(base, rec);
  memory.fill(s, 0, CONNSTATS_SIZE);
  store<u32>(s + CST_CREATED, now);
  store<u32>(s + CST_LAST, now);
}

/**
 * connStatsCount adds one packet of `len` bytes (its IP total length, as it arrived) to
 * session `rec` in direction `out`.
 * multi-core: the two directions of one connection may reach two workers; their counters are
 * separate fields, but CST_LAST is written by both (last writer wins, harmless for a log).
 */
// @ts-ignore: decorator
@inline export function connStatsCount(rec: u32, c: usize, out: bool, len: u32, now: u32): void {
  const base = hdr(HDR_CONNSTATS_BASE);
  if (base == 0) return;
  if (!logged(c)) return;
  const s = statsAddress(base, rec);
  const p = s + (out ? CST_PKTS_OUT : CST_PKTS_IN);
  store<u32>(p, load<u32>(p) + 1);
  const b = s + (out ? CST_BYTES_OUT : CST_BYTES_IN);
  store<u64>(b, load<u64>(b) + <u64>len);
  store<u32>(s + CST_LAST, now);
}

/** endReason: how a connection ended, from its TCP state (IPVS: RST -> CLOSE) or `gone`. */
function endReason(c: usize, gone: bool): u8 {
  if (gone) return CEND_FLUSHED;
  if (load<u8>(c + CONN_PROTO) != IPPROTO_TCP) return CEND_TIMEOUT;
  const st = load<u8>(c + CONN_STATE);
  if (st == TCP_S_CLOSE) return CEND_RST;
  if (st == TCP_S_FIN_WAIT || st == TCP_S_TIME_WAIT || st == TCP_S_CLOSE_WAIT || st == TCP_S_LAST_ACK) return CEND_FIN;
  return CEND_TIMEOUT;
}

/**
 * connStatsEnd writes EVT_CONN_END and EVT_CONN_STATS for a logged connection that ends; when
 * the ring has no room for both, neither is written and STAT_EVENTS_LOST counts the loss.
 * `reason` is a CEND_* or 0xff to derive it from the session's state.
 * multi-core: the ring head is single-writer; per-worker rings come with the multi-core work.
 */
export function connStatsEnd(rec: u32, c: usize, reason: u8, gone: bool): void {
  const base = hdr(HDR_CONNSTATS_BASE);
  if (base == 0 || !logged(c)) return;
  const cap = hdr(HDR_EVT_CAP);
  const head = hdr(HDR_EVT_HEAD);
  if (head - hdr(HDR_EVT_TAIL) + 2 > cap) {
    count(STAT_EVENTS_LOST, 1);
    return;
  }
  const ring = hdr(HDR_EVT_BASE);
  const e = <usize>(ring + (head & (cap - 1)) * EVT_SIZE);
  writeEvent(e, EVT_CONN_END, c);
  store<u8>(e + EVT_REASON, reason != 0xff ? reason : endReason(c, gone));
  const x = <usize>(ring + ((head + 1) & (cap - 1)) * EVT_SIZE);
  memory.fill(x, 0, EVT_SIZE);
  store<u8>(x + EVT_TYPE, EVT_CONN_STATS);
  memory.copy(x + EVT_STATS, statsAddress(base, rec), CONNSTATS_SIZE);
  setHdr(HDR_EVT_HEAD, head + 2);
}
