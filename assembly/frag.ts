// frag.ts — IP fragments (IPv4 and IPv6) without reassembly, as Maglev does: every fragment of a
// datagram goes where its first fragment went, rewritten the same way. The first fragment (the
// only one with ports) is scheduled like any packet and its decision — the session's index slot
// value — is remembered under (source, destination, ID, protocol) for HDR_FRAG_TIMEOUT ms in a
// bounded cache (FRAG_PROBE entries probed at most, the oldest evicted). A later fragment that
// finds the decision is rewritten at the IP layer only (the transport checksum, in the first
// fragment, already covers the new addresses). One that comes before its first fragment is
// copied into the hold region and waits at most HDR_HOLD_TIMEOUT ms; its first fragment
// releases it (state HOLD_READY: the host writes it after the batch), or the sweep drops it
// (DROP_FRAG_TIMEOUT). No allocation; all state lives in regions found through the header.
// multi-core: the cache and the hold region are shared; two workers would need a lock or one
// region each (fragments of one datagram may arrive on different queues).
import {
  CONNF_FWD_MASK, CONNF_FWD_SHIFT, CONNF_POOL, CONNF_TEMPLATE, CONNF_USED, CONN6_CIP, CONN6_LIP, CONN6_RIP,
  CONN6_VIP, CONN_CDEV, CONN_CIP, CONN_CMAC, CONN_EXPIRES, CONN_FLAGS, CONN_LIP, CONN_PROTO, CONN_RIP, CONN_RS,
  CONN_STATE, CONN_SVC, CONN_VIP, DESC_LEN, DESC_OFF, DESC_OUT_DEV, DESC_REASON, DESC_VERDICT, DEV_ADDR, DEV_ADDR6,
  DEV_MAC, DEV_SIZE, DROP_FRAGMENT, DROP_FRAG_OVERFLOW, DROP_FRAG_TIMEOUT, DROP_NO_NEIGH, DROP_UNSUPPORTED, ETH_HLEN,
  FRAGF_USED, FRAGF_V6, FRAG_DST, FRAG_EXPIRES, FRAG_FLAGS, FRAG_ID, FRAG_PROBE, FRAG_PROTO, FRAG_SIZE, FRAG_SLOT,
  FRAG_SRC, FWD_DR, FWD_FNAT, FWD_NAT, HDR_DEV_BASE, HDR_FRAG_BASE, HDR_FRAG_MASK, HDR_FRAG_TIMEOUT, HDR_HEADROOM,
  HDR_HOLD_BASE, HDR_HOLD_COUNT, HDR_HOLD_READY, HDR_HOLD_SIZE, HDR_HOLD_TIMEOUT, HDR_HOLD_WAITING, HDR_OPTIONS,
  HOLDF_L2, HOLDF_V6, HOLD_DST, HOLD_EXPIRES, HOLD_FLAGS, HOLD_FRAME, HOLD_FREE, HOLD_HDR, HOLD_ID, HOLD_IN_DEV,
  HOLD_LEN, HOLD_OUT_DEV, HOLD_PROTO, HOLD_READY, HOLD_SRC, HOLD_STATE, HOLD_WAITING, IDX_DIR_OUT, IPPROTO_ICMP,
  IPPROTO_ICMPV6, IPPROTO_TCP, LOCAL_VIP, OPT_UNKNOWN_HOST, OPT_UNKNOWN_PASS, PROTO_V6, RSF_READY, RS_DEV, RS_FLAGS,
  RS_TUN_SRC, RS6_TUN_SRC, SCR_DST, SCR_HASH, SCR_L3, SCR_L4, SCR_PROTO, SCR_SPORT, SCR_SRC, STAT_FRAG_FIRST,
  STAT_FRAG_HELD, STAT_FRAG_HITS, STAT_FRAG_RELEASED, HDR_SVC6_BASE, SVC6_SIZE, SVC6_TUN_SRC, SVC_TUN_SRC, TO_UDP,
  VERDICT_DROP, VERDICT_FORWARD, VERDICT_HELD, VERDICT_HOST,
} from './abi';
import { csumApply, csumDelta32 } from './csum';
import { flowHash, flowHash6 } from './flow';
import { bswap16, copy16, eq16, hdr, lhdr, setHdr, setLhdr, timeReached, zero16 } from './mem';
import { CLASS_DONE, CLASS_FRAG, CLASS_V6 } from './parse';
import { localKind, serviceAddress } from './service';
import { conn6Address, rs6Address, rsIsV6 } from './session6';
import { connAddress, recOf, rsAddress, timeoutMs } from './session';
import { connStatsCount } from './connstats';
import { count, countDrop, countTraffic } from './stats';
import {
  FH_ID, IP6_DST, IP6_HLEN, IP6_PLEN, IP6_SRC, IP_CSUM, IP_DST, IP_HLEN, IP_ID, IP_PROTO, IP_SRC, IP_TOT_LEN,
} from './wire';
import { drIn } from './xmit/dr';
import { setMacs } from './xmit/rewrite';
import { TUN_FAILED_BELOW, TUN_FRAG_NEEDED, tunIn } from './xmit/tun';
import { tunIn6 } from './xmit/tun6';

// @ts-ignore: decorator
@inline function settle(desc: usize, verdict: u8, reason: u8): u8 {
  store<u8>(desc + DESC_VERDICT, verdict);
  store<u8>(desc + DESC_REASON, reason);
  return CLASS_DONE;
}

// @ts-ignore: decorator
@inline function devAddress(dev: u32): usize {
  return <usize>(hdr(HDR_DEV_BASE) + dev * DEV_SIZE);
}

/**
 * laterFragment4 classifies an IPv4 fragment with a non-zero offset (parse.ts): it has no ports,
 * so pass 3 looks its first fragment's decision up by (src, dst, ID, protocol).
 */
export function laterFragment4(desc: usize, scr: usize, ip: usize): u8 {
  const proto = <u32>load<u8>(ip + IP_PROTO);
  const src = load<u32>(ip + IP_SRC);
  const dst = load<u32>(ip + IP_DST);
  const kind = localKind(dst);
  // the host reassembles what is its own (a large echo request, anything for a DIP)
  if (kind != 0 && ((kind & LOCAL_VIP) == 0 || proto == IPPROTO_ICMP)) return settle(desc, VERDICT_HOST, 0);
  const id = <u32>load<u16>(ip + IP_ID);
  store<u32>(scr + SCR_L3, <u32>ip);
  store<u8>(scr + SCR_PROTO, <u8>proto);
  store<u32>(scr + SCR_SRC, src);
  store<u32>(scr + SCR_DST, dst);
  store<u32>(scr + SCR_SPORT, id);
  store<u32>(scr + SCR_HASH, flowHash(src, dst, id, proto));
  store<u32>(scr + SCR_L4, kind);
  return CLASS_FRAG;
}

/** laterFragment6: the same for an IPv6 fragment (fragment header at `frag`) */
export function laterFragment6(desc: usize, scr: usize, ip: usize, frag: usize, kind: u32): u8 {
  const proto = <u32>load<u8>(frag);
  if (kind != 0 && ((kind & LOCAL_VIP) == 0 || proto == IPPROTO_ICMPV6)) return settle(desc, VERDICT_HOST, 0);
  const id = load<u32>(frag + FH_ID);
  store<u32>(scr + SCR_L3, <u32>ip);
  store<u8>(scr + SCR_PROTO, <u8>proto);
  store<u32>(scr + SCR_SRC, <u32>(ip + IP6_SRC));
  store<u32>(scr + SCR_DST, <u32>(ip + IP6_DST));
  store<u32>(scr + SCR_SPORT, id);
  store<u32>(scr + SCR_HASH, flowHash6(ip + IP6_SRC, ip + IP6_DST, id, proto | PROTO_V6));
  store<u32>(scr + SCR_L4, kind);
  return CLASS_FRAG | CLASS_V6;
}

// ── the decision cache ──────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline function fragEntry(i: u32): usize {
  return <usize>(hdr(HDR_FRAG_BASE) + (i & hdr(HDR_FRAG_MASK)) * FRAG_SIZE);
}

/** the key of an entry equals (src, dst, id, proto): IPv4 addresses are values, IPv6 pointers */
function keyMatches(e: usize, v6: bool, src: u32, dst: u32, id: u32, proto: u32): bool {
  if (load<u32>(e + FRAG_ID) != id || <u32>load<u8>(e + FRAG_PROTO) != proto) return false;
  const f = load<u8>(e + FRAG_FLAGS);
  if ((f & FRAGF_USED) == 0 || ((f & FRAGF_V6) != 0) != v6) return false;
  if (v6) return eq16(e + FRAG_SRC, <usize>src) && eq16(e + FRAG_DST, <usize>dst);
  return load<u32>(e + FRAG_SRC) == src && load<u32>(e + FRAG_DST) == dst;
}

/** fragLookup: the session slot value a datagram's first fragment chose, 0 if none (or expired) */
function fragLookup(hash: u32, v6: bool, src: u32, dst: u32, id: u32, proto: u32, now: u32): u32 {
  if (hdr(HDR_FRAG_BASE) == 0) return 0;
  for (let k: u32 = 0; k < FRAG_PROBE; k++) {
    const e = fragEntry(hash + k);
    if (keyMatches(e, v6, src, dst, id, proto)) {
      return timeReached(load<u32>(e + FRAG_EXPIRES), now) ? 0 : load<u32>(e + FRAG_SLOT);
    }
  }
  return 0;
}

/**
 * fragClaim takes the entry for the datagram (src, dst, id, proto): the entry of the same key,
 * else the first free or expired one of the probe window, else its oldest. Its decision is 0
 * (none yet); 0 when there is no cache.
 */
function fragClaim(hash: u32, v6: bool, src: u32, dst: u32, id: u32, proto: u32, now: u32): usize {
  if (hdr(HDR_FRAG_BASE) == 0) return 0;
  let pick: usize = 0;
  let oldest: usize = 0;
  for (let k: u32 = 0; k < FRAG_PROBE; k++) {
    const e = fragEntry(hash + k);
    if (keyMatches(e, v6, src, dst, id, proto)) {
      pick = e;
      break;
    }
    if (pick == 0 && ((load<u8>(e + FRAG_FLAGS) & FRAGF_USED) == 0 || timeReached(load<u32>(e + FRAG_EXPIRES), now))) pick = e;
    if (oldest == 0 || <i32>(load<u32>(e + FRAG_EXPIRES) - load<u32>(oldest + FRAG_EXPIRES)) < 0) oldest = e;
  }
  const e = pick != 0 ? pick : oldest;
  memory.fill(e, 0, FRAG_SIZE);
  if (v6) {
    copy16(e + FRAG_SRC, <usize>src);
    copy16(e + FRAG_DST, <usize>dst);
  } else {
    store<u32>(e + FRAG_SRC, src);
    store<u32>(e + FRAG_DST, dst);
  }
  store<u32>(e + FRAG_ID, id);
  store<u8>(e + FRAG_PROTO, <u8>proto);
  store<u8>(e + FRAG_FLAGS, FRAGF_USED | (v6 ? FRAGF_V6 : 0));
  store<u32>(e + FRAG_EXPIRES, now + hdr(HDR_FRAG_TIMEOUT));
  return e;
}

/**
 * firstFragmentBegin is called for a first fragment before it is handled: it records the
 * datagram's key (read from the frame, which the handling rewrites) in a cache entry whose
 * decision firstFragmentEnd fills in. Returns the entry (0: no cache).
 */
export function firstFragmentBegin(ip: usize, v6: bool, fragHdr: usize, now: u32): usize {
  if (v6) {
    const proto = <u32>load<u8>(fragHdr);
    const id = load<u32>(fragHdr + FH_ID);
    const hash = flowHash6(ip + IP6_SRC, ip + IP6_DST, id, proto | PROTO_V6);
    return fragClaim(hash, true, <u32>(ip + IP6_SRC), <u32>(ip + IP6_DST), id, proto, now);
  }
  const proto = <u32>load<u8>(ip + IP_PROTO);
  const src = load<u32>(ip + IP_SRC);
  const dst = load<u32>(ip + IP_DST);
  const id = <u32>load<u16>(ip + IP_ID);
  return fragClaim(flowHash(src, dst, id, proto), false, src, dst, id, proto, now);
}

/**
 * firstFragmentEnd: the first fragment followed session slot `slot` (0: it was not forwarded,
 * the entry is given up). Later fragments find the decision; the ones held for it are released.
 */
export function firstFragmentEnd(e: usize, slot: u32, now: u32): void {
  if (e == 0) return;
  if (slot == 0) {
    store<u8>(e + FRAG_FLAGS, 0);
    return;
  }
  store<u32>(e + FRAG_SLOT, slot);
  count(STAT_FRAG_FIRST, 1);
  if (lhdr(HDR_HOLD_WAITING) == 0) return;
  const v6 = (load<u8>(e + FRAG_FLAGS) & FRAGF_V6) != 0;
  const src = v6 ? <u32>(e + FRAG_SRC) : load<u32>(e + FRAG_SRC);
  const dst = v6 ? <u32>(e + FRAG_DST) : load<u32>(e + FRAG_DST);
  releaseHeld(v6, src, dst, load<u32>(e + FRAG_ID), <u32>load<u8>(e + FRAG_PROTO), slot, now);
}

// ── rewriting a fragment ────────────────────────────────────────────────────────────────────
/** the session behind a slot value still is the one the decision was made for */
function sessionMatches(c: usize, rec: u32, ip: usize, v6: bool, out: bool): bool {
  const flags = load<u8>(c + CONN_FLAGS);
  if ((flags & (CONNF_USED | CONNF_TEMPLATE)) != CONNF_USED) return false;
  const recV6 = (load<u8>(c + CONN_PROTO) & PROTO_V6) != 0;
  if (!v6) {
    const src = load<u32>(ip + IP_SRC);
    const dst = load<u32>(ip + IP_DST);
    if (!out) return !recV6 && load<u32>(c + CONN_CIP) == src && load<u32>(c + CONN_VIP) == dst;
    if (load<u32>(c + CONN_RIP) != src) return false;
    // NAT64 replies are IPv4 packets of an IPv6 record; they cannot be fragments we rewrite
    if (recV6) return false;
    return (flags & CONNF_POOL) != 0 ? load<u32>(c + CONN_LIP) == dst : load<u32>(c + CONN_CIP) == dst;
  }
  if (!recV6) return false;
  const x = conn6Address(rec);
  if (!out) return eq16(x + CONN6_CIP, ip + IP6_SRC) && eq16(x + CONN6_VIP, ip + IP6_DST);
  if (!eq16(x + CONN6_RIP, ip + IP6_SRC)) return false;
  return (flags & CONNF_POOL) != 0 ? eq16(x + CONN6_LIP, ip + IP6_DST) : eq16(x + CONN6_CIP, ip + IP6_DST);
}

/** setAddr4 replaces an IPv4 address field with an incremental header checksum update */
// @ts-ignore: decorator
@inline function setAddr4(ip: usize, field: u32, v: u32): void {
  const d = csumDelta32(load<u32>(ip + field), v);
  store<u32>(ip + field, v);
  store<u16>(ip + IP_CSUM, <u16>csumApply(<u32>load<u16>(ip + IP_CSUM), d));
}

/**
 * forwardFragment rewrites the fragment frame at `frame` (IP header at `ip`) as session slot
 * `slot` says and picks its device. Returns the new frame start (≥ TUN_FAILED_BELOW) and writes
 * the new length at `lenOut` and the device at `devOut`, or returns a DROP_* reason.
 */
function forwardFragment(frame: usize, ip: usize, l2: bool, v6: bool, slot: u32, inDev: u32, now: u32,
  lenOut: usize, devOut: usize): u32 {
  const rec = recOf(slot);
  const out = (slot & IDX_DIR_OUT) != 0;
  const c = connAddress(rec);
  if (!sessionMatches(c, rec, ip, v6, out)) return DROP_FRAGMENT;
  const fwd = <u32>((load<u8>(c + CONN_FLAGS) & CONNF_FWD_MASK) >> CONNF_FWD_SHIFT);
  const rs = <u32>load<u16>(c + CONN_RS);
  const r = rsAddress(rs);
  const tot = v6 ? IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN)) : bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  const l2len: u32 = l2 ? ETH_HLEN : 0;
  let outLen = l2len + tot;
  // NAT64 translates headers it would have to rebuild per fragment: not done
  if (v6 && fwd == FWD_FNAT && !rsIsV6(c)) return DROP_FRAGMENT;
  const proto = <u32>load<u8>(c + CONN_PROTO) & ~(<u32>PROTO_V6);
  store<u32>(c + CONN_EXPIRES, now + timeoutMs(proto == IPPROTO_TCP ? <u32>load<u8>(c + CONN_STATE) : TO_UDP));
  let dev: u32;
  let newFrame = frame;
  if (out) {
    const x = conn6Address(rec);
    if (v6) {
      copy16(ip + IP6_SRC, x + CONN6_VIP);
      if (fwd == FWD_FNAT) copy16(ip + IP6_DST, x + CONN6_CIP);
    } else {
      setAddr4(ip, IP_SRC, load<u32>(c + CONN_VIP));
      if (fwd == FWD_FNAT) setAddr4(ip, IP_DST, load<u32>(c + CONN_CIP));
    }
    dev = <u32>load<u8>(c + CONN_CDEV);
    if (l2) setMacs(frame, c + CONN_CMAC, devAddress(dev) + DEV_MAC);
  } else {
    if (l2 && (load<u8>(r + RS_FLAGS) & RSF_READY) == 0) return DROP_NO_NEIGH;
    dev = <u32>load<u8>(r + RS_DEV);
    const d = devAddress(dev);
    if (fwd == FWD_NAT || fwd == FWD_FNAT) {
      if (v6) {
        const x = conn6Address(rec);
        if (fwd == FWD_FNAT) copy16(ip + IP6_SRC, x + CONN6_LIP);
        copy16(ip + IP6_DST, x + CONN6_RIP);
      } else {
        if (fwd == FWD_FNAT) setAddr4(ip, IP_SRC, load<u32>(c + CONN_LIP));
        setAddr4(ip, IP_DST, load<u32>(c + CONN_RIP));
      }
      if (l2) drIn(frame, r, d + DEV_MAC);
    } else if (fwd == FWD_DR) {
      if (!l2) return DROP_UNSUPPORTED;
      drIn(frame, r, d + DEV_MAC);
    } else {
      let res: u32;
      if (v6) {
        const r6 = rs6Address(rs);
        let src = r6 + RS6_TUN_SRC;
        if (zero16(src)) src = svc6TunSrc(<u32>load<u16>(c + CONN_SVC));
        if (zero16(src)) src = d + DEV_ADDR6;
        res = tunIn6(frame, ip, l2, 0, r, r6, d, d + DEV_MAC, src);
        outLen += IP6_HLEN;
      } else {
        let src = load<u32>(r + RS_TUN_SRC);
        if (src == 0) src = load<u32>(serviceAddress(<u32>load<u16>(c + CONN_SVC)) + SVC_TUN_SRC);
        if (src == 0) src = load<u32>(d + DEV_ADDR);
        res = tunIn(frame, ip, l2, 0, r, d, d + DEV_MAC, src);
        outLen += IP_HLEN;
      }
      // a fragment has no DF; the tunnel would have to fragment the outer packet: not done
      if (res == TUN_FRAG_NEEDED) return DROP_FRAGMENT;
      if (res < TUN_FAILED_BELOW) return res;
      newFrame = <usize>res;
    }
  }
  countTraffic(<u32>load<u16>(c + CONN_SVC), rs, out, tot);
  // a later fragment has no transport header: no FIN or RST to note (scratch unused)
  connStatsCount(rec, 0, false, out, tot, now);
  store<u32>(lenOut, outLen);
  store<u8>(devOut, <u8>dev);
  return <u32>newFrame;
}

// @ts-ignore: decorator
@inline function svc6TunSrc(svc: u32): usize {
  return <usize>(hdr(HDR_SVC6_BASE) + svc * SVC6_SIZE) + SVC6_TUN_SRC;
}

/** pass 3 for a later fragment: follow the first fragment's decision, or wait for it */
export function handleLaterFragment(desc: usize, scr: usize, v6: bool, l2: bool, inDev: u32, now: u32): void {
  const ip = <usize>load<u32>(scr + SCR_L3);
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const proto = <u32>load<u8>(scr + SCR_PROTO);
  const src = load<u32>(scr + SCR_SRC);
  const dst = load<u32>(scr + SCR_DST);
  const id = load<u32>(scr + SCR_SPORT);
  const slot = fragLookup(load<u32>(scr + SCR_HASH), v6, src, dst, id, proto, now);
  if (slot != 0) {
    const res = forwardFragment(frame, ip, l2, v6, slot, inDev, now, desc + DESC_LEN, desc + DESC_OUT_DEV);
    if (res < TUN_FAILED_BELOW) {
      settle(desc, VERDICT_DROP, <u8>res);
      return;
    }
    store<u32>(desc + DESC_OFF, res);
    settle(desc, VERDICT_FORWARD, 0);
    count(STAT_FRAG_HITS, 1);
    return;
  }
  // not for a VIP or LIP: held only when the alternative is dropping it
  const kind = load<u32>(scr + SCR_L4);
  if (kind == 0 && (hdr(HDR_OPTIONS) & (OPT_UNKNOWN_HOST | OPT_UNKNOWN_PASS)) != 0) {
    if (hdr(HDR_OPTIONS) & OPT_UNKNOWN_HOST) {
      settle(desc, VERDICT_HOST, 0);
    } else {
      store<u8>(desc + DESC_OUT_DEV, <u8>inDev);
      settle(desc, VERDICT_FORWARD, 0);
    }
    return;
  }
  hold(desc, frame, ip, l2, v6, src, dst, id, proto, inDev, now);
}

// ── the hold region ─────────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline function holdEntry(i: u32): usize {
  return <usize>(lhdr(HDR_HOLD_BASE) + i * hdr(HDR_HOLD_SIZE));
}

function hold(desc: usize, frame: usize, ip: usize, l2: bool, v6: bool, src: u32, dst: u32, id: u32, proto: u32,
  inDev: u32, now: u32): void {
  const n = hdr(HDR_HOLD_COUNT);
  const len = load<u32>(desc + DESC_LEN);
  const at = HOLD_HDR + hdr(HDR_HEADROOM);
  if (lhdr(HDR_HOLD_BASE) == 0 || at + len > hdr(HDR_HOLD_SIZE)) {
    settle(desc, VERDICT_DROP, DROP_FRAG_OVERFLOW);
    return;
  }
  for (let i: u32 = 0; i < n; i++) {
    const e = holdEntry(i);
    if (load<u8>(e + HOLD_STATE) != HOLD_FREE) continue;
    memory.fill(e, 0, HOLD_HDR);
    memory.copy(e + at, frame, len);
    store<u8>(e + HOLD_FLAGS, (l2 ? HOLDF_L2 : 0) | (v6 ? HOLDF_V6 : 0));
    store<u8>(e + HOLD_IN_DEV, <u8>inDev);
    store<u32>(e + HOLD_EXPIRES, now + hdr(HDR_HOLD_TIMEOUT));
    store<u32>(e + HOLD_FRAME, at);
    store<u32>(e + HOLD_LEN, len);
    if (v6) {
      copy16(e + HOLD_SRC, <usize>src);
      copy16(e + HOLD_DST, <usize>dst);
    } else {
      store<u32>(e + HOLD_SRC, src);
      store<u32>(e + HOLD_DST, dst);
    }
    store<u32>(e + HOLD_ID, id);
    store<u8>(e + HOLD_PROTO, <u8>proto);
    store<u8>(e + HOLD_STATE, HOLD_WAITING);
    setLhdr(HDR_HOLD_WAITING, lhdr(HDR_HOLD_WAITING) + 1);
    settle(desc, VERDICT_HELD, 0);
    count(STAT_FRAG_HELD, 1);
    return;
  }
  settle(desc, VERDICT_DROP, DROP_FRAG_OVERFLOW);
}

/** releaseHeld rewrites the fragments waiting for the datagram that just got its decision */
function releaseHeld(v6: bool, src: u32, dst: u32, id: u32, proto: u32, slot: u32, now: u32): void {
  const n = hdr(HDR_HOLD_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const e = holdEntry(i);
    if (load<u8>(e + HOLD_STATE) != HOLD_WAITING) continue;
    const f = load<u8>(e + HOLD_FLAGS);
    if (((f & HOLDF_V6) != 0) != v6 || load<u32>(e + HOLD_ID) != id || <u32>load<u8>(e + HOLD_PROTO) != proto) continue;
    if (v6 ? !(eq16(e + HOLD_SRC, <usize>src) && eq16(e + HOLD_DST, <usize>dst))
      : load<u32>(e + HOLD_SRC) != src || load<u32>(e + HOLD_DST) != dst) continue;
    setLhdr(HDR_HOLD_WAITING, lhdr(HDR_HOLD_WAITING) - 1);
    const l2 = (f & HOLDF_L2) != 0;
    const frame = e + load<u32>(e + HOLD_FRAME);
    const ip = l2 ? frame + ETH_HLEN : frame;
    const res = forwardFragment(frame, ip, l2, v6, slot, <u32>load<u8>(e + HOLD_IN_DEV), now, e + HOLD_LEN, e + HOLD_OUT_DEV);
    if (res < TUN_FAILED_BELOW) {
      store<u8>(e + HOLD_STATE, HOLD_FREE);
      countDrop(res);
      continue;
    }
    store<u32>(e + HOLD_FRAME, <u32>(<usize>res - e));
    store<u8>(e + HOLD_STATE, HOLD_READY);
    setLhdr(HDR_HOLD_READY, lhdr(HDR_HOLD_READY) + 1);
    count(STAT_FRAG_RELEASED, 1);
  }
}

/** sweepHeld drops the fragments that waited too long for their first fragment; returns how many */
export function sweepHeld(now: u32): u32 {
  if (lhdr(HDR_HOLD_WAITING) == 0) return 0;
  const n = hdr(HDR_HOLD_COUNT);
  let dropped: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const e = holdEntry(i);
    if (load<u8>(e + HOLD_STATE) != HOLD_WAITING || !timeReached(load<u32>(e + HOLD_EXPIRES), now)) continue;
    store<u8>(e + HOLD_STATE, HOLD_FREE);
    setLhdr(HDR_HOLD_WAITING, lhdr(HDR_HOLD_WAITING) - 1);
    countDrop(DROP_FRAG_TIMEOUT);
    dropped++;
  }
  return dropped;
}
