// packet.ts — the test oracle: builds and decodes Ethernet/IPv4/TCP/UDP/ICMP/IP-in-IP frames
// with every checksum computed from scratch (RFC 1071), sharing no code with the data path.
// Cross-checked against scapy in test/oracle/scapy.test.ts.

export function ipToBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

export function bytesToIp(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

export function macToBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

export function bytesToMac(b: Uint8Array, at: number): string {
  return Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** onesSum: the one's-complement sum of big-endian 16-bit words (odd byte padded with zero). */
export function onesSum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < data.length; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (data.length % 2) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

export function checksum(data: Uint8Array, initial = 0): number {
  return ~onesSum(data, initial) & 0xffff;
}

function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, proto: number, length: number): number {
  const ph = new Uint8Array(12);
  ph.set(src, 0);
  ph.set(dst, 4);
  ph[9] = proto;
  ph[10] = length >> 8;
  ph[11] = length & 0xff;
  return onesSum(ph);
}

export type TcpFlag = 'F' | 'S' | 'R' | 'P' | 'A';
const TCP_FLAG_BITS: Record<TcpFlag, number> = { F: 1, S: 2, R: 4, P: 8, A: 16 };

export interface IpSpec {
  src: string;
  dst: string;
  ttl?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number;
  tos?: number;
  /** IP options, padded to a multiple of 4 by the caller */
  options?: number[];
  proto?: number;
}

export interface TcpSpec {
  sport: number; dport: number; flags?: string; seq?: number; ack?: number; window?: number; payload?: Uint8Array;
  /** option bytes, a multiple of 4 long (pad with EOL 0 / NOP 1 yourself, as the wire has them) */
  options?: number[];
}
export interface UdpSpec { sport: number; dport: number; payload?: Uint8Array; noChecksum?: boolean }
export interface IcmpSpec { type: number; code: number; rest?: number; payload?: Uint8Array }

/** tcpSegment builds a TCP segment (20-byte header plus options) with its checksum over the pseudo-header. */
export function tcpSegment(ip: IpSpec, t: TcpSpec): Uint8Array {
  const payload = t.payload ?? new Uint8Array(0);
  const opts = t.options ?? [];
  if (opts.length % 4 !== 0 || opts.length > 40) throw new Error(`TCP options must be a multiple of 4 bytes, at most 40 (${opts.length})`);
  const hlen = 20 + opts.length;
  const seg = new Uint8Array(hlen + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, t.sport);
  dv.setUint16(2, t.dport);
  dv.setUint32(4, t.seq ?? 1000);
  dv.setUint32(8, t.ack ?? 0);
  seg[12] = (hlen / 4) << 4;
  seg.set(opts, 20);
  let flags = 0;
  for (const f of (t.flags ?? 'A') as string) flags |= TCP_FLAG_BITS[f as TcpFlag];
  seg[13] = flags;
  dv.setUint16(14, t.window ?? 65535);
  seg.set(payload, hlen);
  const sum = pseudoHeaderSum(Uint8Array.from(ipToBytes(ip.src)), Uint8Array.from(ipToBytes(ip.dst)), 6, seg.length);
  dv.setUint16(16, checksum(seg, sum));
  return seg;
}

export function udpDatagram(ip: IpSpec, u: UdpSpec): Uint8Array {
  const payload = u.payload ?? new Uint8Array(0);
  const seg = new Uint8Array(8 + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, u.sport);
  dv.setUint16(2, u.dport);
  dv.setUint16(4, seg.length);
  seg.set(payload, 8);
  if (!u.noChecksum) {
    const sum = pseudoHeaderSum(Uint8Array.from(ipToBytes(ip.src)), Uint8Array.from(ipToBytes(ip.dst)), 17, seg.length);
    const c = checksum(seg, sum);
    dv.setUint16(6, c === 0 ? 0xffff : c);
  }
  return seg;
}

export function icmpMessage(m: IcmpSpec): Uint8Array {
  const payload = m.payload ?? new Uint8Array(0);
  const msg = new Uint8Array(8 + payload.length);
  const dv = new DataView(msg.buffer);
  msg[0] = m.type;
  msg[1] = m.code;
  dv.setUint32(4, m.rest ?? 0);
  msg.set(payload, 8);
  dv.setUint16(2, checksum(msg));
  return msg;
}

/** ipv4Packet wraps an L4 payload in an IPv4 header with a fresh header checksum. */
export function ipv4Packet(ip: IpSpec, proto: number, l4: Uint8Array): Uint8Array {
  const opts = ip.options ?? [];
  if (opts.length % 4) throw new Error('IP options must be padded to 4 bytes');
  const ihl = 20 + opts.length;
  const pkt = new Uint8Array(ihl + l4.length);
  const dv = new DataView(pkt.buffer);
  pkt[0] = 0x40 | (ihl / 4);
  pkt[1] = ip.tos ?? 0;
  dv.setUint16(2, pkt.length);
  dv.setUint16(4, ip.id ?? 0x1234);
  dv.setUint16(6, (ip.df ? 0x4000 : 0) | (ip.mf ? 0x2000 : 0) | (ip.fragOffset ?? 0));
  pkt[8] = ip.ttl ?? 64;
  pkt[9] = ip.proto ?? proto;
  pkt.set(ipToBytes(ip.src), 12);
  pkt.set(ipToBytes(ip.dst), 16);
  pkt.set(opts, 20);
  dv.setUint16(10, checksum(pkt.subarray(0, ihl)));
  pkt.set(l4, ihl);
  return pkt;
}

export function tcpPacket(ip: IpSpec, t: TcpSpec): Uint8Array {
  return ipv4Packet(ip, 6, tcpSegment(ip, t));
}

export function udpPacket(ip: IpSpec, u: UdpSpec): Uint8Array {
  return ipv4Packet(ip, 17, udpDatagram(ip, u));
}

export function icmpPacket(ip: IpSpec, m: IcmpSpec): Uint8Array {
  return ipv4Packet(ip, 1, icmpMessage(m));
}

export function ethernet(dst: string, src: string, payload: Uint8Array, type = 0x0800): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(macToBytes(dst), 0);
  f.set(macToBytes(src), 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

function arp(op: number, srcMac: string, srcIp: string, targetMac: string, targetIp: string): Uint8Array {
  const a = new Uint8Array(28);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, 1);
  dv.setUint16(2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  dv.setUint16(6, op);
  a.set(macToBytes(srcMac), 8);
  a.set(ipToBytes(srcIp), 14);
  a.set(macToBytes(targetMac), 18);
  a.set(ipToBytes(targetIp), 24);
  return a;
}

export function arpRequest(srcMac: string, srcIp: string, targetIp: string): Uint8Array {
  return ethernet('ff:ff:ff:ff:ff:ff', srcMac, arp(1, srcMac, srcIp, '00:00:00:00:00:00', targetIp), 0x0806);
}

/** arpReply: `srcMac` has `srcIp`, told to the asker (RFC 826) */
export function arpReply(srcMac: string, srcIp: string, dstMac: string, dstIp: string): Uint8Array {
  return ethernet(dstMac, srcMac, arp(2, srcMac, srcIp, dstMac, dstIp), 0x0806);
}

// ── decoding ────────────────────────────────────────────────────────────────────────────────
export interface DecodedL4 {
  proto: number;
  sport: number;
  dport: number;
  flags?: number;
  /** TCP: sequence and acknowledgement numbers, and the option bytes */
  seq?: number;
  ack?: number;
  options?: Uint8Array;
  checksum: number;
  /** the checksum verifies over the pseudo-header (UDP zero = "none" counts as valid) */
  checksumOk: boolean;
  payload: Uint8Array;
}

export interface DecodedIcmp {
  type: number;
  code: number;
  rest: number;
  checksumOk: boolean;
  /** the quoted datagram of an error, decoded leniently (it may be cut short) */
  quoted?: DecodedIp;
}

export interface DecodedIp {
  src: string;
  dst: string;
  proto: number;
  ttl: number;
  id: number;
  df: boolean;
  tos: number;
  ihl: number;
  totalLength: number;
  headerChecksumOk: boolean;
  tcp?: DecodedL4;
  udp?: DecodedL4;
  icmp?: DecodedIcmp;
  /** IP-in-IP: the inner packet */
  inner?: DecodedIp;
  bytes: Uint8Array;
}

export interface DecodedFrame {
  dstMac?: string;
  srcMac?: string;
  etherType?: number;
  ip?: DecodedIp;
}

/**
 * decodeIp decodes an IPv4 packet and verifies every checksum. `quoted`: the packet is an ICMP
 * quote, possibly truncated after 8 bytes of L4 (checksums of L4 are then not verified).
 */
export function decodeIp(p: Uint8Array, quoted = false): DecodedIp {
  if (p.length < 20 || p[0] >> 4 !== 4) throw new Error(`not IPv4 (${p.length} bytes)`);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const ihl = (p[0] & 15) * 4;
  const totalLength = dv.getUint16(2);
  if (!quoted && totalLength > p.length) throw new Error(`IP total length ${totalLength} > ${p.length} bytes`);
  const end = quoted ? p.length : totalLength;
  const d: DecodedIp = {
    src: bytesToIp(p, 12), dst: bytesToIp(p, 16), proto: p[9], ttl: p[8], id: dv.getUint16(4),
    df: (p[6] & 0x40) !== 0, tos: p[1], ihl, totalLength,
    headerChecksumOk: onesSum(p.subarray(0, ihl)) === 0xffff,
    bytes: p.subarray(0, end),
  };
  const l4 = p.subarray(ihl, end);
  const ps = pseudoHeaderSum(p.subarray(12, 16), p.subarray(16, 20), p[9], l4.length);
  const l4dv = new DataView(l4.buffer, l4.byteOffset, l4.byteLength);
  if (p[9] === 6 && l4.length >= 8) {
    d.tcp = {
      proto: 6, sport: l4dv.getUint16(0), dport: l4dv.getUint16(2), flags: l4.length > 13 ? l4[13] : undefined,
      seq: l4dv.getUint32(4),
      ack: l4.length >= 12 ? l4dv.getUint32(8) : undefined,
      options: l4.length >= 20 ? l4.subarray(20, Math.min(l4.length, (l4[12] >> 4) * 4)) : undefined,
      checksum: l4.length >= 18 ? l4dv.getUint16(16) : -1,
      checksumOk: !quoted && l4.length >= 20 && onesSum(l4, ps) === 0xffff,
      payload: l4.length >= 20 ? l4.subarray((l4[12] >> 4) * 4) : new Uint8Array(0),
    };
  } else if (p[9] === 17 && l4.length >= 8) {
    const c = l4dv.getUint16(6);
    d.udp = {
      proto: 17, sport: l4dv.getUint16(0), dport: l4dv.getUint16(2), checksum: c,
      checksumOk: !quoted && (c === 0 || onesSum(l4, ps) === 0xffff), payload: l4.subarray(8),
    };
  } else if (p[9] === 1 && l4.length >= 8) {
    const type = l4[0];
    d.icmp = { type, code: l4[1], rest: l4dv.getUint32(4), checksumOk: !quoted && onesSum(l4) === 0xffff };
    if ([3, 4, 11, 12].includes(type) && l4.length >= 28) d.icmp.quoted = decodeIp(l4.subarray(8), true);
  } else if (p[9] === 4 && l4.length >= 20) {
    d.inner = decodeIp(l4);
  }
  return d;
}

export function decodeFrame(f: Uint8Array, l2: boolean): DecodedFrame {
  if (!l2) return { ip: decodeIp(f) };
  const out: DecodedFrame = { dstMac: bytesToMac(f, 0), srcMac: bytesToMac(f, 6), etherType: (f[12] << 8) | f[13] };
  if (out.etherType === 0x0800) out.ip = decodeIp(f.subarray(14));
  return out;
}

export interface TcpOption { kind: number; at: number; data: Uint8Array }

/** tcpOptions lists the options of decoded TCP option bytes (`at`: offset from the option start). */
export function tcpOptions(opts: Uint8Array): TcpOption[] {
  const out: TcpOption[] = [];
  for (let i = 0; i < opts.length;) {
    const kind = opts[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = opts[i + 1];
    if (len < 2 || i + len > opts.length) throw new Error(`bad TCP option at ${i}`);
    out.push({ kind, at: i, data: opts.subarray(i + 2, i + len) });
    i += len;
  }
  return out;
}

/** allChecksumsOk: IP header, and L4 (or ICMP, or the inner packet) verify. */
export function allChecksumsOk(ip: DecodedIp): boolean {
  if (!ip.headerChecksumOk) return false;
  if (ip.tcp) return ip.tcp.checksumOk;
  if (ip.udp) return ip.udp.checksumOk;
  if (ip.icmp) return ip.icmp.checksumOk && (!ip.icmp.quoted || ip.icmp.quoted.headerChecksumOk);
  if (ip.inner) return allChecksumsOk(ip.inner);
  return true;
}

// ── IPv6 (RFC 8200), ICMPv6 (RFC 4443), fragments of both families ──────────────────────────
/** ip6ToBytes parses any IPv6 text form (a '::' at most once) into 16 bytes */
export function ip6ToBytes(ip: string): number[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, null];
  const words = (s: string) => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const h = words(head);
  const t = tail === null ? [] : words(tail);
  const all = tail === null ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8) throw new Error(`bad IPv6 address ${ip}`);
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

/** bytesToIp6 formats 16 bytes (RFC 5952: the longest run of zero words as '::') */
export function bytesToIp6(b: Uint8Array, at: number): string {
  const w = Array.from({ length: 8 }, (_, i) => (b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  let best = -1;
  let len = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > len) { best = i; len = j - i; }
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(w) : `${hex(w.slice(0, best))}::${hex(w.slice(best + len))}`;
}

export interface Ip6Spec { src: string; dst: string; hlim?: number; tc?: number; flow?: number }

/** an extension header: hop-by-hop / destination options (PadN to `optLen` bytes), routing, fragment */
export type ExtHeader =
  | { type: 0 | 60; optLen?: number }
  | { type: 43; segLeft: number; addresses?: string[] }
  | { type: 44; offset: number; more: boolean; id: number };

function pseudo6Sum(src: number[], dst: number[], nh: number, length: number): number {
  const ph = new Uint8Array(40);
  ph.set(src, 0);
  ph.set(dst, 16);
  new DataView(ph.buffer).setUint32(32, length);
  ph[39] = nh;
  return onesSum(ph);
}

function extBytes(e: ExtHeader, next: number): Uint8Array {
  if (e.type === 44) {
    const b = new Uint8Array(8);
    b[0] = next;
    new DataView(b.buffer).setUint16(2, (e.offset << 3) | (e.more ? 1 : 0));
    new DataView(b.buffer).setUint32(4, e.id);
    return b;
  }
  if (e.type === 43) {
    const addrs = e.addresses ?? [];
    const b = new Uint8Array(8 + 16 * addrs.length);
    b[0] = next;
    b[1] = 2 * addrs.length;
    b[2] = 0; // type 0 (deprecated, RFC 5095): the layout serves any type for parsing
    b[3] = e.segLeft;
    addrs.forEach((a, i) => b.set(ip6ToBytes(a), 8 + 16 * i));
    return b;
  }
  const optLen = e.optLen ?? 6;
  const total = Math.ceil((2 + optLen) / 8) * 8;
  const b = new Uint8Array(total);
  b[0] = next;
  b[1] = total / 8 - 1;
  // one PadN option filling the rest (RFC 8200 §4.2)
  b[2] = 1;
  b[3] = total - 4;
  return b;
}

/**
 * ipv6Packet wraps `payload` (of next header `nh`) in an IPv6 header and the extension headers
 * `ext`, in order. The payload's checksum must already be right (the l4 builders below take the
 * same ext list to find the final destination).
 */
export function ipv6Packet(ip: Ip6Spec, nh: number, payload: Uint8Array, ext: ExtHeader[] = []): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < ext.length; i++) parts.push(extBytes(ext[i], i + 1 < ext.length ? ext[i + 1].type : nh));
  const extLen = parts.reduce((n, p) => n + p.length, 0);
  const pkt = new Uint8Array(40 + extLen + payload.length);
  const dv = new DataView(pkt.buffer);
  dv.setUint32(0, (6 << 28) | ((ip.tc ?? 0) << 20) | (ip.flow ?? 0));
  dv.setUint16(4, extLen + payload.length);
  pkt[6] = ext.length ? ext[0].type : nh;
  pkt[7] = ip.hlim ?? 64;
  pkt.set(ip6ToBytes(ip.src), 8);
  pkt.set(ip6ToBytes(ip.dst), 24);
  let at = 40;
  for (const p of parts) {
    pkt.set(p, at);
    at += p.length;
  }
  pkt.set(payload, at);
  return pkt;
}

/**
 * the destination the transport checksum uses (RFC 8200 §8.1): the last address of a routing
 * header while segments are left, else the packet's own destination
 */
function finalDst(ip: Ip6Spec, ext: ExtHeader[]): string {
  const rh = ext.find((e) => e.type === 43) as { segLeft: number; addresses?: string[] } | undefined;
  return rh && rh.segLeft > 0 && rh.addresses?.length ? rh.addresses[rh.addresses.length - 1] : ip.dst;
}

/**
 * withChecksum6 writes the transport checksum of `seg` (its field at `at`) over the IPv6
 * pseudo-header of `proto`; UDP sends a computed 0 as 0xffff (RFC 8200 §8.1)
 */
function withChecksum6(seg: Uint8Array, ip: Ip6Spec, ext: ExtHeader[], proto: number, at: number): Uint8Array {
  seg[at] = 0;
  seg[at + 1] = 0;
  const c = checksum(seg, pseudo6Sum(ip6ToBytes(ip.src), ip6ToBytes(finalDst(ip, ext)), proto, seg.length));
  new DataView(seg.buffer).setUint16(at, proto === 17 && c === 0 ? 0xffff : c);
  return seg;
}

export function tcp6Segment(ip: Ip6Spec, t: TcpSpec, ext: ExtHeader[] = []): Uint8Array {
  return withChecksum6(tcpSegment({ src: '0.0.0.0', dst: '0.0.0.0' }, t), ip, ext, 6, 16);
}

export function udp6Datagram(ip: Ip6Spec, u: UdpSpec, ext: ExtHeader[] = []): Uint8Array {
  const seg = udpDatagram({ src: '0.0.0.0', dst: '0.0.0.0' }, { ...u, noChecksum: true });
  return u.noChecksum ? seg : withChecksum6(seg, ip, ext, 17, 6);
}

export function icmp6Message(ip: Ip6Spec, m: IcmpSpec, ext: ExtHeader[] = []): Uint8Array {
  return withChecksum6(icmpMessage(m), ip, ext, 58, 2);
}

export function tcp6Packet(ip: Ip6Spec, t: TcpSpec, ext: ExtHeader[] = []): Uint8Array {
  return ipv6Packet(ip, 6, tcp6Segment(ip, t, ext), ext);
}

export function udp6Packet(ip: Ip6Spec, u: UdpSpec, ext: ExtHeader[] = []): Uint8Array {
  return ipv6Packet(ip, 17, udp6Datagram(ip, u, ext), ext);
}

export function icmp6Packet(ip: Ip6Spec, m: IcmpSpec, ext: ExtHeader[] = []): Uint8Array {
  return ipv6Packet(ip, 58, icmp6Message(ip, m, ext), ext);
}

/**
 * fragment6 splits an IPv6 packet without extension headers into fragments of at most
 * `size` bytes of fragmentable part each (a multiple of 8 but the last), as RFC 8200 §4.5 says.
 */
export function fragment6(pkt: Uint8Array, size: number, id: number): Uint8Array[] {
  const nh = pkt[6];
  const body = pkt.subarray(40);
  const out: Uint8Array[] = [];
  for (let off = 0; off < body.length; off += size) {
    const chunk = body.subarray(off, Math.min(off + size, body.length));
    const f = new Uint8Array(48 + chunk.length);
    f.set(pkt.subarray(0, 40), 0);
    new DataView(f.buffer).setUint16(4, 8 + chunk.length);
    f[6] = 44;
    f[40] = nh;
    new DataView(f.buffer).setUint16(42, ((off / 8) << 3) | (off + size < body.length ? 1 : 0));
    new DataView(f.buffer).setUint32(44, id);
    f.set(chunk, 48);
    out.push(f);
  }
  return out;
}

/** fragment4 splits an IPv4 packet (no options) into fragments of at most `size` data bytes each */
export function fragment4(pkt: Uint8Array, size: number): Uint8Array[] {
  const ihl = (pkt[0] & 15) * 4;
  const body = pkt.subarray(ihl);
  const out: Uint8Array[] = [];
  for (let off = 0; off < body.length; off += size) {
    const chunk = body.subarray(off, Math.min(off + size, body.length));
    const f = new Uint8Array(ihl + chunk.length);
    f.set(pkt.subarray(0, ihl), 0);
    const dv = new DataView(f.buffer);
    dv.setUint16(2, f.length);
    dv.setUint16(6, (dv.getUint16(6) & 0x4000) | (off + size < body.length ? 0x2000 : 0) | (off / 8));
    dv.setUint16(10, 0);
    dv.setUint16(10, checksum(f.subarray(0, ihl)));
    f.set(chunk, ihl);
    out.push(f);
  }
  return out;
}

export interface DecodedIp6 {
  src: string;
  dst: string;
  /** the transport (or last) next header after the extension headers */
  nh: number;
  hlim: number;
  tc: number;
  flow: number;
  payloadLength: number;
  /** extension header types in order */
  ext: number[];
  /** a fragment header's fields */
  frag?: { offset: number; more: boolean; id: number };
  tcp?: DecodedL4;
  udp?: DecodedL4;
  icmp?: DecodedIcmp & { quoted6?: DecodedIp6 };
  /** IPv6-in-IPv6: the inner packet */
  inner?: DecodedIp6;
  bytes: Uint8Array;
}

/** decodeIp6 decodes an IPv6 packet and verifies its transport checksum; `quoted` as decodeIp */
export function decodeIp6(p: Uint8Array, quoted = false): DecodedIp6 {
  if (p.length < 40 || p[0] >> 4 !== 6) throw new Error(`not IPv6 (${p.length} bytes)`);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const payloadLength = dv.getUint16(4);
  if (!quoted && 40 + payloadLength > p.length) throw new Error(`IPv6 payload length ${payloadLength} > ${p.length - 40} bytes`);
  const end = quoted ? p.length : 40 + payloadLength;
  const d: DecodedIp6 = {
    src: bytesToIp6(p, 8), dst: bytesToIp6(p, 24), nh: p[6], hlim: p[7], tc: (dv.getUint32(0) >>> 20) & 0xff,
    flow: dv.getUint32(0) & 0xfffff, payloadLength, ext: [], bytes: p.subarray(0, end),
  };
  let nh = p[6];
  let at = 40;
  let dst = p.subarray(24, 40);
  while ([0, 43, 60, 44].includes(nh) && at + 8 <= end) {
    d.ext.push(nh);
    if (nh === 44) {
      const v = dv.getUint16(at + 2);
      d.frag = { offset: v >> 3, more: (v & 1) !== 0, id: dv.getUint32(at + 4) };
      nh = p[at];
      at += 8;
      if (d.frag.offset !== 0) break;
      continue;
    }
    if (nh === 43 && p[at + 1] > 0 && p[at + 3] > 0) dst = p.subarray(at + 8 + 8 * p[at + 1] - 16,
      at + 8 + 8 * p[at + 1]);
    const len = (p[at + 1] + 1) * 8;
    nh = p[at];
    at += len;
  }
  d.nh = nh;
  const l4 = p.subarray(at, end);
  if (d.frag && (d.frag.offset !== 0 || d.frag.more)) return d;
  const ps = pseudo6Sum(Array.from(p.subarray(8, 24)), Array.from(dst), nh, l4.length);
  const l4dv = new DataView(l4.buffer, l4.byteOffset, l4.byteLength);
  if (nh === 6 && l4.length >= 8) {
    d.tcp = {
      proto: 6, sport: l4dv.getUint16(0), dport: l4dv.getUint16(2), flags: l4.length > 13 ? l4[13] : undefined,
      seq: l4dv.getUint32(4),
      ack: l4.length >= 12 ? l4dv.getUint32(8) : undefined,
      options: l4.length >= 20 ? l4.subarray(20, Math.min(l4.length, (l4[12] >> 4) * 4)) : undefined,
      checksum: l4.length >= 18 ? l4dv.getUint16(16) : -1,
      checksumOk: !quoted && l4.length >= 20 && onesSum(l4, ps) === 0xffff,
      payload: l4.length >= 20 ? l4.subarray((l4[12] >> 4) * 4) : new Uint8Array(0),
    };
  } else if (nh === 17 && l4.length >= 8) {
    const c = l4dv.getUint16(6);
    // RFC 8200 §8.1: a zero UDP checksum is not valid over IPv6
    d.udp = {
      proto: 17, sport: l4dv.getUint16(0), dport: l4dv.getUint16(2), checksum: c,
      checksumOk: !quoted && c !== 0 && onesSum(l4, ps) === 0xffff, payload: l4.subarray(8),
    };
  } else if (nh === 58 && l4.length >= 8) {
    const type = l4[0];
    d.icmp = { type, code: l4[1], rest: l4dv.getUint32(4), checksumOk: !quoted && onesSum(l4, ps) === 0xffff };
    if (type < 128 && l4.length >= 48) d.icmp.quoted6 = decodeIp6(l4.subarray(8), true);
  } else if (nh === 41 && l4.length >= 40) {
    d.inner = decodeIp6(l4);
  }
  return d;
}

/** decodeAny decodes a frame of either family (the IPv6 one in `ip6`) */
export function decodeFrame6(f: Uint8Array,
  l2: boolean): { dstMac?: string; srcMac?: string; etherType?: number; ip6?: DecodedIp6; ip?: DecodedIp } {
  if (!l2) return f[0] >> 4 === 6 ? { ip6: decodeIp6(f) } : { ip: decodeIp(f) };
  const out = { dstMac: bytesToMac(f, 0), srcMac: bytesToMac(f, 6),
    etherType: (f[12] << 8) | f[13] } as ReturnType<typeof decodeFrame6>;
  if (out.etherType === 0x86dd) out.ip6 = decodeIp6(f.subarray(14));
  if (out.etherType === 0x0800) out.ip = decodeIp(f.subarray(14));
  return out;
}

/** allChecksumsOk6: the transport checksum (or the inner packet's) verifies */
export function allChecksumsOk6(ip: DecodedIp6): boolean {
  if (ip.tcp) return ip.tcp.checksumOk;
  if (ip.udp) return ip.udp.checksumOk;
  if (ip.icmp) return ip.icmp.checksumOk;
  if (ip.inner) return allChecksumsOk6(ip.inner);
  return true;
}

/**
 * reassemble4 puts IPv4 fragments (any order, not overlapping) back into the datagram: the
 * receiver's view, so tests can check the transport checksum of what a director forwarded.
 */
export function reassemble4(frags: Uint8Array[]): Uint8Array {
  const parts = frags.map((f) => {
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const ihl = (f[0] & 15) * 4;
    return { off: (dv.getUint16(6) & 0x1fff) * 8, more: (dv.getUint16(6) & 0x2000) !== 0, data: f.subarray(ihl,
      dv.getUint16(2)), head: f.subarray(0, ihl) };
  }).sort((a, b) => a.off - b.off);
  const last = parts[parts.length - 1];
  if (parts[0].off !== 0 || last.more) throw new Error('incomplete datagram');
  const body = new Uint8Array(last.off + last.data.length);
  for (const p of parts) body.set(p.data, p.off);
  const head = parts[0].head.slice();
  const dv = new DataView(head.buffer);
  dv.setUint16(6, dv.getUint16(6) & 0x4000);
  const src = bytesToIp(head, 12);
  const dst = bytesToIp(head, 16);
  return ipv4Packet({ src, dst, id: dv.getUint16(4), ttl: head[8], tos: head[1] }, head[9], body);
}

/** reassemble6: the same for IPv6 fragments without other extension headers */
export function reassemble6(frags: Uint8Array[]): Uint8Array {
  const parts = frags.map((f) => {
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const v = dv.getUint16(42);
    return { off: v & 0xfff8, more: (v & 1) !== 0, nh: f[40], data: f.subarray(48, 40 + dv.getUint16(4)),
      head: f.subarray(0, 40) };
  }).sort((a, b) => a.off - b.off);
  const last = parts[parts.length - 1];
  if (parts[0].off !== 0 || last.more) throw new Error('incomplete datagram');
  const body = new Uint8Array(last.off + last.data.length);
  for (const p of parts) body.set(p.data, p.off);
  const out = new Uint8Array(40 + body.length);
  out.set(parts[0].head, 0);
  new DataView(out.buffer).setUint16(4, body.length);
  out[6] = parts[0].nh;
  out.set(body, 40);
  return out;
}
