// seqadj.ts — sequence-number and timestamp translation for sessions whose two halves do not
// share one byte stream or one clock: the director inserted bytes into the client's stream
// (PROXY protocol header), or answered the handshake itself (SYN proxy), so the client and the
// real server know different ISNs or timestamp clocks. The deltas live in the session's
// extension record (abi.ts "session extension"); a session without CONNXF_SEQ/CONNXF_TS pays one
// load and a branch. It never changes a segment's length, only fields inside it, with RFC 1624
// incremental checksum updates.
import {
  CONNXF_SEQ, CONNXF_TS, CONNX_FLAGS, CONNX_SEQ_IN, CONNX_SEQ_OUT, CONNX_SIZE, CONNX_TS, HDR_CONNX_BASE,
} from './abi';
import { csumApply, csumDelta32 } from './csum';
import { bswap16, hdr } from './mem';
import {
  TCPOPT_EOL, TCPOPT_NOP, TCPOPT_SACK, TCPOPT_TIMESTAMP, TCP_ACK, TCP_CSUM, TCP_DOFF, TCP_FLAGS, TCP_HLEN, TCP_SEQ,
  TH_ACK,
} from './wire';

/** connxAddress: the extension record of session `rec`, or 0 when the director has none. */
// @ts-ignore: decorator
@inline export function connxAddress(rec: u32): usize {
  const base = hdr(HDR_CONNX_BASE);
  return base == 0 ? 0 : <usize>(base + rec * CONNX_SIZE);
}

/** clearConnx zeroes the extension record of a record being handed out. */
// @ts-ignore: decorator
@inline export function clearConnx(rec: u32): void {
  const x = connxAddress(rec);
  if (x != 0) memory.fill(x, 0, CONNX_SIZE);
}

/**
 * addWire32 adds `delta` to the big-endian u32 at `p` and returns the checksum delta of the
 * change as seen by a sum that starts at an even (`odd` false) or odd offset of the segment.
 */
// @ts-ignore: decorator
@inline function addWire32(p: usize, delta: u32, odd: bool): u32 {
  const from = load<u32>(p);
  const to = bswap<u32>(bswap<u32>(from) + delta);
  store<u32>(p, to);
  const d = csumDelta32(from, to);
  if (!odd) return d;
  // a field at an odd offset lands in the other byte of every 16-bit word: its contribution to
  // the one's-complement sum is the byte-swapped one (RFC 1071 §2(B))
  const f = (d & 0xffff) + (d >>> 16);
  return bswap16((f & 0xffff) + (f >>> 16));
}

/**
 * seqAdjust translates one TCP segment of session `rec` travelling in direction `out` (false:
 * client -> RS). `l4` is its TCP header (complete: parse.ts checked the data offset); `partial`
 * means the checksum field holds a pseudo-header sum (virtio NEEDS_CSUM), which these fields are
 * not part of. Sessions without translation pay a load and a branch, inlined.
 */
// @ts-ignore: decorator
@inline export function seqAdjust(rec: u32, l4: usize, out: bool, partial: bool): void {
  const x = connxAddress(rec);
  if (x != 0 && (<u32>load<u16>(x + CONNX_FLAGS) & (CONNXF_SEQ | CONNXF_TS)) != 0) translate(x, l4, out, partial);
}

function translate(x: usize, l4: usize, out: bool, partial: bool): void {
  const flags = <u32>load<u16>(x + CONNX_FLAGS);
  let sum: u32 = 0;
  let sackDelta: u32 = 0;
  if (flags & CONNXF_SEQ) {
    // this direction's own sequence space, and the other direction's in its ack and SACK edges
    const seqDelta = load<u32>(x + (out ? CONNX_SEQ_OUT : CONNX_SEQ_IN));
    sackDelta = 0 - load<u32>(x + (out ? CONNX_SEQ_IN : CONNX_SEQ_OUT));
    if (seqDelta != 0) sum += addWire32(l4 + TCP_SEQ, seqDelta, false);
    if (sackDelta != 0 && (load<u8>(l4 + TCP_FLAGS) & TH_ACK) != 0) sum += addWire32(l4 + TCP_ACK, sackDelta, false);
  }
  // the server's TSval runs on its own clock; the client's TSecr echoes the clock it saw
  const tsDelta: u32 = (flags & CONNXF_TS) != 0 ? (out ? load<u32>(x + CONNX_TS) : 0 - load<u32>(x + CONNX_TS)) : 0;
  if (sackDelta != 0 || tsDelta != 0) sum += adjustOptions(l4, sackDelta, tsDelta, out);
  if (sum != 0 && !partial) store<u16>(l4 + TCP_CSUM, <u16>csumApply(<u32>load<u16>(l4 + TCP_CSUM), sum));
}

/**
 * adjustOptions walks the TCP options once: SACK edges get `sackDelta`; the timestamp option's
 * TSval (`tsval` true) or TSecr gets `tsDelta`. Returns the checksum delta. A malformed option
 * list ends the walk (the segment goes on with what was done so far, as a router would pass it).
 */
function adjustOptions(l4: usize, sackDelta: u32, tsDelta: u32, tsval: bool): u32 {
  const end = l4 + ((<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2);
  let p = l4 + TCP_HLEN;
  let sum: u32 = 0;
  while (p < end) {
    const kind = load<u8>(p);
    if (kind == TCPOPT_EOL) break;
    if (kind == TCPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = <usize>load<u8>(p + 1);
    if (len < 2 || p + len > end) break;
    const odd = ((p - l4) & 1) != 0;
    if (kind == TCPOPT_SACK && sackDelta != 0) {
      // kind, length, then 8-byte blocks of left and right edge
      for (let b = p + 2; b + 8 <= p + len; b += 8) {
        sum += addWire32(b, sackDelta, odd);
        sum += addWire32(b + 4, sackDelta, odd);
      }
    } else if (kind == TCPOPT_TIMESTAMP && tsDelta != 0 && len == 10) {
      sum += addWire32(tsval ? p + 2 : p + 6, tsDelta, odd);
    }
    p += len;
  }
  return sum;
}
