// batch6.ts — pass 3 for the classes the IPv4 path hands over (handleExt): IPv6 frames, the
// counterpart of batch.ts's handle / newConn / forward with the same session table, schedulers
// and counters; fragments (frag.ts); and the replies of NAT64 sessions, which arrive as IPv4
// packets from the servers. IPv4 frames without fragmentation never come here.
import {
  CONNF_DETACHED, CONNF_FWD_MASK, CONNF_FWD_SHIFT, CONNF_OUT, CONNF_POOL, CONNF_USED, CONN_CDEV, CONN_CMAC,
  CONN_EXPIRES, CONN_FLAGS, CONN_LIPIDX, CONN_LPORT, CONN_PROTO, CONN_RS, CONN_STATE, CONN_SVC, DESC_LEN, DESC_OFF, DESC_OUT_DEV,
  DESC_VERDICT, DEV_ADDR6, DEV_MAC, DEV_MTU, DROP_CONFLICT, DROP_FRAGMENT, DROP_ICMP_UNRELATED, DROP_NO_NEIGH,
  DROP_EMBRYONIC_LIMIT, DROP_NO_RS, DROP_NO_SERVICE, DROP_NO_SESSION, DROP_TABLE_FULL, DROP_UNSUPPORTED, ETH_HLEN,
  EVT_CREATED, EVT_STATE_CHANGED, EVT_TEMPLATE_CREATED, FWD_DR, FWD_FNAT, FWD_INHERIT, FWD_NAT, FWD_TUN,
  HDR_CONN6_BASE, HDR_CONNX_BASE, IDX_DIR_OUT, IPPROTO_TCP, LIP6_ADDR, NO_RS, PROTO_V6, RS6_RIP, RS6_TUN_SRC, RSF_READY,
  RSF_V6, RS_DEV, RS_FLAGS, RS_FWD, RS_RIP, RS_RPORT, SCR_DST, SCR_FRAG6, SCR_HASH, SCR_ICMP, SCR_L3,
  SCR_L4, SCR_PROTO, SCR_SPORT, SCR_SRC, SCR_TCPFLAGS, STAT_FRAG_NEEDED_SENT, STAT_ICMP_RELAYED, SVC6_PERSIST_MASK,
  SVC6_TUN_SRC, SVCF_MIDFLOW, SVCF_PERSIST, SVC_FLAGS, SVC_FWD, SVC_PERSIST_TIMEOUT, SVC_VPORT, TCP_S_ESTABLISHED, TCP_S_NONE, TCP_S_SYN_RECV, TO_UDP, VERDICT_DROP,
  VERDICT_FORWARD, VNET_FLAGS, VNET_F_NEEDS_CSUM, VNET_HDR_LEN,
} from './abi';
import {
  FAILED, SORRY_PICK, STATE_FROM_SEGMENT, connCreated, devAddress, handle, liveTemplate, pickServer, proxyHandshake,
  proxyIntercept, retirePrevious, reuseLip, reusable, reusedByProxy, settle, strayTcp, stream, unknownPacket,
} from './batch';
import { quoteAdjust6, synproxyPending } from './synproxy';
import { CLIENTADDR_FAILED } from './clientaddr';
import { connStatsCount, connStatsEvict, connStatsStart } from './connstats';
import { emitEvent } from './events';
import { NO_LIP, chooseTuple } from './fnat_pool';
import { flowHash6, flowHash6Masked } from './flow';
import { firstFragmentBegin, firstFragmentEnd, handleLaterFragment } from './frag';
import { packetTooBig6, packetTooBigLength, relayIcmp6Error } from './icmp6';
import { bswap16, copy6, fold6, hdr, timeReached, zero16 } from './mem';
import {
  CLASS_BASE_MASK, CLASS_FIRST_FRAG, CLASS_FRAG, CLASS_ICMP_ERR, CLASS_IN, CLASS_LIP, CLASS_UNKNOWN, CLASS_V6,
} from './parse';

import { NO_SERVICE, serviceAddress } from './service';
import { lookupService6, svc6Address } from './service6';
import {
  NO_CONN, allocConn, connAddress, connGone, endExpired, expireConn, followClient, freeConn, indexInsert, lookupConn,
  recOf, rsAddress, setTuple, timeoutMs,
} from './session';
import {
  conn6Address, keyHash6, lip6Address, lookupConn6, lookupTemplate6, newTemplate6, rs6Address, rsIsV6, setAddresses6,
} from './session6';
import { count, countTraffic } from './stats';
import { DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, applyTcpState, nextTcpState } from './tcp_state';
import { IP6_HLEN, IP6_PLEN, IP_HLEN, IP_TOT_LEN, TH_ACK, TH_FIN, TH_RST, TH_SYN } from './wire';
import { embryonicFull, evictEmbryonic, synRecvTimeout } from './embryonic';
import { drIn } from './xmit/dr';
import { fnatIn6, fnatOut6 } from './xmit/fnat6';
import { natIn6, natOut6 } from './xmit/nat6';
import { nat64IcmpIn, nat64IcmpOut, nat64In, nat64Out } from './xmit/nat64';
import { setMacs } from './xmit/rewrite';
import { TUN_FAILED_BELOW, TUN_FRAG_NEEDED } from './xmit/tun';
import { tunIn6 } from './xmit/tun6';

/**
 * handleExt is pass 3 for IPv6 frames and fragments. A first fragment is handled like any packet
 * and its decision remembered for the later ones (frag.ts).
 */
export function handleExt(desc: usize, scr: usize, cls: u8, l2: bool, vnet: bool, inDev: u32, now: u32): void {
  const v6 = (cls & CLASS_V6) != 0;
  const base = cls & CLASS_BASE_MASK;
  if (base == CLASS_FRAG) {
    handleLaterFragment(desc, scr, v6, l2, inDev, now);
    return;
  }
  if ((cls & CLASS_FIRST_FRAG) == 0) {
    handle6(desc, scr, base, l2, vnet, inDev, now);
    return;
  }
  const ip = <usize>load<u32>(scr + SCR_L3);
  const e = firstFragmentBegin(ip, v6, <usize>load<u32>(scr + SCR_FRAG6), now);
  let slot: u32 = 0;
  if (v6) {
    // 0 unless forwarded along the session (a Packet Too Big answer decides nothing)
    slot = handle6(desc, scr, base, l2, vnet, inDev, now);
  } else {
    handle(desc, scr, base, l2, vnet, inDev, now);
    // the scratch key holds values for IPv4: the session is found again as handle found it (a
    // first fragment has MF, so never DF: no frag-needed answer can stand in for the packet)
    if (load<u8>(desc + DESC_VERDICT) == VERDICT_FORWARD) {
      slot = lookupConn(load<u32>(scr + SCR_HASH), load<u32>(scr + SCR_SRC), load<u32>(scr + SCR_DST),
        load<u32>(scr + SCR_SPORT), <u32>load<u8>(scr + SCR_PROTO), false);
    }
  }
  firstFragmentEnd(e, slot, now);
}

/**
 * newConn6 schedules a real server of service `svcIdx` for the first packet of an IPv6
 * connection and creates its session, as newConn does; the server may be IPv6 (NAT66, DR, TUN,
 * Full-NAT) or IPv4 (Full-NAT only: NAT64). Returns the record index, or FAILED | DROP_* reason.
 * `proxied` as newConn's: the SYN proxy's verified ACK opens the session.
 */
export function newConn6(scr: usize, svcIdx: u32, frame: usize, l2: bool, inDev: u32, now: u32, prev: u32,
  proxied: bool = false): u32 {
  const s = serviceAddress(svcIdx);
  const proto = <u32>load<u8>(scr + SCR_PROTO);
  const p6 = proto | PROTO_V6;
  // a stray TCP segment creates a session only for a mid-flow service in DR or TUN (newConn)
  const midFlow = !proxied && strayTcp(scr, proto);
  if (midFlow && (load<u8>(s + SVC_FLAGS) & SVCF_MIDFLOW) == 0) return FAILED | DROP_NO_SESSION;
  const hintLip = reuseLip(prev);
  const hintPort = hintLip != NO_LIP ? <u32>load<u16>(connAddress(prev) + CONN_LPORT) : 0;
  const cip = <usize>load<u32>(scr + SCR_SRC);
  const vip = <usize>load<u32>(scr + SCR_DST);
  const ports = load<u32>(scr + SCR_SPORT);
  const cport = ports & 0xffff;
  const vport = ports >>> 16;
  const s6 = svc6Address(svcIdx);

  const persist = (load<u8>(s + SVC_FLAGS) & SVCF_PERSIST) != 0;
  let tmpl = NO_CONN;
  let thash: u32 = 0;
  let tport: u32 = 0;
  let rs = NO_RS;
  let sorry = false;
  if (persist) {
    tport = <u32>load<u16>(s + SVC_VPORT) << 16;
    thash = flowHash6Masked(cip, s6 + SVC6_PERSIST_MASK, vip, tport, p6);
    tmpl = liveTemplate(lookupTemplate6(thash, cip, s6 + SVC6_PERSIST_MASK, vip, tport, p6), now);
    if (tmpl != NO_CONN) rs = <u32>load<u16>(connAddress(tmpl) + CONN_RS);
  }
  if (rs == NO_RS) {
    // the schedulers hash 32-bit keys: the folds of the addresses
    const pick = pickServer(s, fold6(cip), cport, fold6(vip));
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
  const rsV6 = (load<u8>(r + RS_FLAGS) & RSF_V6) != 0;
  // an IPv4 server behind an IPv6 VIP needs its client translated to an IPv4 LIP: Full-NAT only
  if ((fwd == FWD_DR && !l2) || (!rsV6 && fwd != FWD_FNAT)) return FAILED | DROP_UNSUPPORTED;
  if (midFlow && fwd != FWD_DR && fwd != FWD_TUN) return FAILED | DROP_NO_SESSION;
  if (l2 && (load<u8>(r + RS_FLAGS) & RSF_READY) == 0) return FAILED | DROP_NO_NEIGH;
  const rportRaw = <u32>load<u16>(r + RS_RPORT);
  const rport = rportRaw != 0 ? rportRaw : vport;
  const rip6 = rs6Address(rs) + RS6_RIP;

  // the embryonic budget, as newConn applies it (defence before insertion)
  const tf = load<u8>(scr + SCR_TCPFLAGS);
  if (proto == IPPROTO_TCP && !proxied && (tf & (TH_SYN | TH_ACK)) == TH_SYN && embryonicFull() && !evictEmbryonic(now)) {
    return FAILED | DROP_EMBRYONIC_LIMIT;
  }
  let rec = allocConn();
  if (rec == NO_CONN && evictEmbryonic(now)) rec = allocConn();
  if (rec == NO_CONN) return FAILED | DROP_TABLE_FULL;
  if (persist && !sorry) {
    if (tmpl == NO_CONN) {
      const t = newTemplate6(thash, cip, s6 + SVC6_PERSIST_MASK, vip, tport, p6, rport, rs, svcIdx);
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
  let lip6: usize = 0;
  if (fwd == FWD_FNAT) {
    // the client's addresses follow each other in the packet (src, dst); an IPv6 LIP's
    // LIP_ADDR is its fold, an IPv4 one's (NAT64) the address itself
    const failed = chooseTuple(s, c, rs, rsV6 ? 0 : load<u32>(r + RS_RIP), rsV6 ? rip6 : 0, rport, p6, cip, true, ports,
      hintLip, hintPort, now);
    if (failed != 0) {
      freeConn(rec);
      return FAILED | failed;
    }
    if (rsV6) lip6 = lip6Address(<u32>load<u16>(c + CONN_LIPIDX)) + LIP6_ADDR;
    flags |= CONNF_POOL | CONNF_OUT;
  } else if (fwd == FWD_NAT) {
    const outPorts = rport | (cport << 16);
    if (lookupConn6(flowHash6(rip6, cip, outPorts, p6), rip6, cip, outPorts, p6, false) != 0) {
      freeConn(rec);
      return FAILED | DROP_CONFLICT;
    }
    flags |= CONNF_OUT;
  }
  setTuple(c, 0, 0, ports, rsV6 ? 0 : load<u32>(r + RS_RIP), rport, rs, svcIdx, p6);
  setAddresses6(rec, cip, vip, rsV6 ? rip6 : 0, lip6);
  store<u8>(c + CONN_CDEV, <u8>inDev);
  if (l2) copy6(c + CONN_CMAC, frame + 6);
  store<u8>(c + CONN_FLAGS, flags);
  store<u32>(c + CONN_EXPIRES, now);
  indexInsert(load<u32>(scr + SCR_HASH), rec, false);
  if (flags & CONNF_OUT) indexInsert(keyHash6(c, rec, true), rec, true);
  connCreated(c, rec, persist && !sorry ? tmpl : NO_CONN, r, svcIdx, rs);
  if (midFlow && (load<u8>(scr + SCR_TCPFLAGS) & (TH_FIN | TH_RST)) == 0) applyTcpState(c, r, TCP_S_ESTABLISHED);
  return rec;
}

/**
 * tcpStep moves a TCP session's state for a segment in direction `dir` (or to `forced`, the SYN
 * proxy's own handshake states) and sets its timer
 */
function tcpStep(c: usize, r: usize, scr: usize, dir: u32, now: u32, forced: u32 = STATE_FROM_SEGMENT): void {
  const state = <u32>load<u8>(c + CONN_STATE);
  const next = forced != STATE_FROM_SEGMENT ? forced : nextTcpState(state, dir, <u32>load<u8>(scr + SCR_TCPFLAGS));
  if (next != state) {
    applyTcpState(c, r, next);
    if (state != TCP_S_NONE) emitEvent(EVT_STATE_CHANGED, c);
  }
  // SYN_RECV under embryonic pressure gets the shorter timeout, as batch.ts's forward gives it
  store<u32>(c + CONN_EXPIRES, now + (next == TCP_S_SYN_RECV ? synRecvTimeout() : timeoutMs(next)));
}

/**
 * forward6 moves one IPv6 packet of session `rec` in direction `out`: state and timer, the
 * mode's rewrite (or translation to IPv4 for NAT64), Ethernet addresses and device, counters.
 * Returns true when the packet went on along the session (not dropped, not answered).
 */
export function forward6(desc: usize, scr: usize, rec: u32, out: bool, l2: bool, vnet: bool, inDev: u32, now: u32,
  forced: u32 = STATE_FROM_SEGMENT): bool {
  const c = connAddress(rec);
  const x = conn6Address(rec);
  const flags = load<u8>(c + CONN_FLAGS);
  const fwd = <u32>((flags & CONNF_FWD_MASK) >> CONNF_FWD_SHIFT);
  const rs = <u32>load<u16>(c + CONN_RS);
  const r = rsAddress(rs);
  let frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const proto = <u32>load<u8>(c + CONN_PROTO) & ~(<u32>PROTO_V6);
  const icmp = load<u8>(scr + SCR_ICMP) != 0;
  const tot = IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN));
  const l2len: u32 = l2 ? ETH_HLEN : 0;
  let outLen = l2len + tot;
  const vnetHdr: usize = vnet ? frame - VNET_HDR_LEN : 0;
  const partial = vnet && (load<u8>(vnetHdr + VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0;
  const rsV6 = (load<u8>(r + RS_FLAGS) & RSF_V6) != 0;
  // NAT64 towards the server: the IPv4 header that replaced the IPv6 one (0: still IPv6)
  let ip4: usize = 0;

  let translated = false;
  // the client's first SYN: TOA and the PROXY protocol are armed on it (as batch.ts)
  let firstSyn = false;
  if (icmp) {
    if (fwd == FWD_FNAT && !rsV6) {
      // NAT64: the error and its quote become ICMPv4 towards the server (RFC 7915 §5.2)
      const nf = out ? 0 : nat64IcmpIn(ip, l4, <usize>load<u32>(scr + SCR_FRAG6), l2, c, desc + DESC_LEN);
      if (nf == 0) {
        settle(desc, VERDICT_DROP, DROP_UNSUPPORTED);
        return false;
      }
      frame = nf;
      outLen = l2len + load<u32>(desc + DESC_LEN);
      // the error's virtio header, if any, described the packet before translation
      if (vnet) memory.fill(nf - VNET_HDR_LEN, 0, VNET_HDR_LEN);
      translated = true;
    } else if (fwd == FWD_NAT || fwd == FWD_FNAT) {
      // a proxied session's quote is in the sequence space of the side it was sent to
      quoteAdjust6(rec, ip, <usize>load<u32>(scr + SCR_FRAG6), out);
      relayIcmp6Error(ip, l4, <usize>load<u32>(scr + SCR_FRAG6), c, x, out, fwd);
    }
    count(STAT_ICMP_RELAYED, 1);
  } else if (proto == IPPROTO_TCP) {
    firstSyn = load<u8>(c + CONN_STATE) == TCP_S_NONE && !out && (load<u8>(scr + SCR_TCPFLAGS) & (TH_SYN | TH_ACK)) == TH_SYN;
    tcpStep(c, r, scr, fwd == FWD_DR || fwd == FWD_TUN ? DIR_INPUT_ONLY : (out ? DIR_OUTPUT : DIR_INPUT), now, forced);
  } else {
    store<u32>(c + CONN_EXPIRES, now + timeoutMs(TO_UDP));
  }

  let outDev: u32;
  if (out) {
    if (!icmp) {
      if (fwd == FWD_FNAT) fnatOut6(ip, l4, proto, c, x, partial);
      else natOut6(ip, l4, proto, c, x, partial);
    }
    outDev = <u32>load<u8>(c + CONN_CDEV);
    if (l2) setMacs(frame, c + CONN_CMAC, devAddress(outDev) + DEV_MAC);
  } else {
    if (l2 && (load<u8>(r + RS_FLAGS) & RSF_READY) == 0) {
      settle(desc, VERDICT_DROP, DROP_NO_NEIGH);
      return false;
    }
    outDev = <u32>load<u8>(r + RS_DEV);
    const dev = devAddress(outDev);
    if (l2) followClient(c, frame, inDev);
    if (fwd == FWD_NAT) {
      if (!icmp) natIn6(ip, l4, proto, c, x, partial);
      if (l2) drIn(frame, r, dev + DEV_MAC);
    } else if (fwd == FWD_FNAT) {
      if (rsV6) {
        if (!icmp) fnatIn6(ip, l4, proto, c, x, partial);
      } else if (!translated) {
        // a first fragment would need its fragment header translated too (RFC 7915 §5.1.1): not done
        if (load<u32>(scr + SCR_FRAG6) != 0) {
          settle(desc, VERDICT_DROP, DROP_FRAGMENT);
          return false;
        }
        frame = nat64In(frame, ip, l4, proto, l2, c, x, partial, vnetHdr);
        outLen = l2len + IP_HLEN + <u32>(ip + tot - l4);
        // the transport header stayed where it was, with the IPv4 header right before it
        ip4 = l4 - IP_HLEN;
      }
      if (l2) drIn(frame, r, dev + DEV_MAC);
    } else if (fwd == FWD_DR) {
      if (!l2) {
        settle(desc, VERDICT_DROP, DROP_UNSUPPORTED);
        return false;
      }
      drIn(frame, r, dev + DEV_MAC);
    } else {
      const res = tunIn6(frame, ip, l2, vnetHdr, r, rs6Address(rs), dev, dev + DEV_MAC, tunSource6(rs, c, dev));
      if (res == TUN_FRAG_NEEDED) {
        // RFC 2473 §7.2: the tunnel's own header is what no longer fits: tell the client
        const mtu = <u32>load<u16>(dev + DEV_MTU) - IP6_HLEN;
        const nf = packetTooBig6(frame, ip, l2, vnet, mtu);
        store<u32>(desc + DESC_OFF, <u32>nf);
        store<u32>(desc + DESC_LEN, l2len + packetTooBigLength(tot));
        store<u8>(desc + DESC_OUT_DEV, <u8>inDev);
        settle(desc, VERDICT_FORWARD, 0);
        count(STAT_FRAG_NEEDED_SENT, 1);
        return false;
      }
      if (res < TUN_FAILED_BELOW) {
        settle(desc, VERDICT_DROP, <u8>res);
        return false;
      }
      frame = <usize>res;
      outLen += IP6_HLEN;
    }
  }
  // the shared sequence translation and TOA / the PROXY header (clientaddr.ts) know no address
  // family: they edit whichever IP header now carries the segment
  if (proto == IPPROTO_TCP && !icmp && hdr(HDR_CONNX_BASE) != 0) {
    const at = ip4 != 0 ? ip4 : ip;
    const grown = stream(desc, rec, c, at, l4, out, firstSyn, partial, ip + tot, vnetHdr);
    if (grown >= CLIENTADDR_FAILED) {
      settle(desc, VERDICT_DROP, <u8>(grown & 0xff));
      return false;
    }
    outLen += grown;
  }
  countTraffic(<u32>load<u16>(c + CONN_SVC), rs, out, tot);
  connStatsCount(rec, scr, proto == IPPROTO_TCP && !icmp, out, tot, now);
  store<u32>(desc + DESC_OFF, <u32>frame);
  store<u32>(desc + DESC_LEN, outLen);
  store<u8>(desc + DESC_OUT_DEV, <u8>outDev);
  settle(desc, VERDICT_FORWARD, 0);
  return true;
}

/** tunSource6: where the outer source of 6in6 is: the server's tunnel_source, else the service's, else the device's address */
// @ts-ignore: decorator
@inline export function tunSource6(rs: u32, c: usize, dev: usize): usize {
  let src = rs6Address(rs) + RS6_TUN_SRC;
  if (zero16(src)) src = svc6Address(<u32>load<u16>(c + CONN_SVC)) + SVC6_TUN_SRC;
  if (zero16(src)) src = dev + DEV_ADDR6;
  return src;
}

/** lookupScr6 looks up the session of the IPv6 frame pass 1 parsed into `scr` */
// @ts-ignore: decorator
@inline export function lookupScr6(scr: usize, proto: u32): u32 {
  return lookupConn6(load<u32>(scr + SCR_HASH), <usize>load<u32>(scr + SCR_SRC), <usize>load<u32>(scr + SCR_DST),
    load<u32>(scr + SCR_SPORT), proto | PROTO_V6, false);
}

/**
 * handle6 is pass 3 for one IPv6 frame of base class `cls` (CLASS_IN, CLASS_OUT, ...). Returns
 * the index slot value of the session it used (0 if none), for first fragments.
 */
function handle6(desc: usize, scr: usize, cls: u8, l2: bool, vnet: bool, inDev: u32, now: u32): u32 {
  if (cls == CLASS_UNKNOWN || hdr(HDR_CONN6_BASE) == 0) {
    // no IPv6 sessions configured: nothing IPv6 can be ours
    if (cls == CLASS_IN) settle(desc, VERDICT_DROP, DROP_NO_SERVICE);
    else unknownPacket(desc, inDev);
    return 0;
  }
  const proto = <u32>load<u8>(scr + SCR_PROTO);
  const p6 = proto | PROTO_V6;
  const src = <usize>load<u32>(scr + SCR_SRC);
  const dst = <usize>load<u32>(scr + SCR_DST);
  const ports = load<u32>(scr + SCR_SPORT);
  let v = lookupConn6(load<u32>(scr + SCR_HASH), src, dst, ports, p6, false);
  let prev = NO_CONN;
  if (v != 0) {
    // as handle: a quarantined tuple passes nothing, a stale session is ended, a reused one
    // is retired by newConn6 once the new server is known
    const c = connAddress(recOf(v));
    if (load<u8>(c + CONN_FLAGS) & CONNF_DETACHED) {
      v = 0;
    } else if (timeReached(load<u32>(c + CONN_EXPIRES), now) || connGone(c)) {
      endExpired(recOf(v), now);
      v = 0;
    } else if (cls == CLASS_IN && proto == IPPROTO_TCP &&
      (reusable(c, load<u8>(scr + SCR_TCPFLAGS)) || reusedByProxy(recOf(v), c, scr, true))) {
      prev = recOf(v);
      v = 0;
    }
  }
  let rec: u32;
  let out = false;
  if (v != 0) {
    rec = recOf(v);
    out = (v & IDX_DIR_OUT) != 0;
    // as handle: the SYN proxy's handshake with the real server (batch.ts proxyHandshake)
    if (proto == IPPROTO_TCP && load<u8>(scr + SCR_ICMP) == 0 && synproxyPending(rec)) {
      proxyHandshake(desc, scr, rec, out, l2, vnet, inDev, now, true);
      return 0;
    }
  } else if (cls == CLASS_IN) {
    const svc = lookupService6(dst, ports >>> 16, proto);
    if (svc == NO_SERVICE) {
      if (prev != NO_CONN) {
        connStatsEvict(prev);
        expireConn(prev);
      }
      settle(desc, VERDICT_DROP, DROP_NO_SERVICE);
      return 0;
    }
    if (proto == IPPROTO_TCP && proxyIntercept(desc, scr, svc, prev, l2, vnet, inDev, now, true)) return 0;
    rec = newConn6(scr, svc, <usize>load<u32>(desc + DESC_OFF), l2, inDev, now, prev);
    if (rec >= FAILED) {
      settle(desc, VERDICT_DROP, <u8>(rec & 0xff));
      return 0;
    }
  } else if (cls == CLASS_ICMP_ERR) {
    settle(desc, VERDICT_DROP, DROP_ICMP_UNRELATED);
    return 0;
  } else if (cls == CLASS_LIP) {
    settle(desc, VERDICT_DROP, DROP_NO_SESSION);
    return 0;
  } else {
    unknownPacket(desc, inDev);
    return 0;
  }
  if (v == 0) connStatsStart(rec, connAddress(rec), now);
  const sent = forward6(desc, scr, rec, out, l2, vnet, inDev, now);
  if (v == 0) emitEvent(EVT_CREATED, connAddress(rec));
  return sent ? (rec + 1) | (out ? IDX_DIR_OUT : 0) : 0;
}

/**
 * nat64Reply is the IPv4 path's second look for a TCP/UDP packet to a LIP: the out key of a
 * NAT64 session lives in an IPv6 record (PROTO_V6), indexed under the packet's IPv4 hash. On a
 * hit the reply is translated to IPv6 towards the client; returns false on a miss.
 */
export function nat64Reply(desc: usize, scr: usize, l2: bool, vnet: bool, inDev: u32, now: u32): bool {
  if (hdr(HDR_CONN6_BASE) == 0) return false;
  const proto = <u32>load<u8>(scr + SCR_PROTO);
  const v = lookupConn(load<u32>(scr + SCR_HASH), load<u32>(scr + SCR_SRC), load<u32>(scr + SCR_DST),
    load<u32>(scr + SCR_SPORT), proto | PROTO_V6, false);
  if (v == 0 || (v & IDX_DIR_OUT) == 0) return false;
  const rec = recOf(v);
  const c = connAddress(rec);
  // a quarantined tuple (fnat_pool.ts): its connection is over
  if (load<u8>(c + CONN_FLAGS) & CONNF_DETACHED) return false;
  if (rsIsV6(c)) {
    expireConn(rec);
    return false;
  }
  if (timeReached(load<u32>(c + CONN_EXPIRES), now) || connGone(c)) {
    endExpired(rec, now);
    return false;
  }
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const tot = bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  const ihl = (<u32>load<u8>(ip) & 15) << 2;
  let nf: usize;
  if (load<u8>(scr + SCR_ICMP) != 0) {
    // an error from the server side about a packet we translated: ICMPv6 to the client (RFC 7915 §4.2)
    const icmp = <usize>load<u32>(scr + SCR_L4);
    nf = nat64IcmpOut(ip, icmp, icmp + 8, ip + tot, l2, c, conn6Address(rec), desc + DESC_LEN);
    if (nf == 0) {
      settle(desc, VERDICT_DROP, DROP_UNSUPPORTED);
      return true;
    }
    store<u32>(desc + DESC_LEN, (l2 ? ETH_HLEN : 0) + load<u32>(desc + DESC_LEN));
    if (vnet) memory.fill(nf - VNET_HDR_LEN, 0, VNET_HDR_LEN);
    count(STAT_ICMP_RELAYED, 1);
  } else {
    const r = rsAddress(<u32>load<u16>(c + CONN_RS));
    if (proto == IPPROTO_TCP) tcpStep(c, r, scr, DIR_OUTPUT, now);
    else store<u32>(c + CONN_EXPIRES, now + timeoutMs(TO_UDP));
    const vnetHdr: usize = vnet ? frame - VNET_HDR_LEN : 0;
    const partial = vnet && (load<u8>(vnetHdr + VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0;
    nf = nat64Out(frame, ip, l2, c, conn6Address(rec), partial, vnetHdr);
    // the transport header stays where it was: only the IP header in front of it changed (a
    // server segment never grows: stream() only clamps, translates and notes acknowledgements)
    if (proto == IPPROTO_TCP && hdr(HDR_CONNX_BASE) != 0) {
      stream(desc, rec, c, ip + ihl - IP6_HLEN, ip + ihl, true, false, partial, ip + tot, vnetHdr);
    }
    store<u32>(desc + DESC_LEN, (l2 ? ETH_HLEN : 0) + IP6_HLEN + tot - ihl);
  }
  const outDev = <u32>load<u8>(c + CONN_CDEV);
  if (l2) setMacs(nf, c + CONN_CMAC, devAddress(outDev) + DEV_MAC);
  countTraffic(<u32>load<u16>(c + CONN_SVC), <u32>load<u16>(c + CONN_RS), true, tot);
  connStatsCount(rec, scr, proto == IPPROTO_TCP && load<u8>(scr + SCR_ICMP) == 0, true, tot, now);
  store<u32>(desc + DESC_OFF, <u32>nf);
  store<u8>(desc + DESC_OUT_DEV, <u8>outDev);
  settle(desc, VERDICT_FORWARD, 0);
  return true;
}
