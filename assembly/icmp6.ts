// icmp6.ts — the ICMPv6 the data path speaks itself (RFC 4443), the counterpart of icmp.ts:
// relaying errors that concern a session with the quoted packet rewritten like the packet it
// quotes (Packet Too Big above all: PMTU discovery breaks without it), and answering Packet Too
// Big when a packet does not fit the IPv6-in-IPv6 tunnel. Echo requests to owned addresses are
// HOST frames; neighbour discovery is the host's too (src/net/ndp.ts).
import {
  CONN6_CIP, CONN6_LIP, CONN6_RIP, CONN6_VIP, CONN_CPORT, CONN_LPORT, CONN_PROTO, CONN_RPORT, CONN_VPORT, ETH_HLEN,
  FWD_FNAT, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, PROTO_V6, VNET_HDR_LEN,
} from './abi';
import { csumAdd128, csumApply, csumDelta128, csumDelta32, csumFinish, csumSum } from './csum';
import { bswap16, copy16, copy6 } from './mem';
import {
  ETH_DST, ETH_P_IPV6_RAW, ETH_SRC, ETH_TYPE, ICMP6_MTU, ICMP6_PACKET_TOO_BIG, ICMP_CODE, ICMP_CSUM, ICMP_HLEN,
  ICMP_TYPE, IP6_DST, IP6_HLEN, IP6_HLIM, IP6_MIN_MTU, IP6_NXT, IP6_PLEN, IP6_SRC, IP6_VTC, TCP_CSUM, UDP_CSUM, UDP_HLEN,
} from './wire';

/** an error quotes as much of the offending packet as fits the minimum MTU (RFC 4443 §2.4 (c)) */
// @ts-ignore: decorator
@inline const QUOTE_MAX6: u32 = IP6_MIN_MTU - IP6_HLEN - ICMP_HLEN;
/** hop limit of the errors the director generates (Linux's default) */
// @ts-ignore: decorator
@inline const ICMP6_HOPS: u8 = 64;

/**
 * icmp6Checksum: the ICMPv6 checksum of the message at `icmp` (`len` bytes, its checksum field
 * 0) inside the IPv6 packet at `ip`, pseudo-header included (RFC 4443 §2.3, RFC 8200 §8.1).
 */
export function icmp6Checksum(ip: usize, icmp: usize, len: u32): u32 {
  const pseudo = <u64>(csumAdd128(ip + IP6_SRC) + csumAdd128(ip + IP6_DST)) + <u64>bswap16(len & 0xffff) +
    <u64>bswap16(len >>> 16) + <u64>(<u32>IPPROTO_ICMPV6 << 8);
  return csumFinish(csumSum(icmp, len, pseudo));
}

/** packetTooBigLength: the IPv6 length of the error packetTooBig6 builds for a packet of `tot` bytes */
// @ts-ignore: decorator
@inline export function packetTooBigLength(tot: u32): u32 {
  return IP6_HLEN + ICMP_HLEN + (tot < QUOTE_MAX6 ? tot : QUOTE_MAX6);
}

/**
 * packetTooBig6 turns the frame (IPv6 header at `ip`) in place into an ICMPv6 Packet Too Big
 * (type 2, RFC 4443 §3.2) back to its sender, advertising `mtu`, from the address it tried to
 * reach. The new headers go into the headroom; the quote stays where it is. Returns the new frame
 * start; the caller sends it out of the device it came from.
 */
export function packetTooBig6(frame: usize, ip: usize, l2: bool, vnet: bool, mtu: u32): usize {
  const tot = IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN));
  const quote = tot < QUOTE_MAX6 ? tot : QUOTE_MAX6;
  const icmp = ip - ICMP_HLEN;
  const nip = icmp - IP6_HLEN;
  const newFrame = l2 ? nip - ETH_HLEN : nip;
  if (l2) {
    // the new Ethernet header lies before the old one: write it before the IPv6 header covers it
    copy6(newFrame + ETH_DST, frame + ETH_SRC);
    copy6(newFrame + ETH_SRC, frame + ETH_DST);
    store<u16>(newFrame + ETH_TYPE, ETH_P_IPV6_RAW);
  }
  store<u32>(nip + IP6_VTC, 0x60);
  store<u16>(nip + IP6_PLEN, <u16>bswap16(ICMP_HLEN + quote));
  store<u8>(nip + IP6_NXT, IPPROTO_ICMPV6);
  store<u8>(nip + IP6_HLIM, ICMP6_HOPS);
  // the quote still holds the offending packet's addresses: answer from its destination
  copy16(nip + IP6_SRC, ip + IP6_DST);
  copy16(nip + IP6_DST, ip + IP6_SRC);
  store<u8>(icmp + ICMP_TYPE, ICMP6_PACKET_TOO_BIG);
  store<u8>(icmp + ICMP_CODE, 0);
  store<u16>(icmp + ICMP_CSUM, 0);
  store<u32>(icmp + ICMP6_MTU, bswap<u32>(mtu));
  store<u16>(icmp + ICMP_CSUM, <u16>icmp6Checksum(nip, icmp, ICMP_HLEN + quote));
  if (vnet) memory.fill(newFrame - VNET_HDR_LEN, 0, VNET_HDR_LEN);
  return newFrame;
}

/**
 * rewriteQuoted6 rewrites the packet an ICMPv6 error quotes at `e` (transport header at `el4`,
 * the quote ends at `end`): addresses, ports, and its L4 checksum when the quote reaches it.
 */
function rewriteQuoted6(e: usize, el4: usize, end: usize, proto: u32, src: usize, dst: usize, ports: u32): void {
  const addrDelta = csumDelta128(e + IP6_SRC, src) + csumDelta128(e + IP6_DST, dst);
  const portDelta = csumDelta32(load<u32>(el4), ports);
  copy16(e + IP6_SRC, src);
  copy16(e + IP6_DST, dst);
  store<u32>(el4, ports);
  if (proto == IPPROTO_TCP && el4 + TCP_CSUM + 2 <= end) {
    store<u16>(el4 + TCP_CSUM, <u16>csumApply(<u32>load<u16>(el4 + TCP_CSUM), addrDelta + portDelta));
  } else if (proto == IPPROTO_UDP && el4 + UDP_HLEN <= end && load<u16>(el4 + UDP_CSUM) != 0) {
    const n = csumApply(<u32>load<u16>(el4 + UDP_CSUM), addrDelta + portDelta);
    store<u16>(el4 + UDP_CSUM, <u16>(n == 0 ? 0xffff : n));
  }
}

/**
 * relayIcmp6Error rewrites an ICMPv6 error (IPv6 header at `ip`, ICMPv6 at `icmp`, quoted
 * transport header at `el4`) about session `c` (IPv6 part at `x`), NAT66 or Full-NAT 6->6, found
 * through its in key (`out` false: the client side complains about a reply we sent) or its out
 * key (`out` true: the server side complains about a packet we forwarded). As relayIcmpError.
 */
export function relayIcmp6Error(ip: usize, icmp: usize, el4: usize, c: usize, x: usize, out: bool, fwd: u32): void {
  // the quote belongs to the session: its protocol is the session's (extension headers may sit
  // between the quoted header and its transport header, so its next-header byte may not say)
  const proto = <u32>load<u8>(c + CONN_PROTO) & ~(<u32>PROTO_V6);
  const end = ip + IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN));
  const e = icmp + ICMP_HLEN;
  const fnat = fwd == FWD_FNAT;
  const vport = <u32>load<u16>(c + CONN_VPORT);
  const cport = <u32>load<u16>(c + CONN_CPORT);
  const rport = <u32>load<u16>(c + CONN_RPORT);
  const lport = <u32>load<u16>(c + CONN_LPORT);
  if (!out) {
    // the quote is VIP:vport -> CIP:cport; towards the server it must read RIP:rport -> (C|L)IP
    rewriteQuoted6(e, el4, end, proto, x + CONN6_RIP, fnat ? x + CONN6_LIP : x + CONN6_CIP, rport | ((fnat ? lport : cport) << 16));
    copy16(ip + IP6_DST, x + CONN6_RIP);
    if (fnat) copy16(ip + IP6_SRC, x + CONN6_LIP);
  } else {
    // the quote is (C|L)IP -> RIP:rport; towards the client it must read CIP:cport -> VIP:vport
    rewriteQuoted6(e, el4, end, proto, x + CONN6_CIP, x + CONN6_VIP, cport | (vport << 16));
    copy16(ip + IP6_SRC, x + CONN6_VIP);
    copy16(ip + IP6_DST, x + CONN6_CIP);
  }
  // the checksum covers the pseudo-header and the whole quote, both changed: recompute
  store<u16>(icmp + ICMP_CSUM, 0);
  store<u16>(icmp + ICMP_CSUM, <u16>icmp6Checksum(ip, icmp, <u32>(end - icmp)));
}
