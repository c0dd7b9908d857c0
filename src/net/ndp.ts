// ndp.ts — IPv6 neighbour discovery (RFC 4861) for a director that is a host on its segments,
// the counterpart of arp.ts: it answers Neighbour Solicitations for the addresses it owns, asks
// for real servers' and gateways' link addresses, and sends an unsolicited Neighbour
// Advertisement with the override flag when it takes an address over (§7.2.6, the counterpart
// of gratuitous ARP). Also ICMPv6 echo replies for owned addresses (RFC 4443 §4.2).
import { formatIpv6, formatMac, ipBytes, multicastMac, parseMac, solicitedNode } from '../model/address.js';

export const ETH_P_IPV6 = 0x86dd;
const ICMPV6 = 58;
export const ND_NS = 135;
export const ND_NA = 136;
const OPT_SLLA = 1;
const OPT_TLLA = 2;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;
const ALL_NODES = 'ff02::1';
/** RFC 4861 §7.1: neighbour discovery messages are only valid with hop limit 255 */
const ND_HOPS = 255;

export interface NdpPacket {
  type: typeof ND_NS | typeof ND_NA;
  /** the IPv6 source (:: for duplicate address detection) */
  srcIp: string;
  srcMac: string;
  target: string;
  /** the link-layer address option (source for NS, target for NA), or null */
  linkAddress: string | null;
  solicited: boolean;
  override: boolean;
}

/** icmp6Sum: the ICMPv6 checksum of `msg` (checksum field 0) between src and dst (RFC 4443 §2.3) */
export function icmp6Sum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  let sum = 0;
  const add = (b: Uint8Array) => {
    for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
    if (b.length & 1) sum += b[b.length - 1] << 8;
  };
  add(src);
  add(dst);
  sum += (msg.length >>> 16) + (msg.length & 0xffff) + ICMPV6;
  add(msg);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** ipv6Frame builds an Ethernet frame carrying an ICMPv6 message, its checksum computed */
export function icmp6Frame(ethDst: string, ethSrc: string, src: string, dst: string, msg: Uint8Array,
  hops = ND_HOPS): Uint8Array {
  const f = new Uint8Array(14 + 40 + msg.length);
  const dv = new DataView(f.buffer);
  f.set(parseMac(ethDst), 0);
  f.set(parseMac(ethSrc), 6);
  dv.setUint16(12, ETH_P_IPV6);
  dv.setUint32(14, 0x60000000);
  dv.setUint16(18, msg.length);
  f[20] = ICMPV6;
  f[21] = hops;
  const s = ipBytes(src);
  const d = ipBytes(dst);
  f.set(s, 22);
  f.set(d, 38);
  const m = msg.slice();
  m[2] = 0;
  m[3] = 0;
  new DataView(m.buffer).setUint16(2, icmp6Sum(s, d, m));
  f.set(m, 54);
  return f;
}

/** parseNdp decodes a Neighbour Solicitation or Advertisement frame; null for anything else */
export function parseNdp(frame: Uint8Array): NdpPacket | null {
  if (frame.length < 14 + 40 + 24 || ((frame[12] << 8) | frame[13]) !== ETH_P_IPV6) return null;
  const ip = frame.subarray(14);
  if (ip[0] >> 4 !== 6 || ip[6] !== ICMPV6 || ip[7] !== ND_HOPS) return null;
  const plen = (ip[4] << 8) | ip[5];
  if (40 + plen > ip.length || plen < 24) return null;
  const msg = ip.subarray(40, 40 + plen);
  if ((msg[0] !== ND_NS && msg[0] !== ND_NA) || msg[1] !== 0) return null;
  const sum = icmp6Sum(ip.subarray(8, 24), ip.subarray(24, 40), msg.slice().fill(0, 2, 4));
  if (sum !== ((msg[2] << 8) | msg[3])) return null;
  let linkAddress: string | null = null;
  for (let at = 24; at + 8 <= msg.length;) {
    const len = msg[at + 1] * 8;
    if (len === 0) return null;
    const lla = msg[at] === OPT_SLLA || msg[at] === OPT_TLLA;
    if (lla && len >= 8) linkAddress = formatMac(msg.subarray(at + 2, at + 8));
    at += len;
  }
  return {
    type: msg[0] as NdpPacket['type'], srcIp: formatIpv6(ip, 8), srcMac: formatMac(frame.subarray(6, 12)),
    target: formatIpv6(msg, 8), linkAddress,
    solicited: (msg[4] & NA_SOLICITED) !== 0, override: (msg[4] & NA_OVERRIDE) !== 0,
  };
}

function ndMessage(type: number, flags: number, target: string, option: number, mac: string): Uint8Array {
  const m = new Uint8Array(32);
  m[0] = type;
  m[4] = flags;
  m.set(ipBytes(target), 8);
  m[24] = option;
  m[25] = 1;
  m.set(parseMac(mac), 26);
  return m;
}

/** neighbourSolicitation asks who has `target`, at its solicited-node group (RFC 4861 §7.2.2) */
export function neighbourSolicitation(ourMac: string, ourIp: string, target: string): Uint8Array {
  const group = solicitedNode(target);
  return icmp6Frame(multicastMac(group), ourMac, ourIp, group, ndMessage(ND_NS, 0, target, OPT_SLLA, ourMac));
}

/**
 * neighbourAdvertisement answers `ns` for an address we own (§7.2.4): to its sender, or to all
 * nodes when it came from :: (duplicate address detection), solicited and overriding.
 */
export function neighbourAdvertisement(ourMac: string, ns: NdpPacket): Uint8Array {
  const dad = ns.srcIp === '::';
  const dst = dad ? ALL_NODES : ns.srcIp;
  const ethDst = dad ? multicastMac(ALL_NODES) : ns.linkAddress ?? ns.srcMac;
  const flags = (dad ? 0 : NA_SOLICITED) | NA_OVERRIDE;
  return icmp6Frame(ethDst, ourMac, ns.target, dst, ndMessage(ND_NA, flags, ns.target, OPT_TLLA, ourMac));
}

/** unsolicitedAdvertisement announces `address` at `ourMac` to all nodes, overriding caches (§7.2.6) */
export function unsolicitedAdvertisement(ourMac: string, address: string): Uint8Array {
  const msg = ndMessage(ND_NA, NA_OVERRIDE, address, OPT_TLLA, ourMac);
  return icmp6Frame(multicastMac(ALL_NODES), ourMac, address, ALL_NODES, msg);
}

/**
 * echoReply6 turns an ICMPv6 echo request (Ethernet when `l2`, bare IPv6 otherwise, no extension
 * headers) into its reply, or returns null when the frame is not one.
 */
export function echoReply6(frame: Uint8Array, l2: boolean): Uint8Array | null {
  const at = l2 ? 14 : 0;
  if (frame.length < at + 48 || (l2 && ((frame[12] << 8) | frame[13]) !== ETH_P_IPV6)) return null;
  const ip = frame.subarray(at);
  const plen = (ip[4] << 8) | ip[5];
  if (ip[0] >> 4 !== 6 || ip[6] !== ICMPV6 || 40 + plen > ip.length || plen < 8) return null;
  // an echo request, not to a multicast group
  if (ip[40] !== 128 || ip[24] === 0xff) return null;
  const out = frame.slice(0, at + 40 + plen);
  if (l2) {
    out.set(frame.subarray(6, 12), 0);
    out.set(frame.subarray(0, 6), 6);
  }
  const o = out.subarray(at);
  o.set(ip.subarray(24, 40), 8);
  o.set(ip.subarray(8, 24), 24);
  o[7] = 64;
  const msg = o.subarray(40);
  msg[0] = 129;
  msg[2] = 0;
  msg[3] = 0;
  const c = icmp6Sum(o.subarray(8, 24), o.subarray(24, 40), msg);
  msg[2] = c >> 8;
  msg[3] = c & 0xff;
  return out;
}
