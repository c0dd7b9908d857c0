// nat64.ts — an IPv6 VIP in front of IPv4 real servers: Full-NAT 6->4 with the header
// translation of RFC 7915 (SIIT), stateful as DPVS's NAT64 is: the session says which IPv4 LIP
// and port stand for the IPv6 client. In: CIP6:cport -> VIP6:vport becomes LIP:lport -> RIP:rport
// (the IPv6 header of 40 B plus its extension headers gives way to 20 B of IPv4, so the frame
// starts later); out: RIP:rport -> LIP:lport becomes VIP6:vport -> CIP6:cport (20 B more, taken
// from the headroom). The transport checksum is updated incrementally: the pseudo-headers of both
// families sum length and protocol the same way (RFC 1071), only the addresses change.
import {
  CONN6_CIP, CONN6_VIP, CONN_CPORT, CONN_LIP, CONN_LPORT, CONN_RIP, CONN_RPORT, CONN_VPORT, ETH_HLEN, IPPROTO_TCP,
  IPPROTO_UDP, VNET_CSUM_START, VNET_HDR_LEN,
} from '../abi';
import {
  csumAdd128, csumAdd32, csumApply, csumApplyPartial, csumDelta32, csumFinish, csumNeg128, csumNeg32, csumSum,
  ipHeaderChecksum,
} from '../csum';
import { bswap16, copy16 } from '../mem';
import {
  ETH_P_IPV6_RAW, ETH_P_IP_RAW, ETH_TYPE, IP6_DST, IP6_HLEN, IP6_HLIM, IP6_NXT, IP6_PLEN, IP6_SRC, IP6_VTC, IP_CSUM,
  IP_DST, IP_FRAG, IP_HLEN, IP_ID, IP_PROTO, IP_SRC, IP_TOS, IP_TOT_LEN, IP_TTL, IP_VIHL, IP_VIHL_PLAIN, TCP_CSUM,
  UDP_CSUM,
} from '../wire';

/** RFC 7915 §5.1: DF only on translated packets above 1260 bytes (room for a later IPv6 hop) */
// @ts-ignore: decorator
@inline const DF_ABOVE: u32 = 1260;

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
  store<u8>(ip4 + IP_VIHL, IP_VIHL_PLAIN);
  store<u8>(ip4 + IP_TOS, <u8>(vtc >>> 20));
  store<u16>(ip4 + IP_TOT_LEN, <u16>bswap16(tot));
  store<u16>(ip4 + IP_ID, 0);
  store<u16>(ip4 + IP_FRAG, tot > DF_ABOVE ? 0x0040 : 0);
  store<u8>(ip4 + IP_TTL, hops);
  store<u8>(ip4 + IP_PROTO, <u8>proto);
  store<u16>(ip4 + IP_CSUM, 0);
  store<u32>(ip4 + IP_SRC, lip);
  store<u32>(ip4 + IP_DST, rip);
  store<u16>(ip4 + IP_CSUM, <u16>ipHeaderChecksum(ip4, IP_HLEN));
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
