// clientaddr.ts — the client's address for real servers that cannot see it (Full-NAT shows them a
// LIP), per service, for TCP:
//   TOA    option 254 (Alibaba LVS, DPVS kmod/toa: kind, length 8, port, IPv4 address) added to
//          the client's segments from the handshake's last ACK until the server's first segment
//          after its SYN-ACK: the TOA module reads it from the segment that completes the
//          handshake (tcp_v4_syn_recv_sock), whichever that is if one gets lost.
//   PROXY  a PROXY protocol header (haproxy.org proxy-protocol.txt: v1 text, v2 binary) as the
//          first bytes of the client's stream. It goes into the handshake's last ACK, so servers
//          that speak first get it at once, and again into any client segment that starts at the
//          stream's first byte until the server acknowledges it (a retransmission carries the
//          same bytes, and overlapping data is trimmed by the server's TCP); every later byte of
//          the client is H bytes further on in the server's sequence space (seqadj.ts, delta in).
// Room: the server's SYN-ACK has its MSS lowered by what a segment may grow by (8 + H), so a
// full-size client segment with the option and the header still fits the server's MSS; a GSO
// super-packet grows at its start and the kernel cuts it by its gso_size as before. Growing
// moves the payload towards the slot's end (the slot has a maximum frame of room); a segment that
// would not fit (slot or 64 KiB) is dropped as DROP_PROXY_NO_ROOM and the client resends it.
// Checksums of a grown segment are computed afresh (odd-length headers shift every word after).
// IPv6 clients (CONN_PROTO has PROTO_V6: Full-NAT 6->6, NAT66, NAT64): the header carries the
// client's and the VIP's IPv6 addresses from the CONN6 record ("TCP6" in v1, AF_INET6 with a
// 36-byte address block in v2), TOA is the 20-byte variant (wire.ts TCPOLEN_TOA6), whatever the
// family of the packet that carries them (NAT64: an IPv4 packet towards the server).
import {
  CONNXF_PROXY, CONNXF_SEQ, CONNXF_TOA, CONNX_FLAGS, CONNX_SEQ_IN, CONN_CIP, CONN_CPORT, CONN_SVC, CONN_VIP,
  CONN_VPORT, CONN6_CIP, CONN6_VIP, CONN_PROTO, DROP_PROXY_NO_ROOM, HDR_PROXY_BASE, IPPROTO_TCP, PROTO_V6, STAT_PROXY_SENT, STAT_TOA_ADDED, STAT_TOA_NO_ROOM,
  SVCF_PROXY_V1, SVCF_PROXY_V2, SVCF_TOA, SVC_FLAGS, VNET_FLAGS, VNET_F_NEEDS_CSUM, VNET_HDR_LEN_FIELD,
} from './abi';
import { csumApply, csumFinish, csumFold16, csumSum, ipHeaderChecksum } from './csum';
import { bswap16, hdr } from './mem';
import { connxAddress } from './seqadj';
import { serviceAddress } from './service';
import { conn6Address } from './session6';
import { count } from './stats';
import {
  IP6_HLEN, IP6_PLEN, IP6_SRC, IP_CSUM, IP_DST, IP_SRC, IP_TOT_LEN, TCPOLEN_MSS, TCPOLEN_TOA, TCPOLEN_TOA6, TCPOPT_EOL, TCPOPT_MSS, TCPOPT_NOP, TCPOPT_TOA,
  TCP_ACK, TCP_CSUM, TCP_DOFF, TCP_FLAGS, TCP_HLEN, TCP_MAX_HLEN, TCP_SEQ, TH_ACK, TH_RST, TH_SYN,
} from './wire';

/** the v2 signature (proxy-protocol.txt §2.2): \r\n\r\n\0\r\nQUIT\n */
const V2_SIGNATURE: usize = memory.data<u8>([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** v2 for TCP over IPv4: 16-byte header (signature, version 2 | PROXY, AF_INET | STREAM, length 12) + addresses */
// @ts-ignore: decorator
@inline const V2_TCP4_LEN: u32 = 28;
// @ts-ignore: decorator
@inline const V2_VER_CMD_PROXY: u8 = 0x21;
// @ts-ignore: decorator
@inline const V2_FAM_TCP4: u8 = 0x11;
/** v2 for TCP over IPv6: AF_INET6 | STREAM, length 36 (two 16-byte addresses, two ports) */
// @ts-ignore: decorator
@inline const V2_TCP6_LEN: u32 = 52;
// @ts-ignore: decorator
@inline const V2_FAM_TCP6: u8 = 0x21;
/** clientAddrIn results at or above this are failures: CLIENTADDR_FAILED | DROP_* reason */
// @ts-ignore: decorator
@inline export const CLIENTADDR_FAILED: u32 = 0xffffff00;

/** the smallest MSS clampMss leaves a server with */
// @ts-ignore: decorator
@inline const TCP_MIN_MSS: u32 = 88;

/** clientAddrFlags: the service's TOA / PROXY flags (0 for services without either) */
// @ts-ignore: decorator
@inline export function clientAddrFlags(svc: u32): u8 {
  return load<u8>(serviceAddress(svc) + SVC_FLAGS) & (SVCF_TOA | SVCF_PROXY_V1 | SVCF_PROXY_V2);
}

/** proxyMark: where session `rec` keeps its client's ISN + 1, or 0 without a PROXY region */
// @ts-ignore: decorator
@inline export function proxyMark(rec: u32): usize {
  const base = hdr(HDR_PROXY_BASE);
  return base == 0 ? 0 : <usize>(base + (rec << 2));
}

/** decimalLength: digits of v (0..65535) */
// @ts-ignore: decorator
@inline function decimalLength(v: u32): u32 {
  return v >= 10000 ? 5 : v >= 1000 ? 4 : v >= 100 ? 3 : v >= 10 ? 2 : 1;
}

/** writeDecimal writes v as ASCII digits at p and returns the end */
function writeDecimal(p: usize, v: u32): usize {
  const n = decimalLength(v);
  let q = p + n;
  let x = v;
  for (let i: u32 = 0; i < n; i++) {
    q--;
    store<u8>(q, <u8>(0x30 + x % 10));
    x /= 10;
  }
  return p + n;
}

/** addressTextLength: the dotted quad of a wire-order address, in characters */
function addressTextLength(a: u32): u32 {
  return decimalLength(a & 0xff) + decimalLength((a >>> 8) & 0xff) + decimalLength((a >>> 16) & 0xff) +
    decimalLength(a >>> 24) + 3;
}

function writeAddress(p: usize, a: u32): usize {
  let q = writeDecimal(p, a & 0xff);
  for (let s: u32 = 8; s < 32; s += 8) {
    store<u8>(q++, 0x2e);
    q = writeDecimal(q, (a >>> s) & 0xff);
  }
  return q;
}

/** clientV6: session `c`'s client is IPv6 (its addresses are in the CONN6 record) */
// @ts-ignore: decorator
@inline function clientV6(c: usize): bool {
  return (load<u8>(c + CONN_PROTO) & PROTO_V6) != 0;
}

/**
 * ip6Text writes the 16-byte address at `a` in RFC 5952 §4 text at `p` (when `write`) and
 * returns its length: lowercase hex without leading zeros, the longest run of two or more zero
 * groups (the first of equal runs) as "::". (§5's dotted form for IPv4-mapped addresses is left
 * out: a parser reads either.)
 */
function ip6Text(p: usize, a: usize, write: bool): u32 {
  let best: i32 = -1;
  let bestLen: i32 = 1;
  let run: i32 = 0;
  for (let i: i32 = 0; i < 8; i++) {
    if (load<u16>(a + (i << 1)) == 0) {
      run++;
      if (run > bestLen) {
        bestLen = run;
        best = i - run + 1;
      }
    } else {
      run = 0;
    }
  }
  let q = p;
  for (let i: i32 = 0; i < 8; i++) {
    if (i == best) {
      if (write) {
        store<u8>(q, 0x3a);
        store<u8>(q + 1, 0x3a);
      }
      q += 2;
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i != best + bestLen) {
      if (write) store<u8>(q, 0x3a);
      q++;
    }
    const g = bswap16(<u32>load<u16>(a + (i << 1)));
    const n: u32 = g >= 0x1000 ? 4 : g >= 0x100 ? 3 : g >= 0x10 ? 2 : 1;
    if (write) {
      for (let k: u32 = 0; k < n; k++) {
        const d = (g >>> ((n - 1 - k) << 2)) & 15;
        store<u8>(q + k, <u8>(d < 10 ? 0x30 + d : 0x57 + d));
      }
    }
    q += n;
  }
  return <u32>(q - p);
}

/**
 * proxyLength6: the header's size for IPv6 session `rec` (record `c`): v2 52 bytes; v1 "PROXY
 * TCP6 CIP VIP CPORT VPORT\r\n", at most 104 of the 107 bytes proxy-protocol.txt §2.1 allows.
 */
function proxyLength6(rec: u32, c: usize, v2: bool): u32 {
  const x = conn6Address(rec);
  return proxyLength6Of(x + CONN6_CIP, x + CONN6_VIP, <u32>load<u16>(c + CONN_CPORT), <u32>load<u16>(c + CONN_VPORT), v2);
}

/** proxyLength6Of: proxyLength6 for the 16-byte addresses at `cip`, `vip` and ports (wire order) */
function proxyLength6Of(cip: usize, vip: usize, cport: u32, vport: u32, v2: bool): u32 {
  if (v2) return V2_TCP6_LEN;
  return 11 + ip6Text(0, cip, false) + 1 + ip6Text(0, vip, false) + 1 + decimalLength(bswap16(cport)) + 1 +
    decimalLength(bswap16(vport)) + 2;
}

/**
 * proxyLength: the header's size for session `c`: v2 28 bytes; v1 "PROXY TCP4 CIP VIP CPORT
 * VPORT\r\n" (the addresses and ports the client used: proxy-protocol.txt §2.1), 32..56 bytes.
 */
function proxyLength(rec: u32, c: usize, v2: bool): u32 {
  if (clientV6(c)) return proxyLength6(rec, c, v2);
  return proxyLengthOf(load<u32>(c + CONN_CIP), load<u32>(c + CONN_VIP), <u32>load<u16>(c + CONN_CPORT),
    <u32>load<u16>(c + CONN_VPORT), v2);
}

/** proxyLengthOf: proxyLength for addresses and ports (wire order) not yet in a session */
export function proxyLengthOf(cip: u32, vip: u32, cport: u32, vport: u32, v2: bool): u32 {
  if (v2) return V2_TCP4_LEN;
  return 11 + addressTextLength(cip) + 1 + addressTextLength(vip) + 1 + decimalLength(bswap16(cport)) + 1 +
    decimalLength(bswap16(vport)) + 2;
}

/** writeProxy6 writes IPv6 session `rec`'s PROXY header (proxyLength6 bytes) at `p` */
function writeProxy6(p: usize, rec: u32, c: usize, v2: bool): void {
  const x = conn6Address(rec);
  if (v2) {
    memory.copy(p, V2_SIGNATURE, 12);
    store<u8>(p + 12, V2_VER_CMD_PROXY);
    store<u8>(p + 13, V2_FAM_TCP6);
    store<u16>(p + 14, <u16>bswap16(V2_TCP6_LEN - 16));
    memory.copy(p + 16, x + CONN6_CIP, 16);
    memory.copy(p + 32, x + CONN6_VIP, 16);
    store<u16>(p + 48, load<u16>(c + CONN_CPORT));
    store<u16>(p + 50, load<u16>(c + CONN_VPORT));
    return;
  }
  writeProxyPrefix(p, 0x36);
  let q = p + 11;
  q += ip6Text(q, x + CONN6_CIP, true);
  store<u8>(q++, 0x20);
  q += ip6Text(q, x + CONN6_VIP, true);
  writeProxyPorts(q, c);
}

/** writeProxyPrefix writes "PROXY TCP4 " (family '4') or "PROXY TCP6 " ('6') at p */
function writeProxyPrefix(p: usize, family: u8): void {
  store<u8>(p, 0x50);
  store<u8>(p + 1, 0x52);
  store<u8>(p + 2, 0x4f);
  store<u8>(p + 3, 0x58);
  store<u8>(p + 4, 0x59);
  store<u8>(p + 5, 0x20);
  store<u8>(p + 6, 0x54);
  store<u8>(p + 7, 0x43);
  store<u8>(p + 8, 0x50);
  store<u8>(p + 9, family);
  store<u8>(p + 10, 0x20);
}

/** writeProxyPorts writes " CPORT VPORT\r\n" of session `c` at q */
function writeProxyPorts(at: usize, c: usize): void {
  let q = at;
  store<u8>(q++, 0x20);
  q = writeDecimal(q, bswap16(<u32>load<u16>(c + CONN_CPORT)));
  store<u8>(q++, 0x20);
  q = writeDecimal(q, bswap16(<u32>load<u16>(c + CONN_VPORT)));
  store<u8>(q, 0x0d);
  store<u8>(q + 1, 0x0a);
}

/** writeProxy writes session `rec`'s (record `c`) PROXY header (proxyLength bytes) at `p` */
export function writeProxy(p: usize, rec: u32, c: usize, v2: bool): void {
  if (clientV6(c)) {
    writeProxy6(p, rec, c, v2);
    return;
  }
  const cip = load<u32>(c + CONN_CIP);
  const vip = load<u32>(c + CONN_VIP);
  if (v2) {
    memory.copy(p, V2_SIGNATURE, 12);
    store<u8>(p + 12, V2_VER_CMD_PROXY);
    store<u8>(p + 13, V2_FAM_TCP4);
    store<u16>(p + 14, <u16>bswap16(V2_TCP4_LEN - 16));
    // addresses and ports in network order: the session keeps them as the wire had them
    store<u32>(p + 16, cip);
    store<u32>(p + 20, vip);
    store<u16>(p + 24, load<u16>(c + CONN_CPORT));
    store<u16>(p + 26, load<u16>(c + CONN_VPORT));
    return;
  }
  writeProxyPrefix(p, 0x34);
  let q = writeAddress(p + 11, cip);
  store<u8>(q++, 0x20);
  q = writeAddress(q, vip);
  writeProxyPorts(q, c);
}

/** proxyPending: session `rec` still owes the server its PROXY header */
// @ts-ignore: decorator
@inline export function proxyPending(rec: u32): bool {
  const x = connxAddress(rec);
  return x != 0 && (<u32>load<u16>(x + CONNX_FLAGS) & CONNXF_PROXY) != 0;
}

/**
 * clientAddrStart arms a new TCP session `rec` (record `c`) of a service with TOA or PROXY on
 * the client's SYN at `l4`: it remembers where the client's stream starts and tells seqadj that
 * every later client byte moves H further on.
 */
export function clientAddrStart(rec: u32, c: usize, l4: usize, flags: u8): void {
  const x = connxAddress(rec);
  if (x == 0) return;
  let f = <u32>load<u16>(x + CONNX_FLAGS);
  if ((flags & SVCF_TOA) != 0) f |= CONNXF_TOA;
  const mark = proxyMark(rec);
  if ((flags & (SVCF_PROXY_V1 | SVCF_PROXY_V2)) != 0 && mark != 0) {
    store<u32>(mark, bswap<u32>(load<u32>(l4 + TCP_SEQ)) + 1);
    store<u32>(x + CONNX_SEQ_IN, proxyLength(rec, c, (flags & SVCF_PROXY_V2) != 0));
    f |= CONNXF_PROXY | CONNXF_SEQ;
  }
  store<u16>(x + CONNX_FLAGS, <u16>f);
}

/** lowerMss: an MSS of `mss` less `room`; one that asks for tiny segments already leaves room (and must not become 0) */
// @ts-ignore: decorator
@inline export function lowerMss(mss: u32, room: u32): u32 {
  return mss <= room + TCP_MIN_MSS ? mss : mss - room;
}

/**
 * clampMss lowers the MSS option of the server's SYN-ACK at `l4` by `room` bytes (RFC 9293
 * §3.7.1: the largest segment the server takes), so a client segment still fits once it grew.
 * Without the option both sides assume 536 (TCP_DEFAULT_MSS), far below a real path's MTU, so
 * a grown segment still passes: nothing to do.
 */
export function clampMss(l4: usize, room: u32, partial: bool): void {
  const end = l4 + ((<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2);
  let p = l4 + TCP_HLEN;
  while (p < end) {
    const kind = load<u8>(p);
    if (kind == TCPOPT_EOL) return;
    if (kind == TCPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) return;
    const len = <usize>load<u8>(p + 1);
    if (len < 2 || p + len > end) return;
    if (kind == TCPOPT_MSS && len == TCPOLEN_MSS) {
      const from = bswap16(<u32>load<u16>(p + 2));
      const to = lowerMss(from, room);
      if (to == from) return;
      store<u16>(p + 2, <u16>bswap16(to));
      if (!partial) {
        // the field's bytes sit at an odd offset when the options before it are odd: swap
        let delta = (~bswap16(from) & 0xffff) + bswap16(to);
        if (((p + 2 - l4) & 1) != 0) delta = bswap16(<u32>csumFold16(<u64>delta));
        store<u16>(l4 + TCP_CSUM, <u16>csumApply(<u32>load<u16>(l4 + TCP_CSUM), delta));
      }
      return;
    }
    p += len;
  }
}

/** room: bytes a client segment of session `rec` (record `c`) may grow by, for the SYN-ACK's MSS clamp */
export function clientAddrRoom(rec: u32, c: usize, flags: u8): u32 {
  if (clientV6(c)) {
    const x = conn6Address(rec);
    return clientAddrRoomOf(<u32>(x + CONN6_CIP), <u32>(x + CONN6_VIP), <u32>load<u16>(c + CONN_CPORT), <u32>load<u16>(c + CONN_VPORT), flags, true);
  }
  return clientAddrRoomOf(load<u32>(c + CONN_CIP), load<u32>(c + CONN_VIP), <u32>load<u16>(c + CONN_CPORT),
    <u32>load<u16>(c + CONN_VPORT), flags);
}

/**
 * clientAddrRoomOf: clientAddrRoom before the session exists (the SYN proxy's own SYN-ACK, which
 * announces the MSS the client's segments keep to). Addresses and ports in wire order; for an
 * IPv6 client (`v6`) `cip` and `vip` are where its 16-byte addresses are.
 */
export function clientAddrRoomOf(cip: u32, vip: u32, cport: u32, vport: u32, flags: u8, v6: bool = false): u32 {
  let room: u32 = (flags & SVCF_TOA) != 0 ? (v6 ? TCPOLEN_TOA6 : TCPOLEN_TOA) : 0;
  if ((flags & (SVCF_PROXY_V1 | SVCF_PROXY_V2)) != 0) {
    const v2 = (flags & SVCF_PROXY_V2) != 0;
    room += v6 ? proxyLength6Of(cip, vip, cport, vport, v2) : proxyLengthOf(cip, vip, cport, vport, v2);
  }
  return room;
}

/** writeToa writes the TOA option of session `c` (TCPOLEN_TOA bytes: kind, length, port, address) at `p` */
// @ts-ignore: decorator
@inline export function writeToa(p: usize, c: usize): void {
  store<u8>(p, TCPOPT_TOA);
  store<u8>(p + 1, <u8>TCPOLEN_TOA);
  store<u16>(p + 2, load<u16>(c + CONN_CPORT));
  store<u32>(p + 4, load<u32>(c + CONN_CIP));
}

/** writeToa6 writes IPv6 session `rec`'s TOA option (TCPOLEN_TOA6 bytes: kind, length, port, address) at `p` */
export function writeToa6(p: usize, rec: u32, c: usize): void {
  store<u8>(p, TCPOPT_TOA);
  store<u8>(p + 1, <u8>TCPOLEN_TOA6);
  store<u16>(p + 2, load<u16>(c + CONN_CPORT));
  memory.copy(p + 4, conn6Address(rec) + CONN6_CIP, 16);
}

/** proxyHeaderLength: the bytes of PROXY header session `rec` puts ahead of its client's stream (0: none) */
// @ts-ignore: decorator
@inline export function proxyHeaderLength(rec: u32): u32 {
  const x = connxAddress(rec);
  return x != 0 && (<u32>load<u16>(x + CONNX_FLAGS) & CONNXF_PROXY) != 0 ? load<u32>(x + CONNX_SEQ_IN) : 0;
}

/**
 * clientAddrOut looks at a server segment of session `rec` before seqadj translates it: the
 * first one after the SYN-ACK ends TOA; an acknowledgement of the whole PROXY header ends the
 * header's resending.
 */
export function clientAddrOut(rec: u32, l4: usize): void {
  const x = connxAddress(rec);
  if (x == 0) return;
  const f = <u32>load<u16>(x + CONNX_FLAGS);
  if ((f & (CONNXF_TOA | CONNXF_PROXY)) == 0) return;
  const tf = load<u8>(l4 + TCP_FLAGS);
  let g = f;
  if ((tf & TH_SYN) == 0) g &= ~CONNXF_TOA;
  if ((f & CONNXF_PROXY) != 0 && (tf & TH_ACK) != 0) {
    const mark = proxyMark(rec);
    const ack = bswap<u32>(load<u32>(l4 + TCP_ACK));
    if (<i32>(ack - (load<u32>(mark) + load<u32>(x + CONNX_SEQ_IN))) >= 0) g &= ~CONNXF_PROXY;
  }
  if (g != f) store<u16>(x + CONNX_FLAGS, <u16>g);
}

/**
 * clampAckOut: after seqadj, an acknowledgement of only part of the PROXY header (or of none of
 * it) would land before the client's first byte; it means "nothing of yours yet", so it becomes
 * exactly that (as nf_ct_seqadj's offset_before).
 */
export function clampAckOut(rec: u32, l4: usize, partial: bool): void {
  const x = connxAddress(rec);
  if (x == 0 || (<u32>load<u16>(x + CONNX_FLAGS) & CONNXF_PROXY) == 0 || (load<u8>(l4 + TCP_FLAGS) & TH_ACK) == 0) return;
  const first = load<u32>(proxyMark(rec));
  const from = load<u32>(l4 + TCP_ACK);
  if (<i32>(bswap<u32>(from) - first) >= 0) return;
  const to = bswap<u32>(first);
  store<u32>(l4 + TCP_ACK, to);
  if (!partial) {
    const d = (~from & 0xffff) + (~from >>> 16) + (to & 0xffff) + (to >>> 16);
    store<u16>(l4 + TCP_CSUM, <u16>csumApply(<u32>load<u16>(l4 + TCP_CSUM), d));
  }
}

/**
 * clientAddrIn adds TOA and the PROXY header to a client segment of session `rec` (record `c`)
 * that seqadj has translated: IP header (IPv4 or IPv6) at `ip`, TCP at `l4`, the frame's end at `end`, the
 * slot's at `slotEnd`; `vnetHdr` is its virtio header or 0. Returns the bytes the packet grew
 * by, or CLIENTADDR_FAILED | DROP_* when it must be dropped.
 */
export function clientAddrIn(rec: u32, c: usize, ip: usize, l4: usize, end: usize, slotEnd: usize, vnetHdr: usize): u32 {
  const x = connxAddress(rec);
  if (x == 0) return 0;
  const f = <u32>load<u16>(x + CONNX_FLAGS);
  if ((f & (CONNXF_TOA | CONNXF_PROXY)) == 0) return 0;
  const tf = load<u8>(l4 + TCP_FLAGS);
  if ((tf & (TH_SYN | TH_RST)) != 0 || (tf & TH_ACK) == 0) return 0;
  let grown: u32 = 0;
  let dataEnd = end;
  if ((f & CONNXF_TOA) != 0) {
    const doff = (<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2;
    const v6 = clientV6(c);
    const olen: u32 = v6 ? TCPOLEN_TOA6 : TCPOLEN_TOA;
    if (doff + olen > TCP_MAX_HLEN || dataEnd + olen > slotEnd) {
      count(STAT_TOA_NO_ROOM, 1);
    } else {
      // the option goes after the others: the payload moves 8 (IPv6 client: 20) bytes on
      const at = l4 + doff;
      memory.copy(at + olen, at, dataEnd - at);
      if (v6) writeToa6(at, rec, c);
      else writeToa(at, c);
      store<u8>(l4 + TCP_DOFF, <u8>(((doff + olen) >> 2) << 4) | (load<u8>(l4 + TCP_DOFF) & 0x0f));
      dataEnd += olen;
      grown += olen;
      if (vnetHdr != 0 && load<u16>(vnetHdr + VNET_HDR_LEN_FIELD) != 0) {
        store<u16>(vnetHdr + VNET_HDR_LEN_FIELD, load<u16>(vnetHdr + VNET_HDR_LEN_FIELD) + <u16>olen);
      }
      count(STAT_TOA_ADDED, 1);
    }
  }
  if ((f & CONNXF_PROXY) != 0) {
    const first = load<u32>(proxyMark(rec));
    const h = load<u32>(x + CONNX_SEQ_IN);
    // seqadj moved this segment by h: it started at the client's first byte if it now starts h on
    if (bswap<u32>(load<u32>(l4 + TCP_SEQ)) == first + h) {
      const tot = <u32>(dataEnd - ip);
      if (dataEnd + h > slotEnd || tot + h > 0xffff) return CLIENTADDR_FAILED | DROP_PROXY_NO_ROOM;
      const payload = l4 + ((<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2);
      memory.copy(payload + h, payload, dataEnd - payload);
      const svc = <u32>load<u16>(c + CONN_SVC);
      writeProxy(payload, rec, c, (load<u8>(serviceAddress(svc) + SVC_FLAGS) & SVCF_PROXY_V2) != 0);
      store<u32>(l4 + TCP_SEQ, bswap<u32>(first));
      dataEnd += h;
      grown += h;
      count(STAT_PROXY_SENT, 1);
    }
  }
  if (grown == 0) return 0;
  const tot = <u32>(dataEnd - ip);
  const v6 = (load<u8>(ip) >> 4) == 6;
  if (v6) {
    // RFC 8200 §3: the payload length counts everything after the fixed header (extension headers too)
    store<u16>(ip + IP6_PLEN, <u16>bswap16(tot - IP6_HLEN));
  } else {
    store<u16>(ip + IP_TOT_LEN, <u16>bswap16(tot));
    store<u16>(ip + IP_CSUM, 0);
    store<u16>(ip + IP_CSUM, <u16>ipHeaderChecksum(ip, <u32>(l4 - ip)));
  }
  tcpChecksum(ip, l4, <u32>(dataEnd - l4), vnetHdr != 0 && (load<u8>(vnetHdr + VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0, v6);
  return grown;
}

/** tcpChecksum computes the TCP checksum afresh, or the pseudo-header sum a NEEDS_CSUM packet carries. */
function tcpChecksum(ip: usize, l4: usize, len: u32, partial: bool, v6: bool): void {
  // pseudo-header (RFC 9293 §3.1; IPv6: RFC 8200 §8.1): addresses, zero, protocol, TCP length
  // (the upper-layer length's high half is zero: a TCP segment here is below 64 KiB)
  const addrs = v6 ? csumSum(ip + IP6_SRC, 32, 0) : <u64>load<u32>(ip + IP_SRC) + <u64>load<u32>(ip + IP_DST);
  const ph = addrs + <u64>(<u32>IPPROTO_TCP << 8) + <u64>bswap16(len);
  store<u16>(l4 + TCP_CSUM, 0);
  if (partial) {
    store<u16>(l4 + TCP_CSUM, <u16>csumFold16(ph));
  } else {
    store<u16>(l4 + TCP_CSUM, <u16>csumFinish(csumSum(l4, len, ph)));
  }
}

