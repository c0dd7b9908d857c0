// parse6.ts — pass 1 for IPv6 frames, the counterpart of parse.ts: validates the header, walks
// the extension headers (hop-by-hop, routing, destination options, fragment, AH; RFC 8200 §4)
// to the transport header with every length checked against the packet, classifies the frame
// and fills the slot's scratch record. Scratch src/dst hold the ADDRESSES of the 16-byte
// addresses (in the frame, or in the packet an ICMPv6 error quotes). It never writes into the
// frame. A packet whose transport header cannot be found is a counted drop (DROP_NO_TRANSPORT).
import {
  DESC_REASON, DESC_VERDICT, DROP_MALFORMED, DROP_NOT_MINE, DROP_NO_TRANSPORT, DROP_UNSUPPORTED, IPPROTO_ICMPV6,
  IPPROTO_TCP, IPPROTO_UDP, LOCAL_DIP, LOCAL_LIP, LOCAL_VIP, PROTO_V6, SCR_DST, SCR_FRAG6, SCR_HASH, SCR_ICMP,
  SCR_L3, SCR_L4, SCR_PROTO, SCR_SPORT, SCR_SRC, SCR_TCPFLAGS, VERDICT_DROP, VERDICT_HOST,
} from './abi';
import { flowHash6 } from './flow';
import { laterFragment6 } from './frag';
import { bswap16 } from './mem';
import {
  CLASS_DONE, CLASS_FIRST_FRAG, CLASS_ICMP_ERR, CLASS_IN, CLASS_LIP, CLASS_OUT, CLASS_UNKNOWN, CLASS_V6,
  transportValid,
} from './parse';
import { localKind6 } from './service6';
import {
  ETH_MCAST6_RAW, EXT_LEN, EXT_MAX, EXT_NXT, FH_LEN, FH_MORE, FH_OFFSET, FH_OFFSET_MASK, ICMP6_DEST_UNREACH,
  ICMP6_INFO_MIN, ICMP6_PACKET_TOO_BIG, ICMP6_PARAM_PROB, ICMP6_TIME_EXCEEDED, ICMP_HLEN, ICMP_QUOTE_L4, IP6_DST,
  IP6_HLEN, IP6_NXT, IP6_PLEN, IP6_SRC, NH_AH, NH_DSTOPTS, NH_FRAGMENT, NH_HOPOPTS, NH_ROUTING, RH_SEGLEFT,
  TCP_FLAGS,
} from './wire';

// @ts-ignore: decorator
@inline function settle(desc: usize, verdict: u8, reason: u8): u8 {
  store<u8>(desc + DESC_VERDICT, verdict);
  store<u8>(desc + DESC_REASON, reason);
  return CLASS_DONE;
}

// @ts-ignore: decorator
@inline function sameMac(a: usize, b: usize): bool {
  return load<u32>(a) == load<u32>(b) && load<u16>(a + 4) == load<u16>(b + 4);
}

/** the walk's outcome beside the transport offset: a later fragment, or no transport header */
// @ts-ignore: decorator
@inline const WALK_FAILED: u32 = 0x80000000;
// @ts-ignore: decorator
@inline const WALK_UNSUPPORTED: u32 = 0x80000001;
/** a fragment header with a non-zero offset: what follows it is payload, not headers */
// @ts-ignore: decorator
@inline const WALK_LATER_FRAGMENT: u32 = 0x80000002;

/**
 * walkHeaders steps over the extension headers of the IPv6 packet at `ip` (`tot` bytes) and
 * returns the transport header's offset | next header << 16, or WALK_FAILED (the chain runs past
 * the packet, is longer than EXT_MAX, or ends in ESP / no next header) or WALK_UNSUPPORTED (a
 * routing header with segments left: the packet is on its way to another node, RFC 8200 §4.4)
 * or WALK_LATER_FRAGMENT. `fragOut` receives the address of a fragment header (0 if none).
 */
function walkHeaders(ip: usize, tot: u32, fragOut: usize): u32 {
  let nh = <u32>load<u8>(ip + IP6_NXT);
  let off: u32 = IP6_HLEN;
  store<u32>(fragOut, 0);
  for (let n: u32 = 0; n <= EXT_MAX; n++) {
    if (nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_DSTOPTS || nh == NH_AH) {
      if (n == EXT_MAX || off + 8 > tot) return WALK_FAILED;
      const h = ip + off;
      if (nh == NH_ROUTING && load<u8>(h + RH_SEGLEFT) != 0) return WALK_UNSUPPORTED;
      // AH counts its length in 4-byte units minus 2 (RFC 4302 §2.2), the others in 8-byte units minus 1
      const len = nh == NH_AH ? (<u32>load<u8>(h + EXT_LEN) + 2) << 2 : (<u32>load<u8>(h + EXT_LEN) + 1) << 3;
      nh = <u32>load<u8>(h + EXT_NXT);
      off += len;
      continue;
    }
    if (nh == NH_FRAGMENT) {
      if (n == EXT_MAX || off + FH_LEN > tot) return WALK_FAILED;
      store<u32>(fragOut, <u32>(ip + off));
      if (bswap16(<u32>load<u16>(ip + off + FH_OFFSET)) & FH_OFFSET_MASK) return WALK_LATER_FRAGMENT;
      nh = <u32>load<u8>(ip + off + EXT_NXT);
      off += FH_LEN;
      continue;
    }
    break;
  }
  // ESP hides what follows, 59 says nothing follows: no transport header to balance on
  if (off > tot || nh == 50 || nh == 59) return WALK_FAILED;
  return off | (nh << 16);
}

/**
 * parseFrame6 classifies the IPv6 packet at `ip` (`rem` bytes to the frame's end) of the frame
 * at `frame`; `l2`: an Ethernet frame for device MAC `devMac`.
 */
export function parseFrame6(desc: usize, scr: usize, frame: usize, ip: usize, rem: u32, l2: bool, devMac: usize): u8 {
  // unicast to us, or multicast (neighbour discovery reaches us at a solicited-node group)
  if (l2 && !sameMac(frame, devMac) && load<u16>(frame) != ETH_MCAST6_RAW) return settle(desc, VERDICT_DROP, DROP_NOT_MINE);
  if (rem < IP6_HLEN || (load<u8>(ip) >> 4) != 6) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
  const tot = IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN));
  if (tot > rem) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
  const src = ip + IP6_SRC;
  const dst = ip + IP6_DST;
  // RFC 4291 §2.7: a multicast address is never a source
  if (load<u8>(src) == 0xff) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
  const fragAt = scr + SCR_FRAG6;
  const walk = walkHeaders(ip, tot, fragAt);
  const mcast = load<u8>(dst) == 0xff;
  if (walk == WALK_UNSUPPORTED) return settle(desc, VERDICT_DROP, mcast ? DROP_NOT_MINE : DROP_UNSUPPORTED);
  const kind = mcast ? 0 : localKind6(dst);
  if (walk == WALK_LATER_FRAGMENT) {
    if (mcast) return settle(desc, VERDICT_DROP, DROP_NOT_MINE);
    return laterFragment6(desc, scr, ip, <usize>load<u32>(fragAt), kind);
  }
  if (walk == WALK_FAILED) {
    if (mcast) return settle(desc, VERDICT_DROP, DROP_NOT_MINE);
    return kind != 0 && (kind & LOCAL_VIP) == 0 ? settle(desc, VERDICT_HOST, 0) : settle(desc, VERDICT_DROP, DROP_NO_TRANSPORT);
  }
  const off = walk & 0xffff;
  const proto = walk >>> 16;
  const frag = <usize>load<u32>(fragAt);
  let first = false;
  if (frag != 0) {
    // offset 0 and no M: an atomic fragment is a whole packet (RFC 6946)
    first = (bswap16(<u32>load<u16>(frag + FH_OFFSET)) & FH_MORE) != 0;
    if (!first) store<u32>(fragAt, 0);
  }
  if (mcast) {
    // neighbour discovery and MLD are the host's; nothing else multicast is ours
    return proto == IPPROTO_ICMPV6 && l2 ? settle(desc, VERDICT_HOST, 0) : settle(desc, VERDICT_DROP, DROP_NOT_MINE);
  }
  // an unspecified source (DAD) only ever goes to a multicast group
  if (load<u64>(src) == 0 && load<u64>(src + 8) == 0) return settle(desc, VERDICT_DROP, DROP_MALFORMED);

  const l4 = ip + off;
  const l4len = tot - off;
  store<u32>(scr + SCR_L3, <u32>ip);
  store<u32>(scr + SCR_L4, <u32>l4);
  store<u8>(scr + SCR_ICMP, 0);
  store<u8>(scr + SCR_TCPFLAGS, 0);
  let ports: u32 = 0;
  let keyProto = proto;
  let ksrc = src;
  let kdst = dst;
  let cls: u8 = CLASS_OUT;

  if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
    if (!transportValid(l4, l4len, proto, first)) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    ports = load<u32>(l4);
    if (proto == IPPROTO_TCP) store<u8>(scr + SCR_TCPFLAGS, load<u8>(l4 + TCP_FLAGS));
  } else if (proto == IPPROTO_ICMPV6) {
    if (l4len < ICMP_HLEN) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    const type = <u32>load<u8>(l4);
    const isError = type == ICMP6_DEST_UNREACH || type == ICMP6_PACKET_TOO_BIG || type == ICMP6_TIME_EXCEEDED ||
      type == ICMP6_PARAM_PROB;
    if (type >= ICMP6_INFO_MIN || !isError || (kind & LOCAL_DIP) != 0) {
      return kind != 0 ? settle(desc, VERDICT_HOST, 0) : CLASS_UNKNOWN;
    }
    // the quoted packet: the one we (or a real server) sent, as far as it was quoted
    const e = l4 + ICMP_HLEN;
    const elen = l4len - ICMP_HLEN;
    if (elen < IP6_HLEN + ICMP_QUOTE_L4 || (load<u8>(e) >> 4) != 6) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    // the quote may be cut short: walk it within what was quoted, its own length notwithstanding
    const ew = walkHeaders(e, elen, fragAt);
    store<u32>(fragAt, 0);
    // a quoted later fragment has no ports to relate it by
    if (ew == WALK_LATER_FRAGMENT) return kind != 0 ? settle(desc, VERDICT_HOST, 0) : CLASS_UNKNOWN;
    if (ew >= WALK_FAILED || (ew & 0xffff) + ICMP_QUOTE_L4 > elen) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    const eproto = ew >>> 16;
    if (eproto != IPPROTO_TCP && eproto != IPPROTO_UDP) return kind != 0 ? settle(desc, VERDICT_HOST, 0) : CLASS_UNKNOWN;
    // reversed: the quoted packet travelled the other way from the session key we look for
    ksrc = e + IP6_DST;
    kdst = e + IP6_SRC;
    ports = rotr<u32>(load<u32>(e + (ew & 0xffff)), 16);
    // relayIcmp6Error needs the quoted transport header again
    store<u32>(fragAt, <u32>(e + (ew & 0xffff)));
    keyProto = eproto;
    store<u8>(scr + SCR_ICMP, 1);
    cls = CLASS_ICMP_ERR;
    first = false;
  } else {
    if (kind & LOCAL_VIP) return settle(desc, VERDICT_DROP, DROP_UNSUPPORTED);
    return kind != 0 ? settle(desc, VERDICT_HOST, 0) : CLASS_UNKNOWN;
  }

  if (cls != CLASS_ICMP_ERR) {
    if (kind & LOCAL_VIP) cls = CLASS_IN;
    else if (kind & LOCAL_LIP) cls = CLASS_LIP;
    else if (kind & LOCAL_DIP) return settle(desc, VERDICT_HOST, 0);
  }
  store<u8>(scr + SCR_PROTO, <u8>keyProto);
  store<u32>(scr + SCR_SRC, <u32>ksrc);
  store<u32>(scr + SCR_DST, <u32>kdst);
  store<u32>(scr + SCR_SPORT, ports);
  store<u32>(scr + SCR_HASH, flowHash6(ksrc, kdst, ports, keyProto | PROTO_V6));
  return cls | CLASS_V6 | (first ? CLASS_FIRST_FRAG : 0);
}
