// embryonic.ts — the budget of embryonic sessions (TCP SYN_RECV: a client's SYN was seen, its
// handshake ACK not yet), which is all a spoofed-source SYN flood can create. They are counted
// at every state change (tcp_state.ts applyTcpState) and end (session.ts endConn); at the
// budget a new one evicts an old one first, and a full table evicts one to make room for any new
// session. Established sessions are never evicted.
//
// Eviction is a clock hand over the record array (HDR_EVICT_CURSOR) that takes the first
// embryonic record it meets. The freed record goes to the head of the free list, and the session
// being created takes it at once, so it sits just behind the hand: it lives a full turn of the
// hand, about budget / SYN rate (27 ms for 16,384 at 600,000 SYN/s), where random eviction would
// lose a fixed share of young sessions at any age. A legitimate client needs its session only
// until its ACK, one round trip later. The hand looks at EVICT_SCAN records at most per call, so
// one SYN never walks the table; records whose timer ran out are reclaimed on the way.
//
// With several lanes the count and the hand are the table's (lane 0's header), as the event ring
// is: sessions are created and evicted only under the exclusive table lock (index.ts). A hand per
// lane evicted the session one lane had just placed behind its own hand as soon as another lane's
// hand got there: lifetimes fell to a random share of a turn (median 86 ms for 205 ms with two
// lanes), and under load a legitimate client's handshake rarely outlived it.
import {
  CONNF_DETACHED, CONNF_TEMPLATE, CONNF_USED, CONN_EXPIRES, CONN_FLAGS, CONN_PROTO, CONN_STATE, HDR_CONN_HIGH, HDR_EMBRYONIC,
  HDR_EMBRYONIC_MAX, HDR_EVICT_CURSOR, HDR_SYN_RECV_PRESSURE, IPPROTO_TCP, PROTO_V6, STAT_EMBRYONIC_EVICTED, TCP_S_SYN_RECV,
} from './abi';
import { connStatsEvict } from './connstats';
import { hdr, setHdr, timeReached } from './mem';
import { connAddress, endExpired, expireConn, timeoutMs } from './session';
import { count } from './stats';

/** records the hand looks at per eviction: with a budget of a quarter of the table it finds one in ~4 */
// @ts-ignore: decorator
@inline const EVICT_SCAN: u32 = 64;

/** embryonicChange keeps the count in step when a TCP session moves from state `from` to `to`. */
// @ts-ignore: decorator
@inline export function embryonicChange(from: u32, to: u32): void {
  if (from == TCP_S_SYN_RECV) {
    if (to != TCP_S_SYN_RECV) setHdr(HDR_EMBRYONIC, hdr(HDR_EMBRYONIC) - 1);
  } else if (to == TCP_S_SYN_RECV) {
    setHdr(HDR_EMBRYONIC, hdr(HDR_EMBRYONIC) + 1);
  }
}

/** isEmbryonic: record `c` is a TCP connection in SYN_RECV (not a quarantined Full-NAT tuple: its connection is over) */
// @ts-ignore: decorator
@inline export function isEmbryonic(c: usize): bool {
  return (load<u8>(c + CONN_FLAGS) & (CONNF_USED | CONNF_TEMPLATE | CONNF_DETACHED)) == CONNF_USED &&
    // an IPv6 session's protocol byte carries PROTO_V6 (batch6.ts): both families count
    (load<u8>(c + CONN_PROTO) & ~PROTO_V6) == IPPROTO_TCP && load<u8>(c + CONN_STATE) == TCP_S_SYN_RECV;
}

/** embryonicFull: a new embryonic session must evict one first */
// @ts-ignore: decorator
@inline export function embryonicFull(): bool {
  return hdr(HDR_EMBRYONIC) >= hdr(HDR_EMBRYONIC_MAX);
}

/**
 * evictEmbryonic frees one record: the first embryonic session after the hand, or a record whose
 * timer ran out that the sweep has not reached. Returns false when EVICT_SCAN records held
 * neither; the hand keeps its progress for the next call.
 */
export function evictEmbryonic(now: u32): bool {
  const high = hdr(HDR_CONN_HIGH);
  if (high == 0) return false;
  let cur = hdr(HDR_EVICT_CURSOR);
  for (let k: u32 = 0; k < EVICT_SCAN; k++) {
    if (cur >= high) cur = 0;
    const c = connAddress(cur);
    const flags = load<u8>(c + CONN_FLAGS);
    if ((flags & CONNF_USED) != 0) {
      if (isEmbryonic(c)) {
        setHdr(HDR_EVICT_CURSOR, cur + 1);
        // its connection log line says evicted, not timeout: the operator must see a flood's victims
        connStatsEvict(cur);
        expireConn(cur);
        count(STAT_EMBRYONIC_EVICTED, 1);
        return true;
      }
      // a stale connection is free room too, unless its Full-NAT tuple stays in quarantine
      // (session.ts endExpired); templates are left to the sweep (they may control others)
      if ((flags & CONNF_TEMPLATE) == 0 && timeReached(load<u32>(c + CONN_EXPIRES), now) && endExpired(cur, now)) {
        setHdr(HDR_EVICT_CURSOR, cur + 1);
        return true;
      }
    }
    cur++;
  }
  setHdr(HDR_EVICT_CURSOR, cur);
  return false;
}

/** synRecvPressure: the embryonic budget is at least half used and SYN_RECV has its short timer */
// @ts-ignore: decorator
@inline export function synRecvPressure(): bool {
  return hdr(HDR_SYN_RECV_PRESSURE) != 0 && hdr(HDR_EMBRYONIC) * 2 >= hdr(HDR_EMBRYONIC_MAX);
}

/**
 * synRecvTimeout: the timer of a session in SYN_RECV; shorter under pressure (IPVS secure_tcp),
 * so a flood's leftovers leave the table soon after it ends. A Full-NAT session that ends in
 * SYN_RECV under pressure does not hold its LIP:lport tuple in quarantine either (session.ts
 * endExpired): the quarantine outlasts a server's TIME_WAIT, which a connection that never got
 * established cannot have, and under a flood the pool needs its tuples back. At worst a server
 * still holds a request for the tuple and answers the next client's SYN with an ACK, which that
 * client resets and retries (RFC 9293 §3.10.7.3): a second of delay, not a failure.
 */
// @ts-ignore: decorator
@inline export function synRecvTimeout(): u32 {
  return synRecvPressure() ? hdr(HDR_SYN_RECV_PRESSURE) : timeoutMs(TCP_S_SYN_RECV);
}
