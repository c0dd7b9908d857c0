// connstats.ts — per-connection packet and byte counters for connection logs, in the parallel
// region HDR_CONNSTATS_BASE (CONNSTATS_SIZE per session record, CORE.md rule 1), and the
// EVT_CONN_END + EVT_CONN_STATS pair the host turns into one JSON line when a logged connection
// ends. A director without the region pays one header load per packet; a connection is counted
// only when its service logged connections as it started (CSTF_LOGGED), so removing the service
// later still logs it (CEND_FLUSHED). Never allocates; the ring is shared with events.ts.
import {
  CEND_EVICTED, CEND_FIN, CEND_FLUSHED, CEND_RST, CEND_TIMEOUT, CONN_SVC, CONNSTATS_SIZE, CST_BYTES_IN,
  CST_BYTES_OUT, CST_CREATED, CST_FLAGS, CST_LAST, CST_PKTS_IN, CST_PKTS_OUT, CSTF_EVICTED, CSTF_FIN,
  CSTF_LOGGED, CSTF_RST, EVT_CONN_END, EVT_CONN_STATS, EVT_REASON, EVT_SIZE, EVT_STATS, EVT_TYPE,
  HDR_CONNSTATS_BASE, HDR_SVC_BASE,
  SCR_TCPFLAGS, SVC_FLAGS2, SVC_SIZE, SVCF2_CONNLOG,
} from './abi';
import { eventRecord, eventsFit, publishEvents, writeEvent } from './events';
import { hdr } from './mem';
import { TH_FIN, TH_RST } from './wire';

// @ts-ignore: decorator
@inline function statsAddress(base: u32, rec: u32): usize {
  return <usize>(base + rec * CONNSTATS_SIZE);
}

/**
 * connStatsStart arms the counters of new session record `rec` (at `c`, created at `now`) when
 * its service logs connections, and disarms them otherwise (the record may hold a previous
 * connection's counters).
 */
export function connStatsStart(rec: u32, c: usize, now: u32): void {
  const base = hdr(HDR_CONNSTATS_BASE);
  if (base == 0) return;
  const s = statsAddress(base, rec);
  const svc = <usize>(hdr(HDR_SVC_BASE) + <u32>load<u16>(c + CONN_SVC) * SVC_SIZE);
  if ((load<u8>(svc + SVC_FLAGS2) & SVCF2_CONNLOG) == 0) {
    store<u8>(s + CST_FLAGS, 0);
    return;
  }
  memory.fill(s, 0, CONNSTATS_SIZE);
  store<u8>(s + CST_FLAGS, CSTF_LOGGED);
  store<u32>(s + CST_CREATED, now);
  store<u32>(s + CST_LAST, now);
}

/**
 * connStatsCount adds one forwarded packet of `len` bytes (its IP total length as it arrived)
 * to session `rec` in direction `out`, and notes a TCP FIN or RST (slot scratch `scr`).
 * multi-core: the two directions of one connection may reach two workers; their counters are
 * separate words, but CST_LAST and the flags byte are written by both (a lost FIN/RST mark
 * turns the end reason into timeout, a lost CST_LAST shortens the duration: harmless for a log).
 */
// @ts-ignore: decorator
@inline export function connStatsCount(rec: u32, scr: usize, tcp: bool, out: bool, len: u32, now: u32): void {
  const base = hdr(HDR_CONNSTATS_BASE);
  if (base == 0) return;
  countLogged(statsAddress(base, rec), scr, tcp, out, len, now);
}

// @ts-ignore: decorator
@inline function countLogged(s: usize, scr: usize, tcp: bool, out: bool, len: u32, now: u32): void {
  const flags = load<u8>(s + CST_FLAGS);
  if ((flags & CSTF_LOGGED) == 0) return;
  const p = s + (out ? CST_PKTS_OUT : CST_PKTS_IN);
  store<u32>(p, load<u32>(p) + 1);
  // bytes in shares its word with the flags byte: 56 bits of count never carry into it
  const b = s + (out ? CST_BYTES_OUT : CST_BYTES_IN);
  store<u64>(b, load<u64>(b) + <u64>len);
  store<u32>(s + CST_LAST, now);
  // only the rare FIN or RST writes the flags byte
  if (tcp) {
    const tf = load<u8>(scr + SCR_TCPFLAGS);
    if (tf & (TH_FIN | TH_RST)) {
      store<u8>(s + CST_FLAGS, flags | ((tf & TH_RST) ? CSTF_RST : 0) | ((tf & TH_FIN) ? CSTF_FIN : 0));
    }
  }
}

/** connStatsEvict marks session `rec` as retired early (a port reuse, the embryonic budget), before it is expired. */
export function connStatsEvict(rec: u32): void {
  const base = hdr(HDR_CONNSTATS_BASE);
  if (base == 0) return;
  const s = statsAddress(base, rec);
  store<u8>(s + CST_FLAGS, load<u8>(s + CST_FLAGS) | CSTF_EVICTED);
}

/** endReason: how a connection ended (CEND_*), from what was seen of it or `gone` (flushed). */
function endReason(flags: u8, gone: bool): u8 {
  if (gone) return CEND_FLUSHED;
  if (flags & CSTF_EVICTED) return CEND_EVICTED;
  if (flags & CSTF_RST) return CEND_RST;
  if (flags & CSTF_FIN) return CEND_FIN;
  return CEND_TIMEOUT;
}

/**
 * connStatsEnd writes EVT_CONN_END and EVT_CONN_STATS for logged connection `rec` (at `c`) that
 * ends, `gone` when its service or server was removed. Both records are written before one
 * atomic store of the head publishes them (events.ts: the host drains on another thread), so
 * the pair is never split; when the ring has no room for both, neither is written and
 * STAT_EVENTS_LOST counts one loss. Unlike emitEvent this does not need OPT_EVENTS: the region
 * exists only when a service logs. The record is disarmed so nothing logs it twice.
 * The ring is the table's, one producer at a time (events.ts).
 */
export function connStatsEnd(rec: u32, c: usize, gone: bool): void {
  const base = hdr(HDR_CONNSTATS_BASE);
  if (base == 0) return;
  const s = statsAddress(base, rec);
  const flags = load<u8>(s + CST_FLAGS);
  if ((flags & CSTF_LOGGED) == 0) return;
  store<u8>(s + CST_FLAGS, 0);
  if (!eventsFit(2)) return;
  const e = eventRecord(0);
  writeEvent(e, EVT_CONN_END, c);
  store<u8>(e + EVT_REASON, endReason(flags, gone));
  const x = eventRecord(1);
  memory.fill(x, 0, EVT_SIZE);
  store<u8>(x + EVT_TYPE, EVT_CONN_STATS);
  memory.copy(x + EVT_STATS, s, CONNSTATS_SIZE);
  // the copy keeps the flags byte: the host masks it off the bytes-in word
  publishEvents(2);
}
