// session.ts — the connection table: records in one array, found through an open-addressing
// index (linear probing, backward-shift deletion, no tombstones) that holds a key per lookup
// direction: in (client -> VIP) for every session, out (RS -> client or RS -> LIP) for NAT and
// Full-NAT. It owns allocation, expiry and the RS connection counters; it never allocates
// memory and never scans the whole table in one call.
//
// ╒════════ index slot (u32) ════════╕   tag = top 7 bits of the key's hash: most mismatching
// │ 31..25 tag │ 24 dir │ 23..0 rec+1 │   slots are skipped without touching their record
// └──────────────────────────────────┘
import {
  CONNF_ACTIVE, CONNF_DETACHED, CONNF_OUT, CONNF_POOL, CONNF_TEMPLATE, CONNF_USED, CONN_CDEV, CONN_CIP, CONN_CMAC,
  CONN_CPORT,
  CONN_EXPIRES, CONN_FLAGS, CONN_LINK, CONN_LIP, CONN_LIPIDX, CONN_TMPL_CONTROLS, CONN_LPORT, CONN_PROTO, CONN_RIP,
  CONN_RPORT, CONN_RS, CONN_SIZE, CONN_STATE, CONN_SVC, CONN_VIP, CONN_VPORT, EVT_EXPIRED,
  EVT_TEMPLATE_EXPIRED, HDR_CONN_BASE, HDR_CONN_CAP, HDR_CONN_COUNT, HDR_CONN_FREE, HDR_CONN_HIGH,
  HDR_FNAT_QUARANTINE, HDR_IDX_BASE, HDR_IDX_MASK, HDR_LANE_COUNT, HDR_RS_BASE, HDR_SVC_BASE, HDR_SWEEP_CURSOR, HDR_TIMEOUTS, IDX_DIR_OUT,
  IDX_REC_MASK, IDX_TAG_SHIFT, PROTO_V6, RSF_REMOVED, RS_ACTIVE, RS_FLAGS, RS_INACTIVE, RS_PERSIST, RS_SIZE,
  STAT_CONN_EXPIRED, STAT_FNAT_QUARANTINED, SVCF_USED, SVC_FLAGS, SVC_PERSIST_TIMEOUT, SVC_SIZE, TCP_S_NONE,
  TCP_S_SYN_RECV, IPPROTO_TCP,
} from './abi';
import { connStatsEnd } from './connstats';
import { embryonicChange, isEmbryonic, synRecvPressure } from './embryonic';
import { emitEvent } from './events';
import { releaseTuple } from './fnat_pool';
import { flowHash } from './flow';
import { copy6, currentLane, hdr, lhdr, setHdr, setLhdr, timeReached } from './mem';
import { ETH_SRC } from './wire';
import { keyHash6 } from './session6';
import { clearConnx } from './seqadj';
import { count } from './stats';

// @ts-ignore: decorator
@inline export const NO_CONN: u32 = 0xffffffff;

// @ts-ignore: decorator
@inline export function connAddress(rec: u32): usize {
  return <usize>(hdr(HDR_CONN_BASE) + rec * CONN_SIZE);
}

/** recOf: the record index an index slot value points at */
// @ts-ignore: decorator
@inline export function recOf(slot: u32): u32 {
  return (slot & IDX_REC_MASK) - 1;
}

// @ts-ignore: decorator
@inline export function rsAddress(rs: u32): usize {
  return <usize>(hdr(HDR_RS_BASE) + rs * RS_SIZE);
}

// @ts-ignore: decorator
@inline function slotValue(hash: u32, rec: u32, out: bool): u32 {
  return (hash & ~((<u32>1 << IDX_TAG_SHIFT) - 1)) | (out ? IDX_DIR_OUT : 0) | (rec + 1);
}

/**
 * keyHash recomputes the hash a record was indexed under in one direction. The out key of a
 * Full-NAT session is RS -> LIP, of a NAT session RS -> client.
 */
export function keyHash(c: usize, out: bool): u32 {
  const proto = <u32>load<u8>(c + CONN_PROTO);
  if (proto & PROTO_V6) return keyHash6(c, <u32>((c - <usize>hdr(HDR_CONN_BASE)) / CONN_SIZE), out);
  if (!out) return flowHash(load<u32>(c + CONN_CIP), load<u32>(c + CONN_VIP), load<u32>(c + CONN_CPORT), proto);
  if (load<u8>(c + CONN_FLAGS) & CONNF_POOL) {
    return flowHash(load<u32>(c + CONN_RIP), load<u32>(c + CONN_LIP), load<u32>(c + CONN_RPORT), proto);
  }
  const ports = <u32>load<u16>(c + CONN_RPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16);
  return flowHash(load<u32>(c + CONN_RIP), load<u32>(c + CONN_CIP), ports, proto);
}

/**
 * lookupConn finds the record whose key in either direction equals the tuple as seen in a
 * packet. `template` selects persistence templates instead of connections (a packet never
 * matches a template). Returns the index slot value (rec + 1, dir bit) or 0 on a miss.
 */
export function lookupConn(hash: u32, src: u32, dst: u32, ports: u32, proto: u32, template: bool): u32 {
  const base = hdr(HDR_IDX_BASE);
  const mask = hdr(HDR_IDX_MASK);
  const tag = hash >>> IDX_TAG_SHIFT;
  let i = hash & mask;
  while (true) {
    const v = load<u32>(<usize>(base + (i << 2)));
    if (v == 0) return 0;
    if (v >>> IDX_TAG_SHIFT == tag && slotMatches(v, src, dst, ports, proto, template)) return v;
    i = (i + 1) & mask;
  }
  return 0;
}

/** slotMatches: the record index slot value `v` points at has, in v's direction, the key of lookupConn's arguments */
// @ts-ignore: decorator
@inline export function slotMatches(v: u32, src: u32, dst: u32, ports: u32, proto: u32, template: bool): bool {
  const c = connAddress(recOf(v));
  const want: u8 = template ? CONNF_TEMPLATE : 0;
  if (<u32>load<u8>(c + CONN_PROTO) != proto || (load<u8>(c + CONN_FLAGS) & CONNF_TEMPLATE) != want) return false;
  if ((v & IDX_DIR_OUT) == 0) {
    return load<u32>(c + CONN_CIP) == src && load<u32>(c + CONN_VIP) == dst && load<u32>(c + CONN_CPORT) == ports;
  }
  if (load<u32>(c + CONN_RIP) != src) return false;
  if (load<u8>(c + CONN_FLAGS) & CONNF_POOL) return load<u32>(c + CONN_LIP) == dst && load<u32>(c + CONN_RPORT) == ports;
  return load<u32>(c + CONN_CIP) == dst && (<u32>load<u16>(c + CONN_RPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16)) == ports;
}

/**
 * Every change of the index (insert, remove, a backward shift) bumps this thread's epoch: pass 3
 * trusts the home slot pass 2 read (SCR_HOME) only while the epoch is the one pass 2 saw. Other
 * threads do not change the index meanwhile: passes 2 and 3 of a lean batch run under the
 * table's read lock, a one-lane batch alone.
 */
let indexEpoch: u32 = 0;

// @ts-ignore: decorator
@inline export function currentIndexEpoch(): u32 {
  return indexEpoch;
}

/** indexInsert adds a key for `rec`; the index is at most half full, so it always finds room. */
export function indexInsert(hash: u32, rec: u32, out: bool): void {
  const base = hdr(HDR_IDX_BASE);
  const mask = hdr(HDR_IDX_MASK);
  let i = hash & mask;
  while (load<u32>(<usize>(base + (i << 2))) != 0) i = (i + 1) & mask;
  store<u32>(<usize>(base + (i << 2)), slotValue(hash, rec, out));
  indexEpoch++;
}

/** indexRemove deletes the key of `rec` in one direction and closes the gap (backward shift). */
export function indexRemove(rec: u32, out: bool): void {
  const base = hdr(HDR_IDX_BASE);
  const mask = hdr(HDR_IDX_MASK);
  const h = keyHash(connAddress(rec), out);
  const want = slotValue(h, rec, out);
  let i = h & mask;
  // the key was inserted under this hash, so it is met before an empty slot
  while (true) {
    const v = load<u32>(<usize>(base + (i << 2)));
    if (v == want) break;
    if (v == 0) return;
    i = (i + 1) & mask;
  }
  indexEpoch++;
  let hole = i;
  let j = (i + 1) & mask;
  while (true) {
    const v = load<u32>(<usize>(base + (j << 2)));
    if (v == 0) break;
    const home = keyHash(connAddress(recOf(v)), (v & IDX_DIR_OUT) != 0) & mask;
    // the entry at j may move into the hole unless its home lies cyclically in (hole, j]
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      store<u32>(<usize>(base + (hole << 2)), v);
      hole = j;
    }
    j = (j + 1) & mask;
  }
  store<u32>(<usize>(base + (hole << 2)), 0);
}

/**
 * followClient: a client's frame (at `frame`, on a TAP) sets where the session's replies go back
 * to, the device it came in by and its next hop's MAC: a failover on the client's side may
 * change them, so every client frame that is forwarded refreshes them.
 */
// @ts-ignore: decorator
@inline export function followClient(c: usize, frame: usize, inDev: u32): void {
  copy6(c + CONN_CMAC, frame + ETH_SRC);
  store<u8>(c + CONN_CDEV, <u8>inDev);
}

/** allocConn hands out a zeroed record, or NO_CONN when the table is full. */
export function allocConn(): u32 {
  let rec: u32;
  const free = hdr(HDR_CONN_FREE);
  if (free != 0) {
    rec = free - 1;
    setHdr(HDR_CONN_FREE, load<u32>(connAddress(rec) + CONN_LINK));
  } else {
    const high = hdr(HDR_CONN_HIGH);
    if (high >= hdr(HDR_CONN_CAP)) return NO_CONN;
    rec = high;
    setHdr(HDR_CONN_HIGH, high + 1);
  }
  const c = connAddress(rec);
  memory.fill(c, 0, CONN_SIZE);
  clearConnx(rec);
  setHdr(HDR_CONN_COUNT, hdr(HDR_CONN_COUNT) + 1);
  return rec;
}

/** setTuple writes the addresses, ports and owners every record has, connection or template. */
// @ts-ignore: decorator
@inline export function setTuple(c: usize, cip: u32, vip: u32, ports: u32, rip: u32, rport: u32, rs: u32, svc: u32, proto: u32): void {
  store<u32>(c + CONN_CIP, cip);
  store<u32>(c + CONN_VIP, vip);
  store<u32>(c + CONN_CPORT, ports);
  store<u32>(c + CONN_RIP, rip);
  store<u16>(c + CONN_RPORT, <u16>rport);
  store<u16>(c + CONN_RS, <u16>rs);
  store<u16>(c + CONN_SVC, <u16>svc);
  store<u8>(c + CONN_PROTO, <u8>proto);
}

/**
 * newTemplate creates the persistence template (client network tcip, VIP, service port tport)
 * -> real server `rs`, indexed under `hash`; NO_CONN when the table is full. The caller sets
 * its timer.
 */
export function newTemplate(hash: u32, tcip: u32, vip: u32, tport: u32, proto: u32, rip: u32, rport: u32, rs: u32, svc: u32): u32 {
  const t = allocConn();
  if (t == NO_CONN) return NO_CONN;
  const tc = connAddress(t);
  setTuple(tc, tcip, vip, tport, rip, rport, rs, svc, proto);
  store<u8>(tc + CONN_FLAGS, CONNF_USED | CONNF_TEMPLATE);
  indexInsert(hash, t, false);
  const r = rsAddress(rs);
  store<u32>(r + RS_PERSIST, load<u32>(r + RS_PERSIST) + 1);
  return t;
}

/** freeConn returns a record (already out of the index) to the free list. */
export function freeConn(rec: u32): void {
  const c = connAddress(rec);
  store<u8>(c + CONN_FLAGS, 0);
  store<u32>(c + CONN_LINK, hdr(HDR_CONN_FREE));
  setHdr(HDR_CONN_FREE, rec + 1);
  setHdr(HDR_CONN_COUNT, hdr(HDR_CONN_COUNT) - 1);
}

/** timeoutMs reads a timeout slot (TCP state number, TO_UDP, TO_ICMP). */
// @ts-ignore: decorator
@inline export function timeoutMs(slot: u32): u32 {
  return hdr(HDR_TIMEOUTS + (slot << 2));
}

/** templateTimeout: the persistence timeout of the template's service. */
function templateTimeout(c: usize): u32 {
  const svc = <usize>(hdr(HDR_SVC_BASE) + <u32>load<u16>(c + CONN_SVC) * SVC_SIZE);
  return load<u32>(svc + SVC_PERSIST_TIMEOUT);
}

/** detachTemplate takes a template out of the index (its server went away) but keeps the record
 * until the connections it controls are gone, so they never point at a reused record. */
export function detachTemplate(rec: u32): void {
  const c = connAddress(rec);
  const flags = load<u8>(c + CONN_FLAGS);
  if (flags & CONNF_DETACHED) return;
  indexRemove(rec, false);
  store<u8>(c + CONN_FLAGS, flags | CONNF_DETACHED);
}

/**
 * endConn finishes connection `rec` for everyone who counts connections: its in key, its share
 * of the RS counters and of its template's control count, STAT_CONN_EXPIRED and EVT_EXPIRED.
 * What it held on the way out (out key, Full-NAT tuple) is the caller's to keep or release.
 */
function endConn(rec: u32, c: usize, flags: u8): void {
  const r = rsAddress(<u32>load<u16>(c + CONN_RS));
  if (isEmbryonic(c)) embryonicChange(TCP_S_SYN_RECV, TCP_S_NONE);
  indexRemove(rec, false);
  if (flags & CONNF_ACTIVE) store<u32>(r + RS_ACTIVE, load<u32>(r + RS_ACTIVE) - 1);
  else store<u32>(r + RS_INACTIVE, load<u32>(r + RS_INACTIVE) - 1);
  const link = load<u32>(c + CONN_LINK);
  if (link != 0) {
    const t = connAddress(link - 1);
    store<u32>(t + CONN_TMPL_CONTROLS, load<u32>(t + CONN_TMPL_CONTROLS) - 1);
    store<u32>(c + CONN_LINK, 0);
  }
  count(STAT_CONN_EXPIRED, 1);
  emitEvent(EVT_EXPIRED, c);
  connStatsEnd(rec, c, connGone(c));
}

/**
 * expireConn removes a record: its index keys, its Full-NAT tuple, its share of the RS counters
 * and of its template's control count; then it emits the event and frees the record. A
 * quarantined tuple (a detached connection) has only its out key and its hold left to give back.
 */
export function expireConn(rec: u32): void {
  const c = connAddress(rec);
  const flags = load<u8>(c + CONN_FLAGS);
  if (flags & CONNF_TEMPLATE) {
    const r = rsAddress(<u32>load<u16>(c + CONN_RS));
    if ((flags & CONNF_DETACHED) == 0) indexRemove(rec, false);
    store<u32>(r + RS_PERSIST, load<u32>(r + RS_PERSIST) - 1);
    emitEvent(EVT_TEMPLATE_EXPIRED, c);
    freeConn(rec);
    return;
  }
  if ((flags & CONNF_DETACHED) == 0) endConn(rec, c, flags);
  if (flags & CONNF_OUT) indexRemove(rec, true);
  if (flags & CONNF_POOL) releaseTuple(c);
  freeConn(rec);
}

/**
 * quarantineConn ends Full-NAT connection `rec` but keeps its record, detached, holding the out
 * key RIP:rport -> LIP:lport until `until`: the real server may keep that tuple in TIME_WAIT, and
 * only the same client tuple may have it before then (fnat_pool.ts). The connection's end (event,
 * connection log line, counters) is now; the record's later expiry (expireConn) emits nothing.
 */
export function quarantineConn(rec: u32, until: u32): void {
  const c = connAddress(rec);
  const flags = load<u8>(c + CONN_FLAGS);
  endConn(rec, c, flags);
  store<u8>(c + CONN_FLAGS, (flags & ~CONNF_ACTIVE) | CONNF_DETACHED);
  store<u32>(c + CONN_EXPIRES, until);
  count(STAT_FNAT_QUARANTINED, 1);
}

/**
 * endExpired ends record `rec` whose timer ran out at `now`, or whose server or service is gone
 * (the sweep, or a lookup that met it first). A connection ends at its state's own timeout in
 * every mode; a Full-NAT TCP connection leaves its LIP:lport tuple held, detached
 * (quarantineConn), until HDR_FNAT_QUARANTINE after its last packet, since the real server may
 * keep that tuple in TIME_WAIT (fnat_pool.ts). The last packet's time is the timer less the
 * state's timeout: every packet sets the timer from the state it leaves (batch.ts forward). A
 * session idle longer than the quarantine releases its tuple with the record, and so does one
 * whose server is gone, or a handshake never completed under SYN flood pressure (its short
 * timer, embryonic.ts synRecvTimeout, says the pool needs the tuple back). Returns true when the
 * record was freed, false when it stays as a quarantined tuple.
 */
export function endExpired(rec: u32, now: u32): bool {
  const c = connAddress(rec);
  const flags = load<u8>(c + CONN_FLAGS);
  const q = hdr(HDR_FNAT_QUARANTINE);
  if ((flags & (CONNF_POOL | CONNF_DETACHED | CONNF_TEMPLATE)) == CONNF_POOL && q != 0 &&
    (load<u8>(c + CONN_PROTO) & ~PROTO_V6) == IPPROTO_TCP && !connGone(c)) {
    const state = <u32>load<u8>(c + CONN_STATE);
    if (state != TCP_S_SYN_RECV || !synRecvPressure()) {
      // a timeout changed since the timer was set shifts this estimate by the change
      const until = load<u32>(c + CONN_EXPIRES) - timeoutMs(state) + q;
      if (!timeReached(until, now)) {
        quarantineConn(rec, until);
        return false;
      }
    }
  }
  expireConn(rec);
  return true;
}

/** connGone: the session can no longer carry traffic (its RS or service was removed). */
// @ts-ignore: decorator
@inline export function connGone(c: usize): bool {
  const r = rsAddress(<u32>load<u16>(c + CONN_RS));
  if (load<u8>(r + RS_FLAGS) & RSF_REMOVED) return true;
  const svc = <usize>(hdr(HDR_SVC_BASE) + <u32>load<u16>(c + CONN_SVC) * SVC_SIZE);
  return (load<u8>(svc + SVC_FLAGS) & SVCF_USED) == 0;
}

/**
 * sweepStep looks at one record and expires it when its time has come (or its RS is gone).
 * A template that still controls connections is re-armed instead (IPVS n_control). Returns
 * true when it expired something: a record, or a Full-NAT connection whose tuple it moved into
 * quarantine (the record then expires a second time, when the quarantine is over).
 */
function sweepStep(rec: u32, now: u32): bool {
  const c = connAddress(rec);
  const flags = load<u8>(c + CONN_FLAGS);
  if ((flags & CONNF_USED) == 0) return false;
  const gone = connGone(c);
  if (flags & CONNF_TEMPLATE) {
    if (gone) detachTemplate(rec);
    if (!gone && !timeReached(load<u32>(c + CONN_EXPIRES), now) && (flags & CONNF_DETACHED) == 0) return false;
    if (load<u32>(c + CONN_TMPL_CONTROLS) != 0) {
      if (timeReached(load<u32>(c + CONN_EXPIRES), now)) store<u32>(c + CONN_EXPIRES, now + templateTimeout(c));
      return false;
    }
    expireConn(rec);
    return true;
  }
  if (gone || timeReached(load<u32>(c + CONN_EXPIRES), now)) {
    endExpired(rec, now);
    return true;
  }
  return false;
}

/**
 * sweepSessions visits up to `budget` records from where the last call stopped, wrapping at
 * the high-water mark, and returns how many it expired (sweepStep). Lookups also expire stale records they
 * meet, so the sweep's pace bounds memory reuse, not correctness. With N lanes, lane i visits
 * only records ≡ i (mod N), so N workers' sweeps never look at one record together.
 */
export function sweepSessions(budget: u32, now: u32): u32 {
  const high = hdr(HDR_CONN_HIGH);
  const lanes = hdr(HDR_LANE_COUNT) > 1 ? hdr(HDR_LANE_COUNT) : 1;
  const lane = currentLane();
  if (high <= lane) return 0;
  let cursor = lhdr(HDR_SWEEP_CURSOR);
  if (cursor % lanes != lane) cursor = lane;
  let expired: u32 = 0;
  // records of this lane below the high-water mark
  const mine = (high - lane + lanes - 1) / lanes;
  const n = budget < mine ? budget : mine;
  for (let k: u32 = 0; k < n; k++) {
    if (cursor >= high) cursor = lane;
    if (sweepStep(cursor, now)) expired++;
    cursor += lanes;
  }
  setLhdr(HDR_SWEEP_CURSOR, cursor);
  return expired;
}
