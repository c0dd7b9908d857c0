// tcp_opts.ts — reading and writing the TCP options of a handshake (RFC 9293 §3.2: MSS; RFC 7323:
// window scale, timestamps; RFC 2018: SACK-permitted). The reader walks the option list of a
// header whose length parse.ts already checked against the frame, stops at the first malformed
// option, and returns a packed summary: no memory is written. The writer lays options out as
// Linux does (MSS, SACK-permitted folded into the timestamp's padding, window scale last).
import {
  TCPOLEN_MSS, TCPOLEN_SACK_PERM, TCPOLEN_TIMESTAMP, TCPOLEN_WSCALE, TCPOPT_EOL, TCPOPT_MSS, TCPOPT_NOP,
  TCPOPT_SACK_PERM, TCPOPT_TIMESTAMP, TCPOPT_WSCALE, TCP_DOFF, TCP_HLEN, TCP_MAX_WSCALE,
} from './wire';
import { bswap16 } from './mem';

// ╒════════════ option summary (u32) ════════════╕
// │ 0..15 MSS (0: none) │ 16..19 window shift    │
// │ 20 window scale │ 21 SACK-permitted │ 22 TS  │
// │ 24..29 offset of the timestamp option in the  │
// │        header (its kind byte), when bit 22    │
// └───────────────────────────────────────────────┘
// @ts-ignore: decorator
@inline export const OPT_HAS_WSCALE: u32 = 1 << 20;
// @ts-ignore: decorator
@inline export const OPT_HAS_SACK: u32 = 1 << 21;
// @ts-ignore: decorator
@inline export const OPT_HAS_TS: u32 = 1 << 22;

// @ts-ignore: decorator
@inline export function optMss(sum: u32): u32 {
  return sum & 0xffff;
}

// @ts-ignore: decorator
@inline export function optWscale(sum: u32): u32 {
  return (sum >>> 16) & 0xf;
}

/** optTs: address of the timestamp option's kind byte (TSval at +2, TSecr at +6), 0 when none */
// @ts-ignore: decorator
@inline export function optTs(l4: usize, sum: u32): usize {
  return (sum & OPT_HAS_TS) != 0 ? l4 + ((sum >>> 24) & 0x3f) : 0;
}

/** readOptions summarises the options of the TCP header at `l4`. */
export function readOptions(l4: usize): u32 {
  const hlen = (<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2;
  let sum: u32 = 0;
  let i: u32 = TCP_HLEN;
  while (i < hlen) {
    const kind = load<u8>(l4 + i);
    if (kind == TCPOPT_EOL) break;
    if (kind == TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= hlen) break;
    const len = <u32>load<u8>(l4 + i + 1);
    // a length that runs past the header, or below 2, ends the walk (Linux tcp_parse_options)
    if (len < 2 || i + len > hlen) break;
    if (kind == TCPOPT_MSS && len == TCPOLEN_MSS) {
      sum = (sum & ~0xffff) | bswap16(<u32>load<u16>(l4 + i + 2));
    } else if (kind == TCPOPT_WSCALE && len == TCPOLEN_WSCALE) {
      let ws = <u32>load<u8>(l4 + i + 2);
      // RFC 7323 §2.3: a shift above 14 is used as 14
      if (ws > TCP_MAX_WSCALE) ws = TCP_MAX_WSCALE;
      sum = (sum & ~(0xf << 16)) | (ws << 16) | OPT_HAS_WSCALE;
    } else if (kind == TCPOPT_SACK_PERM && len == TCPOLEN_SACK_PERM) {
      sum |= OPT_HAS_SACK;
    } else if (kind == TCPOPT_TIMESTAMP && len == TCPOLEN_TIMESTAMP) {
      sum = (sum & ~(0x3f << 24)) | (i << 24) | OPT_HAS_TS;
    }
    i += len;
  }
  return sum;
}

// @ts-ignore: decorator
@inline function put4(p: usize, a: u32, b: u32, c: u32, d: u32): void {
  store<u32>(p, a | (b << 8) | (c << 16) | (d << 24));
}

// @ts-ignore: decorator
@inline function bswap32(v: u32): u32 {
  return bswap<u32>(v);
}

/**
 * writeOptions lays out handshake options at `p`: MSS always, SACK-permitted if `sack`,
 * timestamps (tsval, tsecr) if `ts`, window scale `ws` unless it is negative; returns their
 * length, a multiple of 4 (at most 20).
 */
export function writeOptions(p: usize, mss: u32, sack: bool, ts: bool, tsval: u32, tsecr: u32, ws: i32): u32 {
  put4(p, TCPOPT_MSS, TCPOLEN_MSS, (mss >> 8) & 0xff, mss & 0xff);
  let n: u32 = 4;
  if (ts) {
    put4(p + n, sack ? TCPOPT_SACK_PERM : TCPOPT_NOP, sack ? TCPOLEN_SACK_PERM : TCPOPT_NOP, TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP);
    store<u32>(p + n + 4, bswap32(tsval));
    store<u32>(p + n + 8, bswap32(tsecr));
    n += 12;
  } else if (sack) {
    put4(p + n, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM);
    n += 4;
  }
  if (ws >= 0) {
    put4(p + n, TCPOPT_NOP, TCPOPT_WSCALE, TCPOLEN_WSCALE, <u32>ws);
    n += 4;
  }
  return n;
}

/** writeTimestamps writes NOP, NOP, timestamps (12 bytes): the option of every later segment. */
export function writeTimestamps(p: usize, tsval: u32, tsecr: u32): void {
  put4(p, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP);
  store<u32>(p + 4, bswap32(tsval));
  store<u32>(p + 8, bswap32(tsecr));
}
