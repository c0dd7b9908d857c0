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
