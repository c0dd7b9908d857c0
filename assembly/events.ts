// events.ts — session created/expired/state-changed records for the host (session sync to a
// backup director, logs). The core writes at head, the host reads at tail; a full ring drops the event and counts
// STAT_EVENTS_LOST rather than overwrite what the host has not read.
// The host drains the ring on another thread while process() runs (src/io: the data path runs in
// workers): a single-producer (at a time, see emitEvent) single-consumer ring, so head is published with an atomic store after
// the record is written and tail is read atomically (the host stores it atomically after reading).
import {
  CONN_CIP, CONN_CPORT, CONN_FLAGS, CONN_LIP, CONN_LPORT, CONN_PROTO, CONN_RIP,
  CONN_RPORT, CONN_RS, CONN_STATE, CONN_SVC, CONN_VIP, CONN_VPORT, CONNF_FWD_MASK, CONNF_FWD_SHIFT,
  EVT_CIP, EVT_CPORT, EVT_FWD, EVT_LIP, EVT_LPORT, EVT_PROTO, EVT_RIP, EVT_RPORT, EVT_RS, EVT_SIZE,
  EVT_STATE, EVT_SVC, EVT_TYPE, EVT_VIP, EVT_VPORT, EVT_CMAC, EVT_CDEV, EVT_LIPIDX, CONN_CMAC, CONN_CDEV,
  CONN_LIPIDX, CONN_SIZE, CONN6_SIZE, EVT_CIP6, HEADER_BASE, HDR_CONN_BASE, HDR_CONN6_BASE, HDR_EVT_BASE,
  HDR_EVT_CAP, HDR_EVT_HEAD, HDR_EVT_TAIL, HDR_OPTIONS, OPT_EVENTS, PROTO_V6, STAT_EVENTS_LOST, CONNXF_PROXY,
  CONNX_FLAGS, CONNX_SIZE, EVT_CONNX, EVT_PROXY_MARK,
} from './abi';
import { proxyMark } from './clientaddr';
import { copy6, hdr } from './mem';
import { connxAddress } from './seqadj';
import { count } from './stats';

/**
 * emitEvent copies the session record `rec` into the ring as an event of `type`. There is one
 * ring for every lane (the fields of lane 0's header): each event comes from a change to the
 * session table, and with more than one lane those run only under the table's exclusive lock
 * (index.ts; the lean hits of the read lock emit none), so the ring has one producer at a time
 * and holds the events in the order the table changed. With a ring per lane, drained one after
 * the other, a SYN-proxied session's "established with its deltas" (the worker of the server's
 * side) could reach a backup before its "created" (the client's worker) and be undone by it.
 */
export function emitEvent(type: u8, rec: usize): void {
  if ((hdr(HDR_OPTIONS) & OPT_EVENTS) == 0 || !eventsFit(1)) return;
  writeEvent(eventRecord(0), type, rec);
  publishEvents(1);
}

/** eventsFit: `n` more records fit in the ring; when not, STAT_EVENTS_LOST counts one loss */
export function eventsFit(n: u32): bool {
  if (hdr(HDR_EVT_HEAD) - atomic.load<u32>(<usize>(HEADER_BASE + HDR_EVT_TAIL)) + n > hdr(HDR_EVT_CAP)) {
    count(STAT_EVENTS_LOST, 1);
    return false;
  }
  return true;
}

/** eventRecord: the address of the ring's record `k` places after its head */
export function eventRecord(k: u32): usize {
  return <usize>(hdr(HDR_EVT_BASE) + ((hdr(HDR_EVT_HEAD) + k) & (hdr(HDR_EVT_CAP) - 1)) * EVT_SIZE);
}

/** publishEvents hands the host the `n` records written after the head (an atomic store: after them) */
export function publishEvents(n: u32): void {
  atomic.store<u32>(<usize>(HEADER_BASE + HDR_EVT_HEAD), hdr(HDR_EVT_HEAD) + n);
}

/** writeEvent fills the event record at `e` from session record `rec` */
export function writeEvent(e: usize, type: u8, rec: usize): void {
  store<u8>(e + EVT_TYPE, type);
  store<u8>(e + EVT_PROTO, load<u8>(rec + CONN_PROTO));
  store<u8>(e + EVT_STATE, load<u8>(rec + CONN_STATE));
  store<u8>(e + EVT_FWD, (load<u8>(rec + CONN_FLAGS) & CONNF_FWD_MASK) >> CONNF_FWD_SHIFT);
  store<u32>(e + EVT_CIP, load<u32>(rec + CONN_CIP));
  store<u32>(e + EVT_VIP, load<u32>(rec + CONN_VIP));
  store<u16>(e + EVT_CPORT, load<u16>(rec + CONN_CPORT));
  store<u16>(e + EVT_VPORT, load<u16>(rec + CONN_VPORT));
  store<u32>(e + EVT_RIP, load<u32>(rec + CONN_RIP));
  store<u16>(e + EVT_RPORT, load<u16>(rec + CONN_RPORT));
  store<u16>(e + EVT_LPORT, load<u16>(rec + CONN_LPORT));
  store<u32>(e + EVT_LIP, load<u32>(rec + CONN_LIP));
  store<u16>(e + EVT_SVC, load<u16>(rec + CONN_SVC));
  store<u16>(e + EVT_RS, load<u16>(rec + CONN_RS));
  copy6(e + EVT_CMAC, rec + CONN_CMAC);
  store<u8>(e + EVT_CDEV, load<u8>(rec + CONN_CDEV));
  store<u8>(e + EVT_CDEV + 1, 0);
  store<u16>(e + EVT_LIPIDX, load<u16>(rec + CONN_LIPIDX));
  store<u16>(e + EVT_LIPIDX + 2, 0);
  const index = <u32>((rec - <usize>hdr(HDR_CONN_BASE)) / CONN_SIZE);
  // the IPv6 part: the record's CONN6 extension (cip6, vip6, rip6, lip6 in the same order)
  if (load<u8>(rec + CONN_PROTO) & PROTO_V6) {
    memory.copy(e + EVT_CIP6, <usize>(hdr(HDR_CONN6_BASE) + index * CONN6_SIZE), CONN6_SIZE);
  } else {
    memory.fill(e + EVT_CIP6, 0, CONN6_SIZE);
  }
  // the stream editors' state (seqadj.ts): a backup that installs this record must translate the
  // connection's next segment exactly as this director would (sync.ts restoreConnx)
  const x = connxAddress(index);
  let mark: u32 = 0;
  if (x != 0) {
    memory.copy(e + EVT_CONNX, x, CONNX_SIZE);
    const m = proxyMark(index);
    if (m != 0 && (load<u16>(x + CONNX_FLAGS) & CONNXF_PROXY) != 0) mark = load<u32>(m);
  } else {
    memory.fill(e + EVT_CONNX, 0, CONNX_SIZE);
  }
  store<u32>(e + EVT_PROXY_MARK, mark);
}
