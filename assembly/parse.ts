// parse.ts — pass 1 of a batch: validates one frame (Ethernet, IPv4, TCP/UDP/ICMP; IPv6 frames go
// to parse6.ts, later fragments to frag.ts) with every
// length checked against the frame before it is read, classifies it, and writes what later
// passes need into the slot's scratch record. It never writes into the frame. A frame that is
// settled here (malformed, for the host, not ours) gets its verdict now and class CLASS_DONE.
import {
  DESC_LEN, DESC_OFF, DESC_REASON, DESC_VERDICT, DEV_MAC, DEV_VMAC, DROP_IP_CSUM, DROP_MALFORMED,
  DROP_NOT_MINE, DROP_UNSUPPORTED, ETH_HLEN, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_VRRP,
  LOCAL_DIP, LOCAL_LIP, LOCAL_VIP, SCR_DST, SCR_HASH, SCR_ICMP, SCR_L3, SCR_L4, SCR_PROTO,
  SCR_SRC, SCR_SPORT, SCR_TCPFLAGS, VERDICT_DROP, VERDICT_HOST,
} from './abi';
import { ipHeaderValid } from './csum';
import {
  ETH_P_ARP_RAW, ETH_P_IPV6_RAW, ETH_P_IP_RAW, ETH_TYPE, ICMP_DEST_UNREACH, ICMP_HLEN, ICMP_PARAMETER_PROB, ICMP_QUOTE_L4, ICMP_SOURCE_QUENCH,
  ICMP_TIME_EXCEEDED, IP_DST, IP_FRAG, IP_HLEN, IP_MF_OFFSET, IP_OFFSET_MASK, IP_PROTO, IP_SRC, IP_TOT_LEN, TCP_DOFF,
  TCP_FLAGS, TCP_HLEN, UDP_HLEN, UDP_LEN, VRRP_GROUP_ADDR, VRRP_GROUP_MAC_HI, VRRP_GROUP_MAC_LO,
} from './wire';
import { flowHash } from './flow';
import { bswap16 } from './mem';
import { laterFragment4 } from './frag';
import { parseFrame6 } from './parse6';
import { NO_SERVICE, localKind, lookupService } from './service';

/** verdict already written; nothing left to do in pass 3 */
// @ts-ignore: decorator
@inline export const CLASS_DONE: u8 = 0;
/** TCP/UDP to a VIP with a service: in-direction lookup, schedule on a miss */
// @ts-ignore: decorator
@inline export const CLASS_IN: u8 = 1;
/** TCP/UDP to an address the director does not own: maybe a NAT reply (RS -> client) */
// @ts-ignore: decorator
@inline export const CLASS_OUT: u8 = 2;
/** TCP/UDP to a LIP: a Full-NAT reply (RS -> LIP) */
// @ts-ignore: decorator
@inline export const CLASS_LIP: u8 = 3;
/** an ICMP error whose embedded header may belong to a session (key = embedded, reversed) */
// @ts-ignore: decorator
@inline export const CLASS_ICMP_ERR: u8 = 4;


// @ts-ignore: decorator
@inline function settle(desc: usize, verdict: u8, reason: u8): u8 {
  store<u8>(desc + DESC_VERDICT, verdict);
  store<u8>(desc + DESC_REASON, reason);
  return CLASS_DONE;
}

// @ts-ignore: decorator
@inline function isBroadcast(mac: usize): bool {
  return load<u32>(mac) == 0xffffffff && load<u16>(mac + 4) == 0xffff;
}

// @ts-ignore: decorator
@inline function sameMac(a: usize, b: usize): bool {
  return load<u32>(a) == load<u32>(b) && load<u16>(a + 4) == load<u16>(b + 4);
}

/** the device's own MAC, or its VRRP virtual MAC when the host set one (zero = none) */
// @ts-ignore: decorator
@inline export function forDevice(mac: usize, devMac: usize): bool {
  if (sameMac(mac, devMac)) return true;
  const vmac = devMac - DEV_MAC + DEV_VMAC;
  return (load<u32>(vmac) | <u32>load<u16>(vmac + 4)) != 0 && sameMac(mac, vmac);
}

/** 01:00:5e:00:00:12, the Ethernet group of 224.0.0.18 (RFC 1112 §6.4) */
// @ts-ignore: decorator
@inline function isVrrpGroupMac(mac: usize): bool {
  return <u32>load<u16>(mac) == VRRP_GROUP_MAC_HI && load<u32>(mac + 2) == VRRP_GROUP_MAC_LO;
}

/**
 * transportValid: the TCP or UDP header at `l4` fits the `l4len` bytes (and its own lengths
 * are sane); a first fragment carries only the start of the datagram its UDP length describes.
 */
// @ts-ignore: decorator
@inline export function transportValid(l4: usize, l4len: u32, proto: u32, first: bool): bool {
  if (proto == IPPROTO_TCP) {
    if (l4len < TCP_HLEN) return false;
    const doff = (<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2;
    return doff >= TCP_HLEN && doff <= l4len;
  }
  if (l4len < UDP_HLEN) return false;
  const ulen = bswap16(<u32>load<u16>(l4 + UDP_LEN));
  return ulen >= UDP_HLEN && (first ? ulen > l4len : ulen <= l4len);
}

/**
 * parseFrame fills the scratch record `scr` of the frame described by `desc` and returns its
 * class. `devMac` is the input device's MAC (L2 only).
 */
export function parseFrame(desc: usize, scr: usize, l2: bool, devMac: usize): u8 {
  const off = <usize>load<u32>(desc + DESC_OFF);
  const len = load<u32>(desc + DESC_LEN);
  store<u8>(desc + DESC_REASON, 0);
  let ip = off;
  let rem = len;
  // sent to VRRP's Ethernet group: only VRRP advertisements to 224.0.0.18 are wanted from it
  let vrrpGroup = false;
  if (l2) {
    if (len < ETH_HLEN) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    const type = <u32>load<u16>(off + ETH_TYPE);
    if (type == ETH_P_ARP_RAW) {
      if (isBroadcast(off) || forDevice(off, devMac)) return settle(desc, VERDICT_HOST, 0);
      return settle(desc, VERDICT_DROP, DROP_NOT_MINE);
    }
    vrrpGroup = type == ETH_P_IP_RAW && isVrrpGroupMac(off);
    if (type != ETH_P_IP_RAW || !(vrrpGroup || forDevice(off, devMac))) {
      // IPv6 goes to its own parser (outside the IPv4 path: no cost to it)
      if (type == ETH_P_IPV6_RAW) return parseFrame6(desc, scr, off, off + ETH_HLEN, len - ETH_HLEN, true, devMac);
      // flooded frames for other hosts on the segment, VLANs: not the director's
      return settle(desc, VERDICT_DROP, DROP_NOT_MINE);
    }
    ip = off + ETH_HLEN;
    rem = len - ETH_HLEN;
  }
  if (rem < IP_HLEN) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
  const vihl = <u32>load<u8>(ip);
  if ((vihl >> 4) != 4) {
    return (vihl >> 4) == 6 && !l2 ? parseFrame6(desc, scr, off, ip, rem, false, devMac) : settle(desc, VERDICT_DROP, DROP_MALFORMED);
  }
  const ihl = (vihl & 15) << 2;
  if (ihl < IP_HLEN || ihl > rem) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
  const tot = bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  if (tot < ihl || tot > rem) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
  if (!ipHeaderValid(ip, ihl)) return settle(desc, VERDICT_DROP, DROP_IP_CSUM);
  // MF or a fragment offset: a later fragment has no ports and follows its first (frag.ts); a
  // first fragment is parsed as a packet and its decision remembered
  let first = false;
  const fragField = bswap16(<u32>load<u16>(ip + IP_FRAG));
  if (fragField & IP_MF_OFFSET) {
    if (fragField & IP_OFFSET_MASK) return laterFragment4(desc, scr, ip);
    first = true;
  }

  const proto = <u32>load<u8>(ip + IP_PROTO);
  let src = load<u32>(ip + IP_SRC);
  let dst = load<u32>(ip + IP_DST);
  // VRRP (RFC 5798 §5.1.1.2): the host's election checks TTL, checksum and the rest; never a
  // session, never forwarded or reflected by the unknown-packet policy
  if (vrrpGroup) {
    return proto == IPPROTO_VRRP && dst == VRRP_GROUP_ADDR ? settle(desc, VERDICT_HOST, 0) : settle(desc, VERDICT_DROP, DROP_NOT_MINE);
  }
  const l4 = ip + ihl;
  const l4len = tot - ihl;
  const kind = localKind(dst);
  store<u32>(scr + SCR_L3, <u32>ip);
  store<u32>(scr + SCR_L4, <u32>l4);
  store<u8>(scr + SCR_ICMP, 0);
  store<u8>(scr + SCR_TCPFLAGS, 0);
  let ports: u32 = 0;
  let keyProto = proto;
  let cls: u8 = CLASS_OUT;

  if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
    if (!transportValid(l4, l4len, proto, first)) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    ports = load<u32>(l4);
    if (proto == IPPROTO_TCP) store<u8>(scr + SCR_TCPFLAGS, load<u8>(l4 + TCP_FLAGS));
  } else if (proto == IPPROTO_ICMP) {
    if (l4len < ICMP_HLEN) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    const type = <u32>load<u8>(l4);
    // destination unreachable, source quench, time exceeded, parameter problem (RFC 792)
    const isError = type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_TIME_EXCEEDED ||
      type == ICMP_PARAMETER_PROB;
    if (!isError || (kind & LOCAL_DIP) != 0) {
      return kind != 0 ? settle(desc, VERDICT_HOST, 0) : unknownClass();
    }
    // the embedded header: the datagram we (or a real server) sent, as far as it was quoted
    const e = l4 + ICMP_HLEN;
    const elen = l4len - ICMP_HLEN;
    if (elen < IP_HLEN + ICMP_QUOTE_L4) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    const evihl = <u32>load<u8>(e);
    const eihl = (evihl & 15) << 2;
    if ((evihl >> 4) != 4 || eihl < IP_HLEN || eihl + ICMP_QUOTE_L4 > elen) return settle(desc, VERDICT_DROP, DROP_MALFORMED);
    const eproto = <u32>load<u8>(e + IP_PROTO);
    if ((eproto != IPPROTO_TCP && eproto != IPPROTO_UDP) || (bswap16(<u32>load<u16>(e + IP_FRAG)) & IP_OFFSET_MASK) != 0) {
      return kind != 0 ? settle(desc, VERDICT_HOST, 0) : unknownClass();
    }
    // reversed: the quoted datagram travelled the other way from the session key we look for
    src = load<u32>(e + IP_DST);
    dst = load<u32>(e + IP_SRC);
    ports = rotr<u32>(load<u32>(e + eihl), 16);
    keyProto = eproto;
    store<u8>(scr + SCR_ICMP, 1);
    cls = CLASS_ICMP_ERR;
  } else {
    if (kind & LOCAL_VIP) return settle(desc, VERDICT_DROP, DROP_UNSUPPORTED);
    return kind != 0 ? settle(desc, VERDICT_HOST, 0) : unknownClass();
  }

  if (cls != CLASS_ICMP_ERR) {
    if (kind & LOCAL_VIP) {
      // the service is looked up only when the session lookup misses (as IPVS's ip_vs_in)
      cls = CLASS_IN;
    } else if (kind & LOCAL_LIP) {
      cls = CLASS_LIP;
    } else if (kind & LOCAL_DIP) {
      return settle(desc, VERDICT_HOST, 0);
    }
  }
  store<u8>(scr + SCR_PROTO, <u8>keyProto);
  store<u32>(scr + SCR_SRC, src);
  store<u32>(scr + SCR_DST, dst);
  store<u32>(scr + SCR_SPORT, ports);
  store<u32>(scr + SCR_HASH, flowHash(src, dst, ports, keyProto));
  return first && cls != CLASS_ICMP_ERR ? cls | CLASS_FIRST_FRAG : cls;
}

/**
 * A packet that cannot belong to a session (no ports) and is not for the director: pass 3
 * applies the unknown-packet policy to it without a lookup.
 */
// @ts-ignore: decorator
@inline export const CLASS_UNKNOWN: u8 = 5;
/** a fragment after the first (no ports): follows its first fragment's decision (frag.ts) */
// @ts-ignore: decorator
@inline export const CLASS_FRAG: u8 = 6;
/**
 * Classes from here on are handled outside the IPv4 path (batch6.ts: handleExt), which costs
 * the IPv4 path one compare. Bit CLASS_V6: an IPv6 frame (parse6.ts), scratch addresses are
 * pointers; the low bits are the IPv4 class it mirrors.
 */
// @ts-ignore: decorator
@inline export const CLASS_V6: u8 = 8;
/** bit: the first fragment of a datagram (ports present): its decision is remembered */
// @ts-ignore: decorator
@inline export const CLASS_FIRST_FRAG: u8 = 16;
/** the low bits of a class: which IPv4 class it mirrors */
// @ts-ignore: decorator
@inline export const CLASS_BASE_MASK: u8 = 7;

// @ts-ignore: decorator
@inline function unknownClass(): u8 {
  return CLASS_UNKNOWN;
}
