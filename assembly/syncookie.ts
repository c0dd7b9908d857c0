// syncookie.ts — SYN cookies (RFC 4987 §3.6) in Linux's encoding (net/ipv4/syncookies.c): the
// initial sequence number of the director's SYN-ACK is
//   H(k0; saddr, daddr, ports, 0) + client ISN + (count << 24) + ((H(k1; ..., count) + data) mod 2^24)
// where count is the period counter and data the index of the client's MSS in MSSTAB. When the
// client sent timestamps, its window scale, SACK-permitted and ECN bits travel in the low 6 bits
// of our timestamp value, which it echoes in every segment (cookie_init_timestamp). wlvs goes one
// step further for clients without timestamps (Windows by default): their window scale and SACK
// go into `data` too (7 bits instead of 2, as FreeBSD's cookies carry them), so they keep window
// scaling, where Linux would drop it; a forged ACK still passes with odds 2^-24 instead of 2^-29.
// Two deviations from Linux, both deliberate: the keys come from the host and change every
// period (HDR_COOKIE_KEYS), where Linux draws its secrets once per boot; and the hash over the
// counter-free words uses the period's key too, so validation tries the current and the previous
// period (at most four SipHash calls, only for sessionless ACKs to a SYN-proxy service).
// A third: `data` goes in doubled (its lowest bit always 0). The sums are additive, so in Linux an
// acknowledgement or an ISN off by one passes as a neighbouring MSS; a server never has to care,
// but the proxy must tell the handshake's ACK (seq = ISN + 1) from a window probe (seq = ISN)
// when the ACK was lost, and with an even `data` only the right reading verifies.
// Addresses and ports are the raw wire-order words the packet holds, as in Linux.
// IPv6 (net/ipv6/syncookies.c) differs only in the hash and the MSS table: H is SipHash of the
// 40 bytes (saddr, daddr, count, sport, dport), and MSSTAB6 is Linux's IPv6 table. Every function
// takes `v6`; with it, `saddr` and `daddr` are the addresses of the 16-byte addresses.
import { COOKIE_KEYS_SIZE, HDR_COOKIE_COUNT, HDR_COOKIE_KEYS, HEADER_BASE } from './abi';
import { hdr } from './mem';
import { siphash40, siphash4u32 } from './siphash';

// @ts-ignore: decorator
@inline const COOKIEBITS: u32 = 24;
// @ts-ignore: decorator
@inline const COOKIEMASK: u32 = (1 << 24) - 1;
/** a cookie older than this many periods is refused (Linux MAX_SYNCOOKIE_AGE) */
// @ts-ignore: decorator
@inline const MAX_AGE: u32 = 2;
/** cookieCheck's answer for a cookie that does not verify */
// @ts-ignore: decorator
@inline export const COOKIE_BAD: u32 = 0xffffffff;
/** the low bits of the timestamp value that carry options (Linux TSBITS) */
// @ts-ignore: decorator
@inline export const TS_OPT_BITS: u32 = 6;
/** window-scale field value meaning "the client sent no window scale" */
// @ts-ignore: decorator
@inline export const WSCALE_NONE: u32 = 0xf;
// @ts-ignore: decorator
@inline export const TS_OPT_SACK: u32 = 0x10;
// @ts-ignore: decorator
@inline export const TS_OPT_ECN: u32 = 0x20;
/** `data` limits: MSS index only (the options are in the timestamp), or MSS, SACK and window scale */
// @ts-ignore: decorator
@inline export const DATA_LIMIT_TS: u32 = 4;
// @ts-ignore: decorator
@inline export const DATA_LIMIT_NO_TS: u32 = 128;

// Linux's table, from "An Analysis of TCP Maximum Segment Sizes" (Alcock, Nelson 2011): most
// announced MSS values are 1460, then 1300-1349, then 1440/1452 (PPPoE); sorted ascending
const MSSTAB: usize = memory.data<u16>([536, 1300, 1440, 1460]);
// Linux's IPv6 table (net/ipv6/syncookies.c msstab): the minimum MTU (RFC 8200 §5), tunnels
// (1480), Ethernet, jumbo frames, each less the 60 bytes of IPv6 and TCP headers
const MSSTAB6: usize = memory.data<u16>([1220, 1420, 1440, 8940]);

/** mssIndex: the largest table entry not above `mss` (0 when below all: the cookie then says its first) */
export function mssIndex(mss: u32, v6: bool = false): u32 {
  const tab = v6 ? MSSTAB6 : MSSTAB;
  for (let i: u32 = 3; i > 0; i--) {
    if (mss >= <u32>load<u16>(tab + (i << 1))) return i;
  }
  return 0;
}

// @ts-ignore: decorator
@inline export function mssOfIndex(i: u32, v6: bool = false): u32 {
  return <u32>load<u16>((v6 ? MSSTAB6 : MSSTAB) + ((i & 3) << 1));
}

/** keyAt: where the two keys of period `count` live */
// @ts-ignore: decorator
@inline function keyAt(count: u32): usize {
  return <usize>(HEADER_BASE + HDR_COOKIE_KEYS + (count & 1) * COOKIE_KEYS_SIZE);
}

/**
 * cookieHash is Linux's cookie_hash, low 32 bits: IPv4 SipHash of (saddr, daddr, sport << 16 |
 * dport, count); IPv6 of the struct (saddr, daddr, count, sport, dport).
 */
// @ts-ignore: decorator
@inline function cookieHash(key: usize, saddr: u32, daddr: u32, ports: u32, count: u32, v6: bool): u32 {
  // the IPv6 struct's last 8 bytes: count, then the raw big-endian ports as the packet holds them
  if (v6) return <u32>siphash40(load<u64>(key), load<u64>(key + 8), saddr, daddr, <u64>count | (<u64>ports << 32));
  // Linux hashes (__force u32)sport << 16 | dport of the raw big-endian fields; `ports` is the raw
  // load sport | dport << 16
  return <u32>siphash4u32(load<u64>(key), load<u64>(key + 8), saddr, daddr, rotr<u32>(ports, 16), count);
}

/**
 * cookieMake returns the SYN-ACK sequence number for the client's SYN (saddr:sport -> daddr:dport,
 * ISN `sseq`) carrying `data` (< 2^23), in the current period.
 */
export function cookieMake(saddr: u32, daddr: u32, ports: u32, sseq: u32, data: u32, v6: bool = false): u32 {
  const count = hdr(HDR_COOKIE_COUNT);
  const key = keyAt(count);
  return cookieHash(key, saddr, daddr, ports, 0, v6) + sseq + (count << COOKIEBITS) +
    ((cookieHash(key + 16, saddr, daddr, ports, count, v6) + (data << 1)) & COOKIEMASK);
}

/**
 * cookieCheck verifies `cookie` (the client's acknowledgement minus 1) for the client's ISN
 * `sseq` and returns the data it carries when that is below `limit`, else COOKIE_BAD. Cookies of
 * the current and the previous period are accepted.
 */
export function cookieCheck(cookie: u32, saddr: u32, daddr: u32, ports: u32, sseq: u32, limit: u32, v6: bool = false): u32 {
  const now = hdr(HDR_COOKIE_COUNT);
  for (let age: u32 = 0; age < MAX_AGE; age++) {
    const count = now - age;
    const key = keyAt(count);
    const rest = cookie - cookieHash(key, saddr, daddr, ports, 0, v6) - sseq;
    // the top 8 bits must name this period, as Linux's check_tcp_syn_cookie requires
    if ((rest >>> COOKIEBITS) != (count & 0xff)) continue;
    const data = (rest - cookieHash(key + 16, saddr, daddr, ports, count, v6)) & COOKIEMASK;
    if ((data & 1) == 0 && (data >> 1) < limit) return data >> 1;
  }
  return COOKIE_BAD;
}

/**
 * tsEncode is Linux's cookie_init_timestamp: our timestamp value (1 ms clock `now`) with the
 * options in its low 6 bits, never ahead of the clock.
 */
export function tsEncode(now: u32, options: u32): u32 {
  let ts = (now & ~((<u32>1 << TS_OPT_BITS) - 1)) | options;
  if (ts > now) ts -= <u32>1 << TS_OPT_BITS;
  return ts;
}
