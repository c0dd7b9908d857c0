// nat64.ts — an IPv6 VIP in front of IPv4 real servers: Full-NAT 6->4 with the header
// translation of RFC 7915 (SIIT), stateful as DPVS's NAT64 is: the session says which IPv4 LIP
// and port stand for the IPv6 client. In: CIP6:cport -> VIP6:vport becomes LIP:lport -> RIP:rport
// (the IPv6 header of 40 B plus its extension headers gives way to 20 B of IPv4, so the frame
// starts later); out: RIP:rport -> LIP:lport becomes VIP6:vport -> CIP6:cport (20 B more, taken
// from the headroom). The transport checksum is updated incrementally: the pseudo-headers of both
// families sum length and protocol the same way (RFC 1071), only the addresses change.
import {
  CONN6_CIP, CONN6_VIP, CONN_CPORT, CONN_LIP, CONN_LPORT, CONN_RIP, CONN_RPORT, CONN_VPORT, ETH_HLEN, IPPROTO_ICMP,
  IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, VNET_CSUM_START, VNET_HDR_LEN,
} from '../abi';
import {
  csumAdd128, csumAdd32, csumApply, csumApplyPartial, csumDelta32, csumFinish, csumNeg128, csumNeg32, csumSum,
  ipHeaderChecksum,
} from '../csum';
import { bswap16, copy16 } from '../mem';
import {
  ETH_P_IPV6_RAW, ETH_P_IP_RAW, ETH_TYPE, IP_DF_RAW, IP6_DST, IP6_HLEN, IP6_HLIM, IP6_MIN_MTU, IP6_NXT, IP6_PLEN, IP6_SRC, IP6_VTC, IP_CSUM,
  IP_DST, IP_FRAG, IP_HLEN, IP_ID, IP_PROTO, IP_SRC, IP_TOS, IP_TOT_LEN, IP_TTL, IP_VIHL, IP_VIHL_PLAIN, TCP_CSUM,
  UDP_CSUM,
} from '../wire';

/** RFC 7915 §5.1: DF only on translated packets above 1260 bytes (room for a later IPv6 hop) */
// @ts-ignore: decorator
@inline const DF_ABOVE: u32 = 1260;

/** writeIpv4 writes a fresh IPv4 header without options at `ip` (ID 0; DF when `df`), its checksum computed */
function writeIpv4(ip: usize, tos: u32, tot: u32, df: bool, ttl: u8, proto: u32, src: u32, dst: u32): void {
  store<u8>(ip + IP_VIHL, IP_VIHL_PLAIN);
  store<u8>(ip + IP_TOS, <u8>tos);
  store<u16>(ip + IP_TOT_LEN, <u16>bswap16(tot));
  store<u16>(ip + IP_ID, 0);
  store<u16>(ip + IP_FRAG, df ? IP_DF_RAW : 0);
  store<u8>(ip + IP_TTL, ttl);
  store<u8>(ip + IP_PROTO, <u8>proto);
  store<u16>(ip + IP_CSUM, 0);
  store<u32>(ip + IP_SRC, src);
  store<u32>(ip + IP_DST, dst);
  store<u16>(ip + IP_CSUM, <u16>ipHeaderChecksum(ip, IP_HLEN));
}

// @ts-ignore: decorator
@inline function csumField(l4: usize, proto: u32): usize {
  return proto == IPPROTO_TCP ? l4 + TCP_CSUM : l4 + UDP_CSUM;
}

/**
 * nat64In translates the IPv6 packet at `ip6` (transport header at `l4`, TCP or UDP) of session
 * `c` (IPv6 part at `x`) into IPv4 LIP:lport -> RIP:rport. Returns the new frame start; the
 * caller sets the MACs. `vnetHdr` (0 = none) moves with the frame start, its csum_start follows.
 */
export function nat64In(frame: usize, ip6: usize, l4: usize, proto: u32, l2: bool, c: usize, x: usize,
  partial: bool, vnetHdr: usize): usize {
  const tot6 = IP6_HLEN + bswap16(<u32>load<u16>(ip6 + IP6_PLEN));
  const l4len = <u32>(ip6 + tot6 - l4);
  const ip4 = l4 - IP_HLEN;
  const newFrame = l2 ? ip4 - ETH_HLEN : ip4;
  const lip = load<u32>(c + CONN_LIP);
  const rip = load<u32>(c + CONN_RIP);
  const ports = <u32>load<u16>(c + CONN_LPORT) | (<u32>load<u16>(c + CONN_RPORT) << 16);
  // everything the IPv4 header needs, read before it is overwritten
  const vtc = bswap<u32>(load<u32>(ip6 + IP6_VTC));
  const hops = load<u8>(ip6 + IP6_HLIM);
  const addrDelta = csumNeg128(ip6 + IP6_SRC) + csumNeg128(ip6 + IP6_DST) + csumAdd32(lip) + csumAdd32(rip);
  const portDelta = csumDelta32(load<u32>(l4), ports);
  store<u32>(l4, ports);
  const p = csumField(l4, proto);
  const check = <u32>load<u16>(p);
  if (partial) {
    store<u16>(p, <u16>csumApplyPartial(check, addrDelta));
  } else if (!(proto == IPPROTO_UDP && check == 0)) {
    const n = csumApply(check, addrDelta + portDelta);
    store<u16>(p, <u16>(n == 0 && proto == IPPROTO_UDP ? 0xffff : n));
  }
  if (vnetHdr != 0) {
    memory.copy(newFrame - VNET_HDR_LEN, vnetHdr, VNET_HDR_LEN);
    store<u16>(newFrame - VNET_HDR_LEN + VNET_CSUM_START, <u16>(l4 - newFrame));
  }
  const tot = IP_HLEN + l4len;
  writeIpv4(ip4, vtc >>> 20, tot, tot > DF_ABOVE, hops, proto, lip, rip);
  if (l2) store<u16>(newFrame + ETH_TYPE, ETH_P_IP_RAW);
  return newFrame;
}

/**
 * nat64Out translates the IPv4 reply at `ip4` (TCP or UDP, no fragment) of session `c` into
 * IPv6 VIP6:vport -> CIP6:cport. Returns the new frame start (20 B earlier for a header without
 * options); the caller sets the MACs.
 */
export function nat64Out(frame: usize, ip4: usize, l2: bool, c: usize, x: usize, partial: bool, vnetHdr: usize): usize {
  const ihl = (<u32>load<u8>(ip4 + IP_VIHL) & 15) << 2;
  const tot4 = bswap16(<u32>load<u16>(ip4 + IP_TOT_LEN));
  const l4 = ip4 + ihl;
  const l4len = tot4 - ihl;
  const ip6 = l4 - IP6_HLEN;
  const newFrame = l2 ? ip6 - ETH_HLEN : ip6;
  const proto = <u32>load<u8>(ip4 + IP_PROTO);
  const tos = <u32>load<u8>(ip4 + IP_TOS);
  const ttl = load<u8>(ip4 + IP_TTL);
  const ports = <u32>load<u16>(c + CONN_VPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16);
  const addrDelta = csumNeg32(load<u32>(ip4 + IP_SRC)) + csumNeg32(load<u32>(ip4 + IP_DST)) +
    csumAdd128(x + CONN6_VIP) + csumAdd128(x + CONN6_CIP);
  const portDelta = csumDelta32(load<u32>(l4), ports);
  // a vnet header right before the old frame would be overwritten by the new headers: keep it
  let vnet0: u64 = 0;
  let vnet1: u16 = 0;
  if (vnetHdr != 0) {
    vnet0 = load<u64>(vnetHdr);
    vnet1 = load<u16>(vnetHdr + 8);
  }
  store<u32>(l4, ports);
  const p = csumField(l4, proto);
  const check = <u32>load<u16>(p);
  let full = false;
  if (partial) {
    store<u16>(p, <u16>csumApplyPartial(check, addrDelta));
  } else if (proto == IPPROTO_UDP && check == 0) {
    // IPv4 allows UDP without a checksum, IPv6 does not (RFC 7915 §4.5): compute it below
    full = true;
  } else {
    const n = csumApply(check, addrDelta + portDelta);
    store<u16>(p, <u16>(n == 0 && proto == IPPROTO_UDP ? 0xffff : n));
  }
  store<u32>(ip6 + IP6_VTC, bswap<u32>(0x60000000 | (tos << 20)));
  store<u16>(ip6 + IP6_PLEN, <u16>bswap16(l4len));
  store<u8>(ip6 + IP6_NXT, <u8>proto);
  store<u8>(ip6 + IP6_HLIM, ttl);
  copy16(ip6 + IP6_SRC, x + CONN6_VIP);
  copy16(ip6 + IP6_DST, x + CONN6_CIP);
  if (full) {
    const pseudo = <u64>(csumAdd128(ip6 + IP6_SRC) + csumAdd128(ip6 + IP6_DST)) + <u64>bswap16(l4len) + <u64>(proto << 8);
    const n = csumFinish(csumSum(l4, l4len, pseudo));
    store<u16>(p, <u16>(n == 0 ? 0xffff : n));
  }
  if (vnetHdr != 0) {
    const v = newFrame - VNET_HDR_LEN;
    store<u64>(v, vnet0);
    store<u16>(v + 8, vnet1);
    store<u16>(v + VNET_CSUM_START, <u16>(l4 - newFrame));
  }
  if (l2) store<u16>(newFrame + ETH_TYPE, ETH_P_IPV6_RAW);
  return newFrame;
}

// ── ICMP errors of NAT64 sessions (RFC 7915 §4.2, §5.2): type, code and the quoted packet ──────
/** icmp6to4Type: the ICMPv4 type << 8 | code for an ICMPv6 error, or 0 when it has none */
function icmp6to4Type(type: u32, code: u32): u32 {
  if (type == 1) {
    if (code == 1) return (3 << 8) | 10; // administratively prohibited
    if (code == 4) return (3 << 8) | 3; // port unreachable
    return (3 << 8) | 1; // host unreachable
  }
  if (type == 2) return (3 << 8) | 4; // fragmentation needed
  if (type == 3) return (11 << 8) | code; // time exceeded
  if (type == 4 && code == 1) return (3 << 8) | 2; // unrecognised next header: protocol unreachable
  return 0;
}

/** icmp4to6Type: the ICMPv6 type << 8 | code for an ICMPv4 error, or 0 when it has none */
function icmp4to6Type(type: u32, code: u32): u32 {
  if (type == 3) {
    if (code == 2) return (4 << 8) | 1; // protocol unreachable: parameter problem, next header
    if (code == 3) return (1 << 8) | 4; // port unreachable
    if (code == 4) return 2 << 8; // fragmentation needed: packet too big
    if (code == 9 || code == 10 || code == 13 || code == 15) return (1 << 8) | 1; // prohibited
    return 1 << 8; // no route
  }
  if (type == 11) return (3 << 8) | code;
  return 0;
}

/**
 * nat64IcmpIn translates an ICMPv6 error the client side sent about a reply of session `c` (the
 * quote, VIP6:vport -> CIP6:cport, at `e` with its transport header at `el4`, no extension
 * headers) into the ICMPv4 error the server would have got had it reached the client's side
 * itself: LIP -> RIP, quoting RIP:rport -> LIP:lport. Both headers shrink by 20 bytes and move
 * towards the quote; returns the new frame start, or 0 when the error has no IPv4 counterpart.
 * `lenOut` receives the new IP length.
 */
export function nat64IcmpIn(ip6: usize, icmp: usize, el4: usize, l2: bool, c: usize, lenOut: usize): usize {
  const end = ip6 + IP6_HLEN + bswap16(<u32>load<u16>(ip6 + IP6_PLEN));
  const e = icmp + 8;
  if (el4 != e + IP6_HLEN) return 0;
  const t = icmp6to4Type(<u32>load<u8>(icmp), <u32>load<u8>(icmp + 1));
  if (t == 0) return 0;
  let rest = load<u32>(icmp + 4);
  if ((t >> 8) == 3 && (t & 0xff) == 4) {
    // the IPv4 path is 20 bytes shorter per packet than the IPv6 one (RFC 7915 §5.2)
    const mtu = bswap<u32>(rest);
    rest = bswap<u32>(mtu > IP_HLEN ? (mtu - IP_HLEN) & 0xffff : 0);
  } else {
    rest = 0;
  }
  const lip = load<u32>(c + CONN_LIP);
  const rip = load<u32>(c + CONN_RIP);
  const proto = <u32>load<u8>(e + IP6_NXT);
  const qports = <u32>load<u16>(c + CONN_RPORT) | (<u32>load<u16>(c + CONN_LPORT) << 16);
  const hops = load<u8>(ip6 + IP6_HLIM);
  const qhops = load<u8>(e + IP6_HLIM);
  const qtc = bswap<u32>(load<u32>(e + IP6_VTC)) >>> 20;
  const qlen = IP_HLEN + bswap16(<u32>load<u16>(e + IP6_PLEN));
  // the quoted transport checksum, when quoted, follows the address and port change
  const addrDelta = csumNeg128(e + IP6_SRC) + csumNeg128(e + IP6_DST) + csumAdd32(rip) + csumAdd32(lip);
  const portDelta = csumDelta32(load<u32>(el4), qports);
  store<u32>(el4, qports);
  const qc = csumField(el4, proto);
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && qc + 2 <= end && !(proto == IPPROTO_UDP && load<u16>(qc) == 0)) {
    store<u16>(qc, <u16>csumApply(<u32>load<u16>(qc), addrDelta + portDelta));
  }
  const q4 = el4 - IP_HLEN;
  const icmp4 = q4 - 8;
  const ip4 = icmp4 - IP_HLEN;
  writeIpv4(q4, qtc, qlen, false, qhops, proto, rip, lip);
  const msg = <u32>(end - icmp4);
  store<u8>(icmp4, <u8>(t >> 8));
  store<u8>(icmp4 + 1, <u8>t);
  store<u16>(icmp4 + 2, 0);
  store<u32>(icmp4 + 4, rest);
  store<u16>(icmp4 + 2, <u16>csumFinish(csumSum(icmp4, msg, 0)));
  const tot = IP_HLEN + msg;
  writeIpv4(ip4, 0, tot, false, hops, IPPROTO_ICMP, lip, rip);
  const newFrame = l2 ? ip4 - ETH_HLEN : ip4;
  if (l2) store<u16>(newFrame + ETH_TYPE, ETH_P_IP_RAW);
  store<u32>(lenOut, tot);
  return newFrame;
}

/**
 * nat64IcmpOut translates an ICMPv4 error a server (or a router near it) sent to the LIP about a
 * packet of session `c` (quote LIP:lport -> RIP:rport at `e`, a header without options) into an
 * ICMPv6 error to the client from the VIP, quoting CIP6:cport -> VIP6:vport. Both headers grow by
 * 20 bytes into the headroom; returns the new frame start, or 0 when the error has no IPv6
 * counterpart. `lenOut` receives the new IP length.
 */
export function nat64IcmpOut(ip4: usize, icmp: usize, e: usize, end: usize, l2: bool, c: usize, x: usize, lenOut: usize): usize {
  if ((<u32>load<u8>(e + IP_VIHL)) != IP_VIHL_PLAIN) return 0;
  const t = icmp4to6Type(<u32>load<u8>(icmp), <u32>load<u8>(icmp + 1));
  if (t == 0) return 0;
  const el4 = e + IP_HLEN;
  let rest: u32 = 0;
  if ((t >> 8) == 2) {
    // the IPv6 path takes 20 bytes more per packet; never below the IPv6 minimum (RFC 7915 §4.2)
    let mtu = <u32>bswap16(<u32>load<u16>(icmp + 6)) + IP_HLEN;
    if (mtu < IP6_MIN_MTU) mtu = IP6_MIN_MTU;
    rest = bswap<u32>(mtu);
  } else if ((t >> 8) == 4) {
    rest = bswap<u32>(6); // the next-header field of the quoted IPv6 header
  }
  const proto = <u32>load<u8>(e + IP_PROTO);
  const qports = <u32>load<u16>(c + CONN_CPORT) | (<u32>load<u16>(c + CONN_VPORT) << 16);
  const hops = load<u8>(ip4 + IP_TTL);
  const qttl = load<u8>(e + IP_TTL);
  const qtos = <u32>load<u8>(e + IP_TOS);
  const qplen = bswap16(<u32>load<u16>(e + IP_TOT_LEN)) - IP_HLEN;
  const addrDelta = csumNeg32(load<u32>(e + IP_SRC)) + csumNeg32(load<u32>(e + IP_DST)) +
    csumAdd128(x + CONN6_CIP) + csumAdd128(x + CONN6_VIP);
  const portDelta = csumDelta32(load<u32>(el4), qports);
  store<u32>(el4, qports);
  const qc = csumField(el4, proto);
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && qc + 2 <= end && !(proto == IPPROTO_UDP && load<u16>(qc) == 0)) {
    store<u16>(qc, <u16>csumApply(<u32>load<u16>(qc), addrDelta + portDelta));
  }
  const q6 = el4 - IP6_HLEN;
  const icmp6 = q6 - 8;
  const ip6 = icmp6 - IP6_HLEN;
  store<u32>(q6 + IP6_VTC, bswap<u32>(0x60000000 | (qtos << 20)));
  store<u16>(q6 + IP6_PLEN, <u16>bswap16(qplen));
  store<u8>(q6 + IP6_NXT, <u8>proto);
  store<u8>(q6 + IP6_HLIM, qttl);
  copy16(q6 + IP6_SRC, x + CONN6_CIP);
  copy16(q6 + IP6_DST, x + CONN6_VIP);
  const msg = <u32>(end - icmp6);
  store<u8>(icmp6, <u8>(t >> 8));
  store<u8>(icmp6 + 1, <u8>t);
  store<u16>(icmp6 + 2, 0);
  store<u32>(icmp6 + 4, rest);
  store<u32>(ip6 + IP6_VTC, bswap<u32>(0x60000000));
  store<u16>(ip6 + IP6_PLEN, <u16>bswap16(msg));
  store<u8>(ip6 + IP6_NXT, IPPROTO_ICMPV6);
  store<u8>(ip6 + IP6_HLIM, hops);
  copy16(ip6 + IP6_SRC, x + CONN6_VIP);
  copy16(ip6 + IP6_DST, x + CONN6_CIP);
  const pseudo = <u64>(csumAdd128(ip6 + IP6_SRC) + csumAdd128(ip6 + IP6_DST)) + <u64>bswap16(msg & 0xffff) +
    <u64>(<u32>IPPROTO_ICMPV6 << 8);
  store<u16>(icmp6 + 2, <u16>csumFinish(csumSum(icmp6, msg, pseudo)));
  const newFrame = l2 ? ip6 - ETH_HLEN : ip6;
  if (l2) store<u16>(newFrame + ETH_TYPE, ETH_P_IPV6_RAW);
  store<u32>(lenOut, IP6_HLEN + msg);
  return newFrame;
}
