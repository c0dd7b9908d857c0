// icmp.ts — ICMP the data path must speak itself: relaying errors that concern a session (the
// quoted datagram is rewritten like the packet it quotes, so the far end can match it), and
// answering "fragmentation needed" when a DF packet does not fit the tunnel (IPVS pmtu_disc).
// Echo requests to owned addresses are not here: they are HOST frames the control plane answers.
import {
  CONN_CIP, CONN_CPORT, CONN_LIP, CONN_LPORT, CONN_RIP, CONN_RPORT, CONN_VIP, CONN_VPORT, ETH_HLEN,
  FWD_FNAT, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, VNET_HDR_LEN,
} from './abi';
import { csumApply, csumDelta32, csumFinish, csumSum, ipHeaderChecksum } from './csum';
import { bswap16, copy6 } from './mem';
import {
  ETH_DST, ETH_P_IP_RAW, ETH_SRC, ETH_TYPE, ICMP_CODE, ICMP_CSUM, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, ICMP_HLEN,
  ICMP_NEXT_MTU, ICMP_TYPE, ICMP_UNUSED, IP_CSUM, IP_DST, IP_HLEN, IP_ID, IP_PROTO, IP_SRC, IP_TOS, IP_TOT_LEN, IP_TTL,
  IP_VIHL, IP_VIHL_PLAIN, TCP_CSUM, UDP_CSUM, UDP_HLEN,
} from './wire';

/** how much of the offending datagram a generated error quotes (RFC 1812 §4.3.2.3: ≤ 576 total) */
// @ts-ignore: decorator
@inline const QUOTE_MAX: u32 = 576 - IP_HLEN - ICMP_HLEN;
/** TTL of the errors the director generates (Linux's default ip_default_ttl) */
// @ts-ignore: decorator
@inline const ICMP_TTL: u8 = 64;

/** fragNeededLength: the IP length of the error fragNeeded builds for a datagram of `tot` bytes */
// @ts-ignore: decorator
@inline export function fragNeededLength(tot: u32): u32 {
  return IP_HLEN + ICMP_HLEN + (tot < QUOTE_MAX ? tot : QUOTE_MAX);
}

/**
 * fragNeeded turns the frame (IP header at `ip`) in place into an ICMP "fragmentation needed"
 * (type 3 code 4, RFC 1191) back to its sender, advertising `mtu`. The new headers go into the
 * headroom; the quoted datagram stays where it is. Returns the new frame start; the caller sends
 * it out of the device it came from. `vnet`: write a fresh virtio header before it.
 */
export function fragNeeded(frame: usize, ip: usize, l2: bool, vnet: bool, mtu: u32): usize {
  const tot = bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  const quote = tot < QUOTE_MAX ? tot : QUOTE_MAX;
  const src = load<u32>(ip + IP_SRC);
  const dst = load<u32>(ip + IP_DST);
  const icmp = ip - ICMP_HLEN;
  const nip = icmp - IP_HLEN;
  const newFrame = l2 ? nip - ETH_HLEN : nip;
  if (l2) {
    // the new Ethernet header lies before the old one: write it before the IP header covers it
    copy6(newFrame + ETH_DST, frame + ETH_SRC);
    copy6(newFrame + ETH_SRC, frame + ETH_DST);
    store<u16>(newFrame + ETH_TYPE, ETH_P_IP_RAW);
  }
  store<u8>(icmp + ICMP_TYPE, ICMP_DEST_UNREACH);
  store<u8>(icmp + ICMP_CODE, ICMP_FRAG_NEEDED);
  store<u16>(icmp + ICMP_CSUM, 0);
  store<u16>(icmp + ICMP_UNUSED, 0);
  store<u16>(icmp + ICMP_NEXT_MTU, <u16>bswap16(mtu));
  store<u16>(icmp + ICMP_CSUM, <u16>csumFinish(csumSum(icmp, ICMP_HLEN + quote, 0)));
  store<u8>(nip + IP_VIHL, IP_VIHL_PLAIN);
  store<u8>(nip + IP_TOS, 0);
  store<u16>(nip + IP_TOT_LEN, <u16>bswap16(IP_HLEN + ICMP_HLEN + quote));
  // ID 0 and no DF/offset: one 32-bit store covers IP_ID and IP_FRAG
  store<u32>(nip + IP_ID, 0);
  store<u8>(nip + IP_TTL, ICMP_TTL);
  store<u8>(nip + IP_PROTO, IPPROTO_ICMP);
  store<u16>(nip + IP_CSUM, 0);
  // from the address the client tried to reach: the VIP is what it knows
  store<u32>(nip + IP_SRC, dst);
  store<u32>(nip + IP_DST, src);
  store<u16>(nip + IP_CSUM, <u16>ipHeaderChecksum(nip, IP_HLEN));
  if (vnet) memory.fill(newFrame - VNET_HDR_LEN, 0, VNET_HDR_LEN);
  return newFrame;
}

/**
 * rewriteQuoted rewrites the datagram an ICMP error quotes at `e` (its IP header is complete,
 * 8 bytes of L4 at least, `end` is where the quote stops): addresses, ports, its IP checksum,
 * and its L4 checksum when the quote reaches it.
 */
function rewriteQuoted(e: usize, end: usize, src: u32, dst: u32, ports: u32): void {
  const eihl = (<u32>load<u8>(e) & 15) << 2;
  const l4 = e + eihl;
  const proto = <u32>load<u8>(e + IP_PROTO);
  const addrDelta = csumDelta32(load<u32>(e + IP_SRC), src) + csumDelta32(load<u32>(e + IP_DST), dst);
  const portDelta = csumDelta32(load<u32>(l4), ports);
  store<u32>(e + IP_SRC, src);
  store<u32>(e + IP_DST, dst);
  store<u16>(e + IP_CSUM, <u16>csumApply(<u32>load<u16>(e + IP_CSUM), addrDelta));
  store<u32>(l4, ports);
  if (proto == IPPROTO_TCP && l4 + TCP_CSUM + 2 <= end) {
    store<u16>(l4 + TCP_CSUM, <u16>csumApply(<u32>load<u16>(l4 + TCP_CSUM), addrDelta + portDelta));
  } else if (proto == IPPROTO_UDP && l4 + UDP_HLEN <= end && load<u16>(l4 + UDP_CSUM) != 0) {
    const n = csumApply(<u32>load<u16>(l4 + UDP_CSUM), addrDelta + portDelta);
    store<u16>(l4 + UDP_CSUM, <u16>(n == 0 ? 0xffff : n));
  }
}

/**
 * relayIcmpError rewrites an ICMP error about session `c` (NAT or Full-NAT) found through its
 * in key (`out` false: the client side complains about a reply we sent, VIP -> CIP) or its out key
 * (`out` true: the RS side complains about a packet we forwarded to the RS). The outer header
 * moves like a packet of that direction; the quote moves like the packet it quotes. DR and TUN
 * errors need no rewrite of the IP layer and are not passed here.
 */
export function relayIcmpError(ip: usize, c: usize, out: bool, fwd: u32): void {
  const tot = bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  const ihl = (<u32>load<u8>(ip) & 15) << 2;
  const icmp = ip + ihl;
  const end = ip + tot;
  const e = icmp + ICMP_HLEN;
  const fnat = fwd == FWD_FNAT;
  const vip = load<u32>(c + CONN_VIP);
  const cip = load<u32>(c + CONN_CIP);
  const rip = load<u32>(c + CONN_RIP);
  const lip = load<u32>(c + CONN_LIP);
  const vport = <u32>load<u16>(c + CONN_VPORT);
  const cport = <u32>load<u16>(c + CONN_CPORT);
  const rport = <u32>load<u16>(c + CONN_RPORT);
  const lport = <u32>load<u16>(c + CONN_LPORT);
  let osrc = load<u32>(ip + IP_SRC);
  let odst = load<u32>(ip + IP_DST);
  if (!out) {
    // the quote is VIP:vport -> CIP:cport; towards the RS it must read RIP:rport -> (C|L)IP
    const qdst = fnat ? lip : cip;
    const qdport = fnat ? lport : cport;
    rewriteQuoted(e, end, rip, qdst, rport | (qdport << 16));
    odst = rip;
    if (fnat) osrc = lip;
  } else {
    // the quote is (C|L)IP -> RIP:rport; towards the client it must read CIP:cport -> VIP:vport
    rewriteQuoted(e, end, cip, vip, cport | (vport << 16));
    osrc = vip;
    odst = cip;
  }
  const delta = csumDelta32(load<u32>(ip + IP_SRC), osrc) + csumDelta32(load<u32>(ip + IP_DST), odst);
  store<u32>(ip + IP_SRC, osrc);
  store<u32>(ip + IP_DST, odst);
  store<u16>(ip + IP_CSUM, <u16>csumApply(<u32>load<u16>(ip + IP_CSUM), delta));
  // the ICMP checksum covers the whole quote, which changed in several places: recompute
  store<u16>(icmp + ICMP_CSUM, 0);
  store<u16>(icmp + ICMP_CSUM, <u16>csumFinish(csumSum(icmp, <u32>(end - icmp), 0)));
}
