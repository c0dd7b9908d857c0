// vrrp-packet.ts — VRRP advertisements as bytes, IPv4 only: version 3 (RFC 5798 §5.2) and
// version 2 (RFC 3768 §5.3), and the IPv4/Ethernet framing they travel in (RFC 5798 §5.1).
// Pure functions: what to send and whether to believe what came is decided in vrrp.ts.
//
//  0       4       8              16              24             32
//  │ ver │ type │ VRID          │ priority      │ count IPvX    │
//  v3: │ rsvd(4) │ max advert interval (12 bits, centiseconds)   │ checksum │
//  v2: │ auth type             │ advert int (s) │                 checksum │
//  │ IPv4 address 1 ... n (4 bytes each)                          │
//  v2 only: │ authentication data (8 bytes)                       │
import { checksum, onesSum } from '../net/checksum.js';
import { formatMac, ipv4ToNumber, numberToIpv4, parseMac } from '../model/address.js';
import type { VrrpChecksum } from '../model/spec.js';

export const IPPROTO_VRRP = 112;
/** RFC 5798 §5.1.1.2 */
export const VRRP_GROUP = '224.0.0.18';
/** RFC 1112 §6.4: the Ethernet group of 224.0.0.18 */
export const VRRP_GROUP_MAC = '01:00:5e:00:00:12';
/** RFC 5798 §5.1.1.3: sent with 255, and a multicast one received with anything else is dropped */
export const VRRP_TTL = 255;
/** RFC 5798 §5.2.2: the only type */
export const TYPE_ADVERTISEMENT = 1;
/** authentication types of RFC 2338 §5.3.6 (RFC 3768 keeps 1 and 2 reserved; keepalived still speaks both) */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;
export const AUTH_DATA_LEN = 8;
const HEADER = 8;
/** keepalived sets the IP precedence of internetwork control (vrrp_build_ip4) */
const TOS_NETWORK_CONTROL = 0xc0;

export type VrrpVersion = 2 | 3;
/**
 * How a version 3 checksum over IPv4 is computed. RFC 5798 §5.2.8 names a pseudo-header;
 * keepalived (by default), FRR and Wireshark include the IPv4 one; others (Cisco) read it as
 * IPv6-only and checksum the VRRP message alone, as version 2 does: keepalived's
 * `v3_checksum_as_v2` (2.2.8 and later), FRR's `no checksum-with-ipv4-pseudoheader`.
 */
export type V3Checksum = VrrpChecksum;

export interface Advert {
  version: VrrpVersion;
  vrid: number;
  priority: number;
  /** version 3: Max Advertise Interval in centiseconds (12 bits); version 2: seconds (8 bits) */
  interval: number;
  addresses: string[];
  /** version 2 only: the authentication type and its 8 bytes (zeros for none) */
  authType: number;
  authData: Uint8Array;
}

/** where an advertisement travels: the checksum of version 3 covers these addresses */
export interface IpEnds { src: string; dst: string }

/** messageLength is the length of a VRRP message with `count` addresses (no trailer). */
export function messageLength(version: VrrpVersion, count: number): number {
  return HEADER + 4 * count + (version === 2 ? AUTH_DATA_LEN : 0);
}

function pseudoHeaderSum(ends: IpEnds, length: number): number {
  const p = new Uint8Array(12);
  const dv = new DataView(p.buffer);
  dv.setUint32(0, ipv4ToNumber(ends.src));
  dv.setUint32(4, ipv4ToNumber(ends.dst));
  p[9] = IPPROTO_VRRP;
  dv.setUint16(10, length);
  return onesSum(p);
}

/** the checksum field's value for `msg` (its own checksum bytes taken as zero) */
function computeChecksum(msg: Uint8Array, version: VrrpVersion, ends: IpEnds, mode: V3Checksum): number {
  const zeroed = msg.slice();
  zeroed[6] = 0;
  zeroed[7] = 0;
  const initial = version === 3 && mode === 'pseudo-header' ? pseudoHeaderSum(ends, msg.length) : 0;
  return checksum(zeroed, initial);
}

/** encodeAdvert builds the VRRP message (without IP header). */
export function encodeAdvert(a: Advert, ends: IpEnds, mode: V3Checksum = 'pseudo-header'): Uint8Array {
  if (a.addresses.length > 255) throw new RangeError('a VRRP advertisement carries at most 255 addresses');
  const msg = new Uint8Array(messageLength(a.version, a.addresses.length));
  const dv = new DataView(msg.buffer);
  msg[0] = (a.version << 4) | TYPE_ADVERTISEMENT;
  msg[1] = a.vrid;
  msg[2] = a.priority;
  msg[3] = a.addresses.length;
  if (a.version === 3) {
    // the 4 reserved bits are sent as zero (RFC 5798 §5.2.6)
    dv.setUint16(4, a.interval & 0x0fff);
  } else {
    msg[4] = a.authType;
    msg[5] = a.interval;
  }
  a.addresses.forEach((addr, i) => dv.setUint32(HEADER + 4 * i, ipv4ToNumber(addr)));
  if (a.version === 2) msg.set(a.authData.subarray(0, AUTH_DATA_LEN), HEADER + 4 * a.addresses.length);
  dv.setUint16(6, computeChecksum(msg, a.version, ends, mode));
  return msg;
}

export type DecodeError = 'length' | 'version' | 'type' | 'checksum';

/**
 * decodeAdvert reads the VRRP message at the start of `payload` (an IP datagram's payload) and
 * checks its version, type, length and checksum. Bytes after the message come back as
 * `trailer`: wlvs peers put their authentication there; anybody else sends none.
 */
export function decodeAdvert(payload: Uint8Array, ends: IpEnds, mode: V3Checksum = 'pseudo-header'):
  { advert: Advert; trailer: Uint8Array } | { error: DecodeError } {
  if (payload.length < HEADER) return { error: 'length' };
  const version = payload[0] >> 4;
  if (version !== 2 && version !== 3) return { error: 'version' };
  if ((payload[0] & 15) !== TYPE_ADVERTISEMENT) return { error: 'type' };
  const count = payload[3];
  const len = messageLength(version, count);
  if (payload.length < len) return { error: 'length' };
  const msg = payload.subarray(0, len);
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  if (dv.getUint16(6) !== computeChecksum(msg, version, ends, mode)) return { error: 'checksum' };
  const addresses = Array.from({ length: count }, (_, i) => numberToIpv4(dv.getUint32(HEADER + 4 * i)));
  const v2 = version === 2;
  return {
    advert: {
      version, vrid: msg[1], priority: msg[2], addresses,
      interval: v2 ? msg[5] : dv.getUint16(4) & 0x0fff,
      authType: v2 ? msg[4] : AUTH_NONE,
      authData: v2 ? msg.slice(HEADER + 4 * count, len) : new Uint8Array(AUTH_DATA_LEN),
    },
    trailer: payload.subarray(len),
  };
}

/** intervalMs turns an advertisement's interval field into milliseconds. */
export function intervalMs(version: VrrpVersion, interval: number): number {
  return version === 3 ? interval * 10 : interval * 1000;
}

/** passwordData is keepalived's auth_data for a simple password: at most 8 bytes, zero padded. */
export function passwordData(password: string): Uint8Array {
  const out = new Uint8Array(AUTH_DATA_LEN);
  out.set(Buffer.from(password, 'utf8').subarray(0, AUTH_DATA_LEN));
  return out;
}

/** virtualMac is a virtual router's MAC: 00:00:5E:00:01:{VRID} (RFC 5798 §7.3). */
export function virtualMac(vrid: number): string {
  return `00:00:5e:00:01:${vrid.toString(16).padStart(2, '0')}`;
}

export interface Ipv4Frame {
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  ttl: number;
  proto: number;
  /** the datagram's payload, within its total length (Ethernet padding stripped) */
  payload: Uint8Array;
}

/**
 * parseIpv4Frame reads an Ethernet frame with an unfragmented IPv4 datagram; null when it is
 * anything else or its header does not hold together (the core checked it already; the host
 * does not rely on that).
 */
export function parseIpv4Frame(frame: Uint8Array): Ipv4Frame | null {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return null;
  const ip = 14;
  const ihl = (frame[ip] & 15) * 4;
  const tot = (frame[ip + 2] << 8) | frame[ip + 3];
  if (frame[ip] >> 4 !== 4 || ihl < 20 || tot < ihl || ip + tot > frame.length) return null;
  if ((((frame[ip + 6] << 8) | frame[ip + 7]) & 0x3fff) !== 0) return null;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    dstMac: formatMac(frame.subarray(0, 6)), srcMac: formatMac(frame.subarray(6, 12)),
    src: numberToIpv4(dv.getUint32(ip + 12)), dst: numberToIpv4(dv.getUint32(ip + 16)),
    ttl: frame[ip + 8], proto: frame[ip + 9], payload: frame.subarray(ip + ihl, ip + tot),
  };
}

/** vrrpFrame wraps a VRRP payload in IPv4 (TTL 255, protocol 112) and Ethernet. */
export function vrrpFrame(o: {
  srcMac: string; dstMac: string; src: string; dst: string; id: number; payload: Uint8Array;
}): Uint8Array {
  const f = new Uint8Array(14 + 20 + o.payload.length);
  const dv = new DataView(f.buffer);
  f.set(parseMac(o.dstMac), 0);
  f.set(parseMac(o.srcMac), 6);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  f[15] = TOS_NETWORK_CONTROL;
  dv.setUint16(16, 20 + o.payload.length);
  dv.setUint16(18, o.id & 0xffff);
  f[22] = VRRP_TTL;
  f[23] = IPPROTO_VRRP;
  dv.setUint32(26, ipv4ToNumber(o.src));
  dv.setUint32(30, ipv4ToNumber(o.dst));
  dv.setUint16(24, checksum(f.subarray(14, 34)));
  f.set(o.payload, 34);
  return f;
}
