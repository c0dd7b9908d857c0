// batch.ts — one process() call per batch, in three passes (docs/design.md, contract 2):
//   1. parse and hash every frame (parse.ts) into its scratch record;
//   2. touch each frame's index bucket, so the cache misses of the whole batch overlap;
//   3. look up, create sessions on a miss, rewrite, count, and write each verdict.
// No prefetch in WASM: pass 2 stands in for it (2× at 1M sessions, docs/design.md).
import {
  CONNF_DETACHED, CONNF_FWD_MASK, CONNF_FWD_SHIFT, CONNF_OUT, CONNF_POOL, CONNF_USED,
  CONN_CDEV, CONN_CIP, CONN_CMAC, CONN_CPORT, CONN_EXPIRES, CONN_FLAGS, CONN_LINK, CONN_LIP, CONNX_FLAGS, CONNXF_REUSE_ANSWERED,
  CONN_LPORT, CONN_PROTO, CONN_RIP, CONN_RPORT, CONN_RS, CONN_STATE, CONN_SVC, CONN_TMPL_CONTROLS,
  BATCH_L2, BATCH_VNET, DESC_LEN, DESC_OFF, DESC_OUT_DEV, DESC_REASON, DESC_SIZE,
  DESC_VERDICT, DEV_ADDR, DEV_MAC, DEV_MTU, DEV_SIZE, DROP_CONFLICT, DROP_ICMP_UNRELATED,
  DROP_NOT_OURS, DROP_NO_NEIGH, DROP_NO_RS, DROP_NO_SERVICE, DROP_NO_SESSION, DROP_TABLE_FULL,
  CONN6_SIZE, HDR_CONN6_BASE, DROP_UNSUPPORTED, ETH_HLEN, EVT_CREATED, EVT_STATE_CHANGED, EVT_TEMPLATE_CREATED, FWD_DR, FWD_FNAT, FWD_INHERIT,
  FWD_NAT, FWD_TUN, HDR_BATCH_DEV, HDR_FNAT_QUARANTINE, HDR_BATCH_FLAGS, HDR_DESC_BASE, HDR_DEV_BASE, HDR_IDX_BASE,
  HDR_CONN_BASE, HDR_CONNX_BASE, HDR_IDX_MASK, HDR_OPTIONS, HDR_SCRATCH_BASE, HDR_SINK, HDR_SLOT_BASE, HDR_SLOT_COUNT, HDR_SLOT_SIZE, IDX_DIR_OUT,
  IDX_TAG_SHIFT, CONN_SIZE, IPPROTO_TCP,
  NO_RS, OPT_SLOPPY_TCP, OPT_UNKNOWN_HOST, OPT_UNKNOWN_PASS, PROCESS_HOST_SHIFT, RSF_READY,
  RSF_REMOVED, RSF_USED, RSF_V6, RS_DEV, RS_FLAGS, RS_FWD, RS_INACTIVE, RS_RPORT, RS_TUN_SRC,
  RS_WEIGHT, SCR_CLASS, SCR_DST, SCR_HASH, SCR_HOME, SCR_ICMP, SCR_L3, SCR_L4, SCR_PROTO, SCR_SIZE, SCR_SPORT,
  SCR_REPLY_SLOT, SCR_SRC, SCR_TCPFLAGS, STAT_CONN_CREATED, STAT_FORWARDED, STAT_FRAG_NEEDED_SENT,
  STAT_HOST, STAT_ICMP_RELAYED, STAT_PASSED, STAT_RX_BYTES, STAT_RX_PACKETS, SVCF_PERSIST,
  SVCF_MIDFLOW, SVCF_USED, SVC_FLAGS, SVC_FWD, SVC_PERSIST_MASK, SVC_PERSIST_TIMEOUT, SVC_SORRY, SVC_TUN_SRC, SVC_VPORT,
  TCP_S_CLOSE, TCP_S_ESTABLISHED, TCP_S_FIN_WAIT, TCP_S_NONE, TCP_S_TIME_WAIT, TO_UDP, VERDICT_DROP, VERDICT_FORWARD,
  VERDICT_HELD, VERDICT_HOST, VNET_FLAGS, VNET_F_NEEDS_CSUM, VNET_HDR_LEN, STAT_BATCHES, DROP_EMBRYONIC_LIMIT,
  HDR_EMIT_COUNT, SVCF2_SYNPROXY, SVC_FLAGS2, TCP_S_SYN_RECV,
  DROP_BAD_COOKIE, DROP_SYNPROXY_PENDING, TCP_S_SYN_SENT,
} from './abi';
import { embryonicFull, evictEmbryonic, synRecvTimeout } from './embryonic';
import {
  answerSyn, checkCookieAck, cookieInfo, openServer, payloadOf, proxyWindow, synproxyActive, synproxyPending, quoteAdjust, resetClient, serverAnswered,
  serverRefused,
} from './synproxy';
import { COOKIE_BAD } from './syncookie';
import {
  CLIENTADDR_FAILED, clampAckOut, clampMss, clientAddrFlags, clientAddrIn, clientAddrOut, clientAddrRoom, clientAddrStart,
  proxyPending,
} from './clientaddr';
import { connStatsCount, connStatsEvict, connStatsStart } from './connstats';
import { emitEvent } from './events';
import { NO_LIP, chooseTuple, tupleHint } from './fnat_pool';
import { flowHash } from './flow';
import { fragNeeded, fragNeededLength, relayIcmpError } from './icmp';
import { bswap16, copy6, hdr, lhdr, setLhdr, timeReached } from './mem';
import {
  CLASS_DONE, CLASS_FRAG, CLASS_ICMP_ERR, CLASS_IN, CLASS_LIP, CLASS_OUT, CLASS_UNKNOWN, CLASS_V6, parseFrame,
} from './parse';
import { forward6, handleExt, lookupScr6, nat64Reply, newConn6, tunSource6 } from './batch6';
import { mayCreate, replySlot } from './reply_touch';
import { schedule } from './sched/index';
import { peekReset } from './sched/peek';
import { connxAddress, seqAdjust } from './seqadj';
import { conn6Address, rs6Address, rsIsV6 } from './session6';
import { NO_SERVICE, lookupService, serviceAddress } from './service';
import {
  NO_CONN, allocConn, connAddress, connGone, detachTemplate, expireConn, followClient, freeConn, indexInsert,
  endExpired, currentIndexEpoch, lookupConn, newTemplate, quarantineConn, recOf, rsAddress, setTuple, slotMatches,
  timeoutMs,
} from './session';
import { count, countConn, countDrop, countSyn, countTraffic } from './stats';
import { DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, applyTcpState, nextTcpState } from './tcp_state';
import { drIn } from './xmit/dr';
import { fnatIn } from './xmit/fnat';
import { fnatIn6, fnatOut6 } from './xmit/fnat6';
import { natIn, natOut } from './xmit/nat';
import { natIn6, natOut6 } from './xmit/nat6';
import { setMacs } from './xmit/rewrite';
import { ETH_SRC, IP6_HLEN, IP6_PLEN, IP_HLEN, IP_TOT_LEN, TCP_FLAGS, TH_ACK, TH_FIN, TH_RST, TH_SYN } from './wire';
import { TUN_FAILED_BELOW, TUN_FRAG_NEEDED, tunIn } from './xmit/tun';
import { tunIn6 } from './xmit/tun6';

/** forward()'s `forced` when the segment's flags decide the next TCP state */
// @ts-ignore: decorator
@inline export const STATE_FROM_SEGMENT: u32 = 0xff;

/** newConn results at or above this are failures: FAILED | DROP_* reason */
// @ts-ignore: decorator
@inline export const FAILED: u32 = 0x80000000;

// @ts-ignore: decorator
@inline export function devAddress(dev: u32): usize {
  return <usize>(hdr(HDR_DEV_BASE) + dev * DEV_SIZE);
}

// @ts-ignore: decorator
@inline export function settle(desc: usize, verdict: u8, reason: u8): void {
  store<u8>(desc + DESC_VERDICT, verdict);
  store<u8>(desc + DESC_REASON, reason);
}

/**
 * slotEnd: the end of the slot that holds descriptor `desc`'s frame, as far as the frame may
 * grow. Found from the frame's offset, not the descriptor's index: the io_uring port reads a
 * batch into whichever slots the kernel had (native/uring.c).
 */
// @ts-ignore: decorator
@inline function slotEnd(desc: usize): usize {
  const base = lhdr(HDR_SLOT_BASE);
  const size = hdr(HDR_SLOT_SIZE);
  const i = (load<u32>(desc + DESC_OFF) - base) / size;
  return <usize>(base + (i + 1) * size);
}

/** usable: may take new connections through a persistence template (weight 0 = quiesced: no) */
// @ts-ignore: decorator
@inline export function usable(r: usize): bool {
  const f = load<u8>(r + RS_FLAGS);
  return (f & (RSF_USED | RSF_REMOVED | RSF_READY)) == (RSF_USED | RSF_READY) && load<u32>(r + RS_WEIGHT) > 0;
}

/**
 * unknownPacket applies the host's policy to a packet that is neither for a VIP nor part of a
 * session: drop (default), hand to the host, or pass back unchanged to its device.
 */
export function unknownPacket(desc: usize, inDev: u32): void {
  const opts = hdr(HDR_OPTIONS);
  if (opts & OPT_UNKNOWN_HOST) {
    settle(desc, VERDICT_HOST, 0);
  } else if (opts & OPT_UNKNOWN_PASS) {
    store<u8>(desc + DESC_OUT_DEV, <u8>inDev);
    settle(desc, VERDICT_FORWARD, 0);
    count(STAT_PASSED, 1);
  } else {
    settle(desc, VERDICT_DROP, DROP_NOT_OURS);
  }
}

/**
 * findTemplate returns the live persistence template of (client network, service) or NO_CONN.
 */
function findTemplate(hash: u32, tcip: u32, vip: u32, tport: u32, proto: u32, now: u32): u32 {
  return liveTemplate(lookupConn(hash, tcip, vip, tport, proto, true), now);
}

/**
 * liveTemplate checks the template an index slot value `v` (0 = none) points at: NO_CONN when
 * there is none, or when its server may no longer take connections — then it is retired:
 * expired if nothing depends on it, otherwise detached from the index until its connections go.
 */
export function liveTemplate(v: u32, now: u32): u32 {
  if (v == 0) return NO_CONN;
  const t = recOf(v);
  const tc = connAddress(t);
  const controls = load<u32>(tc + CONN_TMPL_CONTROLS);
  const r = rsAddress(<u32>load<u16>(tc + CONN_RS));
  if (usable(r) && (controls != 0 || !timeReached(load<u32>(tc + CONN_EXPIRES), now))) return t;
  if (controls == 0) expireConn(t);
  else detachTemplate(t);
  return NO_CONN;
}

/** pickServer results with this bit set are the service's sorry server */
// @ts-ignore: decorator
@inline export const SORRY_PICK: u32 = 0x10000;

/**
 * pickServer runs the service's scheduler for a client (keys in wire order, as schedule takes
 * them) and falls back to its sorry server: a real-server index, | SORRY_PICK for the sorry
 * server, or NO_RS.
 */
export function pickServer(s: usize, cip: u32, cport: u32, vip: u32): u32 {
  const rs = schedule(s, cip, <u16>cport, vip);
  if (rs != NO_RS) return rs;
  const sorryRs = <u32>load<u16>(s + SVC_SORRY);
  if (sorryRs == 0) return NO_RS;
  const sr = rsAddress(sorryRs - 1);
  if ((load<u8>(sr + RS_FLAGS) & (RSF_USED | RSF_REMOVED)) != RSF_USED) return NO_RS;
  return (sorryRs - 1) | SORRY_PICK;
}

/** strayTcp: a TCP segment that may not create a session (IPVS schedules only on a SYN) */
// @ts-ignore: decorator
@inline export function strayTcp(scr: usize, proto: u32): bool {
  if (proto != IPPROTO_TCP || (hdr(HDR_OPTIONS) & OPT_SLOPPY_TCP) != 0) return false;
  const tf = load<u8>(scr + SCR_TCPFLAGS);
  return (tf & TH_SYN) == 0 || (tf & TH_RST) != 0;
}

/**
 * reuseLip: the LIP index the closing session `prev` (a client's new SYN reuses it, or NO_CONN)
 * holds, when it is a Full-NAT session whose tuple the new connection may try first
 * (tupleHint); else NO_LIP. Its lport is then the hint's port.
 */
export function reuseLip(prev: u32): u32 {
  if (prev == NO_CONN) return NO_LIP;
  const pc = connAddress(prev);
  return (load<u8>(pc + CONN_FLAGS) & CONNF_POOL) != 0 ? tupleHint(pc) : NO_LIP;
}

/**
 * connCreated does what every new connection needs once it is indexed: the link to its
 * persistence template (tmpl, or NO_CONN), the server's inactive count, the counters.
 */
export function connCreated(c: usize, rec: u32, tmpl: u32, r: usize, svcIdx: u32, rs: u32): void {
  if (tmpl != NO_CONN) {
    store<u32>(c + CONN_LINK, tmpl + 1);
    const tc = connAddress(tmpl);
    store<u32>(tc + CONN_TMPL_CONTROLS, load<u32>(tc + CONN_TMPL_CONTROLS) + 1);
  }
  store<u32>(r + RS_INACTIVE, load<u32>(r + RS_INACTIVE) + 1);
  countConn(svcIdx, rs);
  count(STAT_CONN_CREATED, 1);
}

/**
 * retirePrevious ends the session a client's new SYN reuses (IPVS conn_reuse_mode), once the new
 * connection's server `rs` is known. A Full-NAT session toward another server keeps its tuple in
 * quarantine (that server may hold it in TIME_WAIT); toward the same server, or in any other
 * mode, it simply expires, and its LIP:lport is free for the new connection to take again.
 */
export function retirePrevious(prev: u32, rs: u32, hintLip: u32, now: u32): void {
  if (prev == NO_CONN) return;
  // its connection log line says evicted: a new connection took its place
  connStatsEvict(prev);
  const c = connAddress(prev);
  // toward the same server the new connection takes the tuple back at once (tupleHint says it
  // can): it must not be free for anybody else in between
  const keep = (load<u8>(c + CONN_FLAGS) & CONNF_POOL) != 0 && (rs != <u32>load<u16>(c + CONN_RS) || hintLip == NO_LIP);
  if (keep && hdr(HDR_FNAT_QUARANTINE) != 0) quarantineConn(prev, now + hdr(HDR_FNAT_QUARANTINE));
  else expireConn(prev);
}

/**
 * newConn schedules a real server of service `svcIdx` for the first packet of a connection
 * (slot scratch `scr`) and creates its session: persistence template, Full-NAT tuple, index keys,
 * counters, event. `prev` is the closing session the client reuses its tuple from (or NO_CONN):
 * it is retired here in every outcome, and a Full-NAT connection tries its LIP:lport first.
 * Returns the record index, or FAILED | DROP_* reason.
 */
export function newConn(scr: usize, svcIdx: u32, frame: usize, l2: bool, inDev: u32, now: u32, prev: u32,
  proxied: bool = false): u32 {
  const s = serviceAddress(svcIdx);
  const proto = <u32>load<u8>(scr + SCR_PROTO);
  // IPVS schedules TCP only on a SYN: a stray segment must not pin a server. A mid-flow service
  // takes the segment anyway (checked against the mode below): its scheduler's choice is the
  // same on every director, so it pins nothing another director would not have pinned. A
  // proxied connection starts on the client's verified ACK, and never as an embryonic session
  const tf = load<u8>(scr + SCR_TCPFLAGS);
  const midFlow = !proxied && strayTcp(scr, proto);
  if (midFlow && (load<u8>(s + SVC_FLAGS) & SVCF_MIDFLOW) == 0) return FAILED | DROP_NO_SESSION;
  const hintLip = reuseLip(prev);
  const hintPort = hintLip != NO_LIP ? <u32>load<u16>(connAddress(prev) + CONN_LPORT) : 0;
  const cip = load<u32>(scr + SCR_SRC);
  const vip = load<u32>(scr + SCR_DST);
  const ports = load<u32>(scr + SCR_SPORT);
  const cport = ports & 0xffff;
  const vport = ports >>> 16;

  const persist = (load<u8>(s + SVC_FLAGS) & SVCF_PERSIST) != 0;
  let tmpl = NO_CONN;
  let thash: u32 = 0;
  let tcip: u32 = 0;
  let tport: u32 = 0;
  let rs = NO_RS;
  let sorry = false;
  if (persist) {
    // ipvsadm -p -M: one template per client network and service; port-0 services share it
    tcip = cip & load<u32>(s + SVC_PERSIST_MASK);
    tport = <u32>load<u16>(s + SVC_VPORT) << 16;
    thash = flowHash(tcip, vip, tport, proto);
    tmpl = findTemplate(thash, tcip, vip, tport, proto, now);
    if (tmpl != NO_CONN) rs = <u32>load<u16>(connAddress(tmpl) + CONN_RS);
  }
  if (rs == NO_RS) {
    const pick = pickServer(s, cip, cport, vip);
    if (pick == NO_RS) {
      // the closing session ends with the SYN that reused it; a Full-NAT tuple stays held
      retirePrevious(prev, NO_RS, NO_LIP, now);
      return FAILED | DROP_NO_RS;
    }
    rs = pick & 0xffff;
    sorry = (pick & SORRY_PICK) != 0;
  }
  retirePrevious(prev, rs, hintLip, now);
  const r = rsAddress(rs);
  let fwd = <u32>load<u8>(r + RS_FWD);
  if (fwd == FWD_INHERIT) fwd = <u32>load<u8>(s + SVC_FWD);
  if (fwd == FWD_DR && !l2) return FAILED | DROP_UNSUPPORTED;
  // NAT and Full-NAT replies come back through the director that rewrote the connection: a
  // connection the server knows by another director's translation cannot be rebuilt here
  if (midFlow && fwd != FWD_DR && fwd != FWD_TUN) return FAILED | DROP_NO_SESSION;
  if (l2 && (load<u8>(r + RS_FLAGS) & RSF_READY) == 0) return FAILED | DROP_NO_NEIGH;
  const rportRaw = <u32>load<u16>(r + RS_RPORT);
  const rport = rportRaw != 0 ? rportRaw : vport;
  const rip = load<u32>(r);

  // defence before insertion (DESIGN.md): a session that starts embryonic (a TCP SYN) takes the
  // place of an old embryonic one at the budget, and a full table makes room by evicting one;
  // established sessions are never touched
  if (proto == IPPROTO_TCP && !proxied && (tf & (TH_SYN | TH_ACK)) == TH_SYN && embryonicFull() &&
    !evictEmbryonic(now)) {
    return FAILED | DROP_EMBRYONIC_LIMIT;
  }
  let rec = allocConn();
  if (rec == NO_CONN && evictEmbryonic(now)) rec = allocConn();
  if (rec == NO_CONN) return FAILED | DROP_TABLE_FULL;
  if (persist && !sorry) {
    if (tmpl == NO_CONN) {
      let t = newTemplate(thash, tcip, vip, tport, proto, rip, rport, rs, svcIdx);
      if (t == NO_CONN && evictEmbryonic(now)) t = newTemplate(thash, tcip, vip, tport, proto, rip, rport, rs, svcIdx);
      if (t == NO_CONN) {
        freeConn(rec);
        return FAILED | DROP_TABLE_FULL;
      }
      emitEvent(EVT_TEMPLATE_CREATED, connAddress(t));
      tmpl = t;
    }
    store<u32>(connAddress(tmpl) + CONN_EXPIRES, now + load<u32>(s + SVC_PERSIST_TIMEOUT));
  }

  const c = connAddress(rec);
  let flags: u8 = CONNF_USED | <u8>(fwd << CONNF_FWD_SHIFT);
  if (fwd == FWD_FNAT) {
    const failed = chooseTuple(s, c, rs, rip, 0, rport, proto, scr + SCR_SRC, false, ports, hintLip, hintPort, now);
    if (failed != 0) {
      freeConn(rec);
      return FAILED | failed;
    }
    flags |= CONNF_POOL | CONNF_OUT;
  } else if (fwd == FWD_NAT) {
    // the reply key RS -> client must be unique; a clash would misroute the older session
    const outPorts = rport | (cport << 16);
    if (lookupConn(flowHash(rip, cip, outPorts, proto), rip, cip, outPorts, proto, false) != 0) {
      freeConn(rec);
      return FAILED | DROP_CONFLICT;
    }
    flags |= CONNF_OUT;
  }
  setTuple(c, cip, vip, ports, rip, rport, rs, svcIdx, proto);
  store<u8>(c + CONN_CDEV, <u8>inDev);
  if (l2) copy6(c + CONN_CMAC, frame + ETH_SRC);
  store<u8>(c + CONN_FLAGS, flags);
  store<u32>(c + CONN_EXPIRES, now);
  indexInsert(load<u32>(scr + SCR_HASH), rec, false);
  if (flags & CONNF_OUT) indexInsert(keyHashOut(c, flags), rec, true);
  connCreated(c, rec, persist && !sorry ? tmpl : NO_CONN, r, svcIdx, rs);
  // a flow met in the middle is established (the first segment seen is not its first): its
  // session gets the established timeout, not the 10 s of CLOSE that NONE + ACK would give
  if (midFlow && (load<u8>(scr + SCR_TCPFLAGS) & (TH_FIN | TH_RST)) == 0) applyTcpState(c, r, TCP_S_ESTABLISHED);
  // EVT_CREATED is emitted by handle() after the first packet set the session's state
  return rec;
}

// @ts-ignore: decorator
@inline function keyHashOut(c: usize, flags: u8): u32 {
  const proto = <u32>load<u8>(c + CONN_PROTO);
  if (flags & CONNF_POOL) {
    return flowHash(load<u32>(c + CONN_RIP), load<u32>(c + CONN_LIP), load<u32>(c + CONN_RPORT), proto);
  }
  const ports = <u32>load<u16>(c + CONN_RPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16);
  return flowHash(load<u32>(c + CONN_RIP), load<u32>(c + CONN_CIP), ports, proto);
}

/**
 * forward moves one packet of session `rec` in direction `out`: state and timer, the mode's
 * rewrite, Ethernet addresses and output device, counters and the verdict.
 */
export function forward(desc: usize, scr: usize, rec: u32, out: bool, l2: bool, vnet: bool, inDev: u32, now: u32,
  forced: u32 = STATE_FROM_SEGMENT): void {
  const c = connAddress(rec);
  const flags = load<u8>(c + CONN_FLAGS);
  const fwd = <u32>((flags & CONNF_FWD_MASK) >> CONNF_FWD_SHIFT);
  const rs = <u32>load<u16>(c + CONN_RS);
  const r = rsAddress(rs);
  let frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const proto = <u32>load<u8>(c + CONN_PROTO);
  const icmp = load<u8>(scr + SCR_ICMP) != 0;
  const tot = bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  const l2len: u32 = l2 ? ETH_HLEN : 0;
  let outLen = l2len + tot;
  const partial = vnet && (load<u8>(frame - VNET_HDR_LEN + VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0;

  // the client's first SYN: TOA and the PROXY protocol are armed on it
  let firstSyn = false;
  if (icmp) {
    if (fwd == FWD_NAT || fwd == FWD_FNAT) {
      quoteAdjust(rec, ip, out);
      relayIcmpError(ip, c, out, fwd);
    }
    count(STAT_ICMP_RELAYED, 1);
  } else if (proto == IPPROTO_TCP) {
    const dir = fwd == FWD_DR || fwd == FWD_TUN ? DIR_INPUT_ONLY : (out ? DIR_OUTPUT : DIR_INPUT);
    const state = <u32>load<u8>(c + CONN_STATE);
    const tf = <u32>load<u8>(scr + SCR_TCPFLAGS);
    // the SYN proxy sets the states of its own handshake
    const next = forced != STATE_FROM_SEGMENT ? forced : nextTcpState(state, dir, tf);
    firstSyn = state == TCP_S_NONE && !out && (tf & (TH_SYN | TH_ACK)) == TH_SYN;
    if (next != state) {
      applyTcpState(c, r, next);
      // a new session's first state travels in its EVT_CREATED
      if (state != TCP_S_NONE) emitEvent(EVT_STATE_CHANGED, c);
    }
    store<u32>(c + CONN_EXPIRES, now + (next == TCP_S_SYN_RECV ? synRecvTimeout() : timeoutMs(next)));
  } else {
    store<u32>(c + CONN_EXPIRES, now + timeoutMs(TO_UDP));
  }

  let outDev: u32;
  if (out) {
    if (!icmp) natOut(ip, l4, proto, c, partial);
    outDev = <u32>load<u8>(c + CONN_CDEV);
    if (l2) setMacs(frame, c + CONN_CMAC, devAddress(outDev) + DEV_MAC);
  } else {
    if (l2 && (load<u8>(r + RS_FLAGS) & RSF_READY) == 0) {
      settle(desc, VERDICT_DROP, DROP_NO_NEIGH);
      return;
    }
    outDev = <u32>load<u8>(r + RS_DEV);
    const dev = devAddress(outDev);
    if (l2) followClient(c, frame, inDev);
    if (fwd == FWD_NAT) {
      if (!icmp) natIn(ip, l4, proto, c, partial);
      if (l2) drIn(frame, r, dev + DEV_MAC);
    } else if (fwd == FWD_FNAT) {
      if (!icmp) fnatIn(ip, l4, proto, c, partial);
      if (l2) drIn(frame, r, dev + DEV_MAC);
    } else if (fwd == FWD_DR) {
      if (!l2) {
        settle(desc, VERDICT_DROP, DROP_UNSUPPORTED);
        return;
      }
      drIn(frame, r, dev + DEV_MAC);
    } else {
      const res = tunIn(frame, ip, l2, vnet ? frame - VNET_HDR_LEN : 0, r, dev, dev + DEV_MAC, tunSource(r, c, dev));
      if (res == TUN_FRAG_NEEDED) {
        const mtu = <u32>load<u16>(dev + DEV_MTU) - 20;
        const nf = fragNeeded(frame, ip, l2, vnet, mtu);
        store<u32>(desc + DESC_OFF, <u32>nf);
        store<u32>(desc + DESC_LEN, l2len + fragNeededLength(tot));
        store<u8>(desc + DESC_OUT_DEV, <u8>inDev);
        settle(desc, VERDICT_FORWARD, 0);
        count(STAT_FRAG_NEEDED_SENT, 1);
        return;
      }
      if (res < TUN_FAILED_BELOW) {
        settle(desc, VERDICT_DROP, <u8>res);
        return;
      }
      frame = <usize>res;
      outLen += 20;
    }
  }
  // only sessions of a director with extension records translate or grow their stream
  if (proto == IPPROTO_TCP && !icmp && hdr(HDR_CONNX_BASE) != 0) {
    const grown = stream(desc, rec, c, ip, l4, out, firstSyn, partial, ip + tot, vnet ? frame - VNET_HDR_LEN : 0);
    if (grown >= CLIENTADDR_FAILED) {
      settle(desc, VERDICT_DROP, <u8>(grown & 0xff));
      return;
    }
    outLen += grown;
  }
  countTraffic(<u32>load<u16>(c + CONN_SVC), rs, out, tot);
  connStatsCount(rec, scr, proto == IPPROTO_TCP && !icmp, out, tot, now);
  store<u32>(desc + DESC_OFF, <u32>frame);
  store<u32>(desc + DESC_LEN, outLen);
  store<u8>(desc + DESC_OUT_DEV, <u8>outDev);
  settle(desc, VERDICT_FORWARD, 0);
}

/**
 * stream runs the edits of a TCP segment's byte stream, after the mode's rewrite: seqadj's
 * translation, the SYN proxy's window rescaling, and TOA, the PROXY header and the MSS room they
 * need (clientaddr.ts). Returns the bytes the packet grew by, or CLIENTADDR_FAILED | DROP_*.
 */
export function stream(desc: usize, rec: u32, c: usize, ip: usize, l4: usize, out: bool, firstSyn: bool, partial: bool, end: usize,
  vnetHdr: usize): u32 {
  const tf = load<u8>(l4 + TCP_FLAGS);
  if (out) {
    if ((tf & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
      const want = clientAddrFlags(<u32>load<u16>(c + CONN_SVC));
      if (want != 0) clampMss(l4, clientAddrRoom(rec, c, want), partial);
    }
    clientAddrOut(rec, l4);
    seqAdjust(rec, l4, out, partial);
    clampAckOut(rec, l4, partial);
    proxyWindow(rec, l4, out, partial);
    return 0;
  }
  const syn = (tf & (TH_SYN | TH_ACK)) == TH_SYN;
  // the PROXY header comes after the client's SYN: a SYN (resent or not) keeps its seq
  if (!syn || !proxyPending(rec)) seqAdjust(rec, l4, out, partial);
  proxyWindow(rec, l4, out, partial);
  if (firstSyn) {
    const want = clientAddrFlags(<u32>load<u16>(c + CONN_SVC));
    if (want != 0) clientAddrStart(rec, c, l4, want);
  }
  return clientAddrIn(rec, c, ip, l4, end, slotEnd(desc), vnetHdr);
}

/** a new SYN on a closing session reuses the tuple: IPVS conn_reuse_mode expires the old one */
// @ts-ignore: decorator
@inline export function reusable(c: usize, tcpFlags: u8): bool {
  if ((tcpFlags & (TH_SYN | TH_ACK | TH_RST)) != TH_SYN) return false;
  return closing(c);
}

// @ts-ignore: decorator
@inline function closing(c: usize): bool {
  const st = load<u8>(c + CONN_STATE);
  return st == TCP_S_TIME_WAIT || st == TCP_S_CLOSE || st == TCP_S_FIN_WAIT;
}

/**
 * reusedByProxy: the pure ACK in `scr` met the closing session `rec` (record `c`) of its client's
 * tuple after the SYN proxy answered a SYN on that tuple (CONNXF_REUSE_ANSWERED), and carries a
 * cookie: the third segment of a new handshake on a reused port (the proxy left the closing
 * session in place, so that the new session may take its Full-NAT tuple back, as newConn does for
 * a SYN). Any other ACK goes on as the old connection's, its last one included, which may carry
 * what verifies as a cookie.
 */
// @ts-ignore: decorator
@inline export function reusedByProxy(rec: u32, c: usize, scr: usize, v6: bool): bool {
  if ((load<u8>(scr + SCR_TCPFLAGS) & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) != TH_ACK || !closing(c)) return false;
  const x = connxAddress(rec);
  if (x == 0 || (load<u16>(x + CONNX_FLAGS) & CONNXF_REUSE_ANSWERED) == 0) return false;
  if ((load<u8>(serviceAddress(<u32>load<u16>(c + CONN_SVC)) + SVC_FLAGS2) & SVCF2_SYNPROXY) == 0) return false;
  return cookieInfo(scr, v6) != COOKIE_BAD;
}

/** reuseAnswered marks closing session `prev` (or NO_CONN): the proxy answered a SYN on its tuple (reusedByProxy) */
// @ts-ignore: decorator
@inline function reuseAnswered(prev: u32): void {
  if (prev == NO_CONN) return;
  const x = connxAddress(prev);
  if (x != 0) store<u16>(x + CONNX_FLAGS, load<u16>(x + CONNX_FLAGS) | CONNXF_REUSE_ANSWERED);
}

/** pass 3 for one frame */
export function handle(desc: usize, scr: usize, cls: u8, l2: bool, vnet: bool, inDev: u32, now: u32): void {
  if (cls >= CLASS_FRAG) {
    // IPv6 and fragments (batch6.ts): one compare on the IPv4 path
    handleExt(desc, scr, cls, l2, vnet, inDev, now);
    return;
  }
  if (cls == CLASS_UNKNOWN) {
    unknownPacket(desc, inDev);
    return;
  }
  const proto = <u32>load<u8>(scr + SCR_PROTO);
  handleFound(desc, scr, cls, proto, lookupScr(scr, proto), l2, vnet, inDev, now);
}

/** lookupScr looks up the session of the IPv4 frame pass 1 parsed into `scr` */
// @ts-ignore: decorator
@inline function lookupScr(scr: usize, proto: u32): u32 {
  return lookupConn(load<u32>(scr + SCR_HASH), load<u32>(scr + SCR_SRC), load<u32>(scr + SCR_DST),
    load<u32>(scr + SCR_SPORT), proto, false);
}

/**
 * lookupHome is lookupScr for pass 3 while the index is as pass 2 read it (`trusted`): the home
 * slot pass 2 kept (SCR_HOME) is the slot lookupConn would probe first, so a match there is its
 * answer, without the slot's load (a second cache access, dependent on nothing pass 3 has) or the call
 */
// @ts-ignore: decorator
@inline function lookupHome(scr: usize, proto: u32, trusted: bool): u32 {
  const h = trusted ? load<u32>(scr + SCR_HOME) : 0;
  if (h != 0 && slotMatches(h, load<u32>(scr + SCR_SRC), load<u32>(scr + SCR_DST), load<u32>(scr + SCR_SPORT), proto,
    false)) {
    return h;
  }
  return lookupScr(scr, proto);
}

/**
 * handleFound is pass 3 for an IPv4 frame of class CLASS_IN, CLASS_OUT, CLASS_LIP or
 * CLASS_ICMP_ERR whose session lookup returned `v` (0 = none).
 */
export function handleFound(desc: usize, scr: usize, cls: u8, proto: u32, v: u32, l2: bool, vnet: bool, inDev: u32,
  now: u32): void {
  let prev = NO_CONN;
  if (v != 0) {
    const c = connAddress(recOf(v));
    if (load<u8>(c + CONN_FLAGS) & CONNF_DETACHED) {
      // a quarantined Full-NAT tuple: its connection is over, nothing may pass through it
      v = 0;
    } else if (timeReached(load<u32>(c + CONN_EXPIRES), now) || connGone(c)) {
      // the sweep may not have reached it yet: a stale session never carries traffic (a
      // Full-NAT one may stay as a quarantined tuple, which passes nothing either)
      endExpired(recOf(v), now);
      v = 0;
    } else if (cls == CLASS_IN && proto == IPPROTO_TCP &&
      (reusable(c, load<u8>(scr + SCR_TCPFLAGS)) || reusedByProxy(recOf(v), c, scr, false))) {
      // newConn retires it once the new connection's server is known
      prev = recOf(v);
      v = 0;
    }
  }
  let rec: u32;
  let out = false;
  if (v != 0) {
    rec = recOf(v);
    out = (v & IDX_DIR_OUT) != 0;
    if (proto == IPPROTO_TCP && load<u8>(scr + SCR_ICMP) == 0 && synproxyPending(rec)) {
      proxyHandshake(desc, scr, rec, out, l2, vnet, inDev, now, false);
      return;
    }
  } else if (cls == CLASS_IN) {
    const svc = lookupService(load<u32>(scr + SCR_DST), load<u32>(scr + SCR_SPORT) >>> 16, proto);
    if (svc == NO_SERVICE) {
      if (prev != NO_CONN) {
        connStatsEvict(prev);
        expireConn(prev);
      }
      settle(desc, VERDICT_DROP, DROP_NO_SERVICE);
      return;
    }
    if (proto == IPPROTO_TCP && proxyIntercept(desc, scr, svc, prev, l2, vnet, inDev, now, false)) return;
    rec = newConn(scr, svc, <usize>load<u32>(desc + DESC_OFF), l2, inDev, now, prev);
    if (rec >= FAILED) {
      settle(desc, VERDICT_DROP, <u8>(rec & 0xff));
      return;
    }
  } else if (cls == CLASS_ICMP_ERR) {
    // it may concern a NAT64 session (an IPv4 key in an IPv6 record): nat64Reply translates it
    if (!nat64Reply(desc, scr, l2, vnet, inDev, now)) settle(desc, VERDICT_DROP, DROP_ICMP_UNRELATED);
    return;
  } else if (cls == CLASS_LIP) {
    // a NAT64 session's server side is IPv4: its out key is found here, in an IPv6 record
    if (!nat64Reply(desc, scr, l2, vnet, inDev, now)) settle(desc, VERDICT_DROP, DROP_NO_SESSION);
    return;
  } else {
    unknownPacket(desc, inDev);
    return;
  }
  if (v == 0) connStatsStart(rec, connAddress(rec), now);
  forward(desc, scr, rec, out, l2, vnet, inDev, now);
  if (v == 0) emitEvent(EVT_CREATED, connAddress(rec));
}

/**
 * proxyIntercept is the SYN proxy's look at a sessionless TCP segment to service `svc` (IPv4 or,
 * with `v6`, IPv6): a SYN under protection is answered with a cookie, a pure ACK to a SYN-proxy
 * service is checked as the handshake's third segment. Returns true when it took the segment.
 */
// @ts-ignore: decorator
@inline export function proxyIntercept(desc: usize, scr: usize, svc: u32, prev: u32, l2: bool, vnet: bool, inDev: u32,
  now: u32, v6: bool): bool {
  const tf = load<u8>(scr + SCR_TCPFLAGS);
  const s = serviceAddress(svc);
  if ((tf & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
    countSyn(svc);
    // a SYN under protection costs one frame and no session
    if (synproxyActive(s)) {
      // the closing session the SYN would reuse stays until the cookie's ACK (reusedByProxy),
      // whose new session takes its place and, toward the same server, its Full-NAT tuple:
      // retired now, the tuple went to quarantine, and clients reusing their ports at a high
      // rate (the rate that switches an auto proxy on) emptied the pool within seconds
      reuseAnswered(prev);
      answerSyn(desc, scr, svc, l2, vnet, inDev, now, v6);
      return true;
    }
  } else if ((load<u8>(s + SVC_FLAGS2) & SVCF2_SYNPROXY) != 0 && (tf & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) == TH_ACK) {
    // the third segment of a handshake we answered, if it returns a cookie: checked even
    // when protection is off now, as a cookie sent a moment ago stays valid
    proxyOpen(desc, scr, svc, prev, l2, vnet, inDev, now, v6);
    return true;
  }
  return false;
}

/**
 * proxyOpen handles a sessionless ACK to a SYN-proxy service: a valid cookie schedules a real
 * server and turns the ACK into the SYN that opens the connection to it (state SYN_SENT); a
 * valid cookie that finds no server is answered with a RST; anything else is dropped.
 */
function proxyOpen(desc: usize, scr: usize, svc: u32, prev: u32, l2: bool, vnet: bool, inDev: u32, now: u32,
  v6: bool): void {
  const info = checkCookieAck(scr, v6);
  if (info == COOKIE_BAD) {
    settle(desc, VERDICT_DROP, DROP_BAD_COOKIE);
    return;
  }
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const rec = v6 ? newConn6(scr, svc, frame, l2, inDev, now, prev, true) : newConn(scr, svc, frame, l2, inDev, now, prev, true);
  // no extension record means a core started without one: never the case when the host
  // configured a SYN proxy, but refuse rather than run a proxied session untranslated; nor is
  // an IPv6 client proxied to an IPv4 server (NAT64), which the host refuses to configure
  if (rec >= FAILED || connxAddress(rec) == 0 || (v6 && !rsIsV6(connAddress(rec)))) {
    if (rec < FAILED) expireConn(rec);
    resetClient(desc, scr, l2, vnet, inDev, v6);
    countDrop(rec < FAILED ? DROP_UNSUPPORTED : rec & 0xff);
    return;
  }
  openServer(desc, scr, rec, info, l2, vnet, v6);
  connStatsStart(rec, connAddress(rec), now);
  if (v6) forward6(desc, scr, rec, false, l2, vnet, inDev, now, TCP_S_SYN_SENT);
  else forward(desc, scr, rec, false, l2, vnet, inDev, now, TCP_S_SYN_SENT);
  emitEvent(EVT_CREATED, connAddress(rec));
}

/**
 * proxyHandshake handles a segment of a proxied session whose real server has not answered yet:
 * its SYN-ACK completes the handshake (synproxy.ts serverAnswered), a RST from either side is
 * passed on and closes the session, anything else waits (the client's window is still closed).
 */
export function proxyHandshake(desc: usize, scr: usize, rec: u32, out: bool, l2: bool, vnet: bool, inDev: u32, now: u32,
  v6: bool): void {
  const c = connAddress(rec);
  const tf = load<u8>(scr + SCR_TCPFLAGS);
  if (out && serverAnswered(desc, scr, rec, l2, vnet, v6)) {
    const r = rsAddress(<u32>load<u16>(c + CONN_RS));
    applyTcpState(c, r, TCP_S_ESTABLISHED);
    store<u32>(c + CONN_EXPIRES, now + timeoutMs(TCP_S_ESTABLISHED));
    emitEvent(EVT_STATE_CHANGED, c);
    const ip = <usize>load<u32>(scr + SCR_L3);
    const tot = v6 ? IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN)) : bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
    countTraffic(<u32>load<u16>(c + CONN_SVC), <u32>load<u16>(c + CONN_RS), true, tot);
    connStatsCount(rec, scr, true, true, tot, now);
    return;
  }
  if (tf & TH_RST) {
    if (out) serverRefused(rec, <usize>load<u32>(scr + SCR_L4));
    if (v6) forward6(desc, scr, rec, out, l2, vnet, inDev, now, TCP_S_CLOSE);
    else forward(desc, scr, rec, out, l2, vnet, inDev, now, TCP_S_CLOSE);
    return;
  }
  // the server has not answered our SYN, which may have been lost: the client, facing our zero
  // window, sends window probes (Linux from its RTO on, backing off; no data), and each one that
  // returns the cookie sends the SYN again, so the probes are the retransmission timer the data
  // path lacks. A segment with data waits, as before
  if (!out && (tf & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) == TH_ACK && payloadOf(scr, v6) == 0) {
    const info = checkCookieAck(scr, v6);
    if (info != COOKIE_BAD) {
      openServer(desc, scr, rec, info, l2, vnet, v6);
      if (v6) forward6(desc, scr, rec, false, l2, vnet, inDev, now, TCP_S_SYN_SENT);
      else forward(desc, scr, rec, false, l2, vnet, inDev, now, TCP_S_SYN_SENT);
      return;
    }
  }
  settle(desc, VERDICT_DROP, DROP_SYNPROXY_PENDING);
}

/** tunSource: the outer source of TUN mode: the server's tunnel_source, else the service's, else the device's address */
// @ts-ignore: decorator
@inline function tunSource(r: usize, c: usize, dev: usize): u32 {
  let src = load<u32>(r + RS_TUN_SRC);
  if (src == 0) src = load<u32>(serviceAddress(<u32>load<u16>(c + CONN_SVC)) + SVC_TUN_SRC);
  if (src == 0) src = load<u32>(dev + DEV_ADDR);
  return src;
}

/**
 * hitFast is pass 3's lean path for the packets most traffic is made of, in either family (`v6`):
 * a TCP segment that carries ACK and no SYN, FIN or RST, of an ESTABLISHED NAT, Full-NAT (4->4 or
 * 6->6), (over TAP) DR or TUN (4in4, 6in6) session, or a UDP datagram of such a session (index slot value `v`, the
 * record in cache after pass 2b) on a director without extension records (`plain`); for IPv6 not
 * an ICMPv6 error about it, not a fragment (its class says so), not NAT64 (an IPv4 server). For it
 * the general path (handleFound, forward; handle6, forward6) does nothing it does not do here: a
 * TCP state stays ESTABLISHED in every direction (tcp_state.ts, rows "ack" at sES; DR's and TUN's
 * are "input only"), UDP has no state; no state change, event, stream edit or SYN-proxy step. Every check
 * comes before the first write: on false nothing was touched, and the general path takes the
 * frame with the same `v`. True: forwarded, verdict written.
 */
// @ts-ignore: decorator
@inline function hitFast(desc: usize, scr: usize, v: u32, proto: u32, l2: bool, vnet: bool, inDev: u32, now: u32,
  v6: bool): bool {
  if (v6 && load<u8>(scr + SCR_ICMP) != 0) return false;
  const rec = recOf(v);
  const c = connAddress(rec);
  if (!leanSession(c, scr, v, proto, l2, now, v6)) return false;
  const fwd = <u32>((load<u8>(c + CONN_FLAGS) & CONNF_FWD_MASK) >> CONNF_FWD_SHIFT);
  const out = (v & IDX_DIR_OUT) != 0;
  const tcp = proto == IPPROTO_TCP;
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const tot = v6 ? IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN)) : bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  // the rarer mode out of the loop's way (an inlined copy cost the NAT hit 4 % in bench:core)
  if (fwd == FWD_TUN) return hitTun(desc, scr, rec, c, frame, ip, tot, tcp, l2, vnet, inDev, now, v6);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const partial = vnet && (load<u8>(frame - VNET_HDR_LEN + VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0;
  store<u32>(c + CONN_EXPIRES, now + timeoutMs(tcp ? TCP_S_ESTABLISHED : TO_UDP));
  const outDev = leanMacs(frame, c, out, l2, inDev);
  if (v6) {
    const x = conn6Address(rec);
    if (out) {
      if (fwd == FWD_FNAT) fnatOut6(ip, l4, proto, c, x, partial);
      else natOut6(ip, l4, proto, c, x, partial);
    } else if (fwd == FWD_FNAT) fnatIn6(ip, l4, proto, c, x, partial);
    else if (fwd == FWD_NAT) natIn6(ip, l4, proto, c, x, partial);
  } else if (out) {
    natOut(ip, l4, proto, c, partial);
  } else if (fwd == FWD_FNAT) fnatIn(ip, l4, proto, c, partial);
  else if (fwd == FWD_NAT) natIn(ip, l4, proto, c, partial);
  leanDone(desc, scr, rec, tcp, out, tot, (l2 ? ETH_HLEN : 0) + tot, outDev, now);
  return true;
}

/** hitFast6: hitFast for IPv6 frames, a call of its own so that the IPv4 loop stays as small as it was */
function hitFast6(desc: usize, scr: usize, v: u32, proto: u32, l2: bool, vnet: bool, inDev: u32, now: u32): bool {
  return hitFast(desc, scr, v, proto, l2, vnet, inDev, now, true);
}

/**
 * hitTun is hitFast's TUN mode, IPv4-in-IPv4 or (`v6`) IPv6-in-IPv6, the client's side only
 * (leanSession): an outer header in the headroom (tunIn, tunIn6). A frame that needs
 * fragmentation-needed or Packet Too Big, or is refused, goes to the general path with the frame
 * untouched (both check before they write); only the session's client hop is refreshed first,
 * as the general path refreshes it for such a frame too (forward).
 */
function hitTun(desc: usize, scr: usize, rec: u32, c: usize, frame: usize, ip: usize, tot: u32, tcp: bool, l2: bool,
  vnet: bool, inDev: u32, now: u32, v6: bool): bool {
  const rs = <u32>load<u16>(c + CONN_RS);
  const r = rsAddress(rs);
  const outDev = <u32>load<u8>(r + RS_DEV);
  const dev = devAddress(outDev);
  // before the outer header covers the client's MAC; on a refusal the general path writes the same
  if (l2) followClient(c, frame, inDev);
  const vnetHdr = vnet ? frame - VNET_HDR_LEN : 0;
  const res = v6 ? tunIn6(frame, ip, l2, vnetHdr, r, rs6Address(rs), dev, dev + DEV_MAC, tunSource6(rs, c, dev))
    : tunIn(frame, ip, l2, vnetHdr, r, dev, dev + DEV_MAC, tunSource(r, c, dev));
  if (res < TUN_FAILED_BELOW) return false;
  store<u32>(c + CONN_EXPIRES, now + timeoutMs(tcp ? TCP_S_ESTABLISHED : TO_UDP));
  store<u32>(desc + DESC_OFF, res);
  // counted as the general path counts: the packet as it came, without the outer header
  leanDone(desc, scr, rec, tcp, false, tot, (l2 ? ETH_HLEN : 0) + tot + (v6 ? IP6_HLEN : IP_HLEN), outDev, now);
  return true;
}

/**
 * leanSession is hitFast's check, both families, of the session at
 * `c` (index slot value `v`) for the frame parsed into `scr`: NAT, Full-NAT, (over TAP, the
 * client's side only) DR or (the client's side only) TUN, not a quarantined tuple; an ESTABLISHED TCP segment with ACK and no
 * SYN, FIN or RST, or UDP; a timer still running; a server in place (`v6`: an IPv6 one, so never
 * NAT64) and, for a client's frame on a TAP, with a neighbour entry; a service in use.
 */
// @ts-ignore: decorator
@inline function leanSession(c: usize, scr: usize, v: u32, proto: u32, l2: bool, now: u32, v6: bool): bool {
  const flags = load<u8>(c + CONN_FLAGS);
  if (flags & CONNF_DETACHED) return false;
  const fwd = <u32>((flags & CONNF_FWD_MASK) >> CONNF_FWD_SHIFT);
  // DR: only on a TAP (it rewrites MACs alone), and only the client's side passes the director
  // TUN: like DR, only the client's side passes the director
  const dr = fwd == FWD_DR;
  const tun = fwd == FWD_TUN;
  if (fwd != FWD_NAT && fwd != FWD_FNAT && !(dr && l2) && !tun) return false;
  if (proto == IPPROTO_TCP) {
    if (load<u8>(c + CONN_STATE) != TCP_S_ESTABLISHED) return false;
    if ((load<u8>(scr + SCR_TCPFLAGS) & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) != TH_ACK) return false;
  }
  if (timeReached(load<u32>(c + CONN_EXPIRES), now)) return false;
  const rflags = load<u8>(rsAddress(<u32>load<u16>(c + CONN_RS)) + RS_FLAGS);
  // connGone; and a client's packet toward a server without a neighbour entry is the slow path's
  const out = (v & IDX_DIR_OUT) != 0;
  if (v6 && (rflags & RSF_V6) == 0) return false;
  if ((rflags & RSF_REMOVED) != 0 || (l2 && !out && (rflags & RSF_READY) == 0) || ((dr || tun) && out)) return false;
  return (load<u8>(serviceAddress(<u32>load<u16>(c + CONN_SVC)) + SVC_FLAGS) & SVCF_USED) != 0;
}

/**
 * leanMacs does a lean frame's link side, either family, and returns the device it leaves by:
 * toward the client, the next hop and device the session keeps; toward the server, the client's
 * latest next hop is kept first (a failover on its side may change it), then on a TAP the
 * server's MAC is written (drIn).
 */
// @ts-ignore: decorator
@inline function leanMacs(frame: usize, c: usize, out: bool, l2: bool, inDev: u32): u32 {
  if (out) {
    const outDev = <u32>load<u8>(c + CONN_CDEV);
    if (l2) setMacs(frame, c + CONN_CMAC, devAddress(outDev) + DEV_MAC);
    return outDev;
  }
  const r = rsAddress(<u32>load<u16>(c + CONN_RS));
  const outDev = <u32>load<u8>(r + RS_DEV);
  if (l2) {
    followClient(c, frame, inDev);
    drIn(frame, r, devAddress(outDev) + DEV_MAC);
  }
  return outDev;
}

/**
 * leanDone counts and settles a frame a lean path rewrote: an IP packet of `tot` bytes as it came
 * (what the counters take), `len` bytes of frame out of `outDev`
 */
// @ts-ignore: decorator
@inline function leanDone(desc: usize, scr: usize, rec: u32, tcp: bool, out: bool, tot: u32, len: u32, outDev: u32,
  now: u32): void {
  const c = connAddress(rec);
  countTraffic(<u32>load<u16>(c + CONN_SVC), <u32>load<u16>(c + CONN_RS), out, tot);
  connStatsCount(rec, scr, tcp, out, tot, now);
  store<u32>(desc + DESC_LEN, len);
  store<u8>(desc + DESC_OUT_DEV, <u8>outDev);
  settle(desc, VERDICT_FORWARD, 0);
}

// processBatch's modes (issue 12). With one lane the whole batch runs in one call (BATCH_ALL).
// With more, index.ts runs it in two: BATCH_LEAN under the table's read lock (passes 1 and 2, and
// of pass 3 only the lean hits, which every worker may run at once), then, if any frame was left
// (deferredFrames), BATCH_REST under the exclusive lock for those frames in slot order. A left
// frame is looked up again: the table may have changed between the two locks.
// @ts-ignore: decorator
@inline export const BATCH_ALL: u32 = 0;
// @ts-ignore: decorator
@inline export const BATCH_LEAN: u32 = 1;
// @ts-ignore: decorator
@inline export const BATCH_REST: u32 = 2;
// pass 3's mark (BATCH_LEAN) on a frame the lean path forwarded: BATCH_REST skips it
// @ts-ignore: decorator
@inline const CLASS_LEAN_DONE: u8 = 0xff;

/** frames BATCH_LEAN left to BATCH_REST (this thread's instance: set and read in one process()) */
let deferred: u32 = 0;

export function deferredFrames(): u32 {
  return deferred;
}

/**
 * processBatch runs the three passes over slots [0, count) (or, by `mode`, a part of them: see
 * BATCH_ALL) and tallies the verdicts.
 */
export function processBatch(count_: u32, now: u32, mode: u32): u32 {
  const slots = hdr(HDR_SLOT_COUNT);
  const n = count_ < slots ? count_ : slots;
  const bflags = lhdr(HDR_BATCH_FLAGS);
  const l2 = (bflags & BATCH_L2) != 0;
  const vnet = (bflags & BATCH_VNET) != 0;
  const inDev = lhdr(HDR_BATCH_DEV);
  const descBase = <usize>lhdr(HDR_DESC_BASE);
  const scrBase = <usize>lhdr(HDR_SCRATCH_BASE);
  if (mode != BATCH_REST) prepareBatch(n, inDev, l2, descBase, scrBase);

  let forwarded: u32 = 0;
  let host: u32 = 0;
  let left: u32 = 0;
  const lean = mode == BATCH_LEAN;
  // extension records give TCP sessions per-packet stream edits (forward: stream): no lean path
  const plain = hdr(HDR_CONNX_BASE) == 0;
  // IPv6 sessions exist (their CONN6 records): IPv6 frames may be lean hits too (batch6.ts)
  const plain6 = plain && hdr(HDR_CONN6_BASE) != 0;
  // BATCH_REST runs after the exclusive lock was taken: the table may have changed since pass 2
  const homeKept = mode != BATCH_REST;
  const epoch = currentIndexEpoch();
  for (let i: u32 = 0; i < n; i++) {
    const desc = descBase + i * DESC_SIZE;
    const scr = scrBase + i * SCR_SIZE;
    const cls = load<u8>(scr + SCR_CLASS);
    // CLASS_LIP: a Full-NAT server's reply to a local address (handle() would look it up the same
    // way); the IPv6 classes of a TCP/UDP frame that is no fragment take the same lean look
    const v4 = cls == CLASS_IN || cls == CLASS_OUT || cls == CLASS_LIP;
    if (v4 || (plain6 && cls >= (CLASS_V6 | CLASS_IN) && cls <= (CLASS_V6 | CLASS_LIP))) {
      const proto = <u32>load<u8>(scr + SCR_PROTO);
      const v = v4 ? lookupHome(scr, proto, homeKept && currentIndexEpoch() == epoch) : lookupScr6(scr, proto);
      if (plain && v != 0 && (v4 ? hitFast(desc, scr, v, proto, l2, vnet, inDev, now, false)
        : hitFast6(desc, scr, v, proto, l2, vnet, inDev, now))) {
        forwarded++;
        if (lean) store<u8>(scr + SCR_CLASS, CLASS_LEAN_DONE);
        continue;
      }
      if (lean) {
        left++;
        continue;
      }
      // an IPv6 miss is looked up again by handle6
      if (v4) handleFound(desc, scr, cls, proto, v, l2, vnet, inDev, now);
      else handle(desc, scr, cls, l2, vnet, inDev, now);
    } else if (cls == CLASS_LEAN_DONE || (cls == CLASS_DONE && mode == BATCH_REST)) {
      // forwarded, or settled by pass 1, and tallied by BATCH_LEAN
      continue;
    } else if (cls != CLASS_DONE) {
      if (lean) {
        left++;
        continue;
      }
      handle(desc, scr, cls, l2, vnet, inDev, now);
    }
    const verdict = load<u8>(desc + DESC_VERDICT);
    if (verdict == VERDICT_FORWARD) forwarded++;
    else if (verdict == VERDICT_HOST) host++;
    else if (verdict != VERDICT_HELD) countDrop(<u32>load<u8>(desc + DESC_REASON));
  }
  deferred = left;
  count(STAT_FORWARDED, forwarded);
  count(STAT_HOST, host);
  return forwarded | (host << PROCESS_HOST_SHIFT);
}

/** homeMatch: index slot value `v`, at the home slot of `hash`, has that hash's tag (pass 2 takes it for the key's) */
// @ts-ignore: decorator
@inline function homeMatch(v: u32, hash: u32): bool {
  return v != 0 && (v >>> IDX_TAG_SHIFT) == (hash >>> IDX_TAG_SHIFT);
}

/**
 * prepareBatch is passes 1 and 2: parse every frame into its scratch, then touch the index slot
 * and the record each will look up, so that pass 3 finds them in cache
 */
// @ts-ignore: decorator
@inline function prepareBatch(n: u32, inDev: u32, l2: bool, descBase: usize, scrBase: usize): void {
  const devMac = devAddress(inDev) + DEV_MAC;
  setLhdr(HDR_EMIT_COUNT, 0);
  let rxBytes: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const desc = descBase + i * DESC_SIZE;
    const scr = scrBase + i * SCR_SIZE;
    rxBytes += load<u32>(desc + DESC_LEN);
    store<u8>(desc + DESC_OUT_DEV, <u8>inDev);
    store<u8>(scr + SCR_CLASS, parseFrame(desc, scr, l2, devMac));
  }

  // pass 2a: touch every frame's index slot; the loads are independent, so their misses overlap
  const idx = <usize>hdr(HDR_IDX_BASE);
  const mask = hdr(HDR_IDX_MASK);
  let sink: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const scr = scrBase + i * SCR_SIZE;
    const cls = load<u8>(scr + SCR_CLASS);
    if (cls != CLASS_DONE && cls != CLASS_UNKNOWN) sink ^= load<u32>(idx + ((load<u32>(scr + SCR_HASH) & mask) << 2));
  }
  // pass 2b: the slots are cached now; touch the record a matching tag points at, so pass 3's
  // dependent load (slot -> record) finds both in cache
  const conns = <usize>hdr(HDR_CONN_BASE);
  peekReset();
  let predicted: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const scr = scrBase + i * SCR_SIZE;
    const cls = load<u8>(scr + SCR_CLASS);
    if (cls == CLASS_DONE || cls == CLASS_UNKNOWN) continue;
    const hash = load<u32>(scr + SCR_HASH);
    const v = load<u32>(idx + ((hash & mask) << 2));
    const home = homeMatch(v, hash);
    store<u32>(scr + SCR_HOME, home ? v : 0);
    if (home) {
      // a 48-byte record straddles two cache lines every other time: touch both ends
      const c = conns + recOf(v) * CONN_SIZE;
      sink ^= load<u32>(c) ^ load<u32>(c + CONN_SIZE - 4);
      // an IPv6 session's addresses are in its CONN6 record (one cache line)
      if (cls & CLASS_V6) sink ^= load<u32>(<usize>(hdr(HDR_CONN6_BASE) + recOf(v) * CONN6_SIZE));
    } else if (cls == CLASS_IN && mayCreate(scr)) {
      // no session where it would be: pass 3 may create one, and a NAT one looks up its reply slot
      const slot = replySlot(scr, mask);
      store<u32>(scr + SCR_REPLY_SLOT, slot);
      predicted += <u32>(slot != 0);
    }
  }
  // pass 2c: the predicted reply slots, loaded back to back (reply_touch.ts). Only the frames
  // pass 2b wrote the field of count: a miss that may create a session
  for (let i: u32 = 0; predicted != 0 && i < n; i++) {
    const scr = scrBase + i * SCR_SIZE;
    if (load<u8>(scr + SCR_CLASS) != CLASS_IN || !mayCreate(scr)) continue;
    // a frame whose home slot pass 2b found with its tag has no predicted slot
    if (load<u32>(scr + SCR_HOME) != 0) continue;
    const slot = load<u32>(scr + SCR_REPLY_SLOT);
    if (slot == 0) continue;
    sink ^= load<u32>(idx + ((slot - 1) << 2));
    predicted--;
  }
  // keep the loads: an unused load would be optimised away
  setLhdr(HDR_SINK, sink);
  count(STAT_RX_PACKETS, n);
  count(STAT_RX_BYTES, rxBytes);
  count(STAT_BATCHES, 1);
}
