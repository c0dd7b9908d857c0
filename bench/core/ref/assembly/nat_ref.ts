// nat_ref.ts — bench:core's minimal WASM reference for the NAT hit path (issue 12), written apart
// from assembly/ (it shares no code with the core) so the bench can say how far the core is from
// the plainest program that does the same job in the same language: find the session of each
// frame of a batch and DNAT it to its real server. bench/core/ref/nat_ref.c is the same
// algorithm in C, line for line; keep the two in step.
//
// A batch is processed in three passes, as the calibration prototype was (docs/design.md):
//   1. parse every frame and hash its 5-tuple into the scratch array;
//   2. load one word of each frame's table bucket (WASM has no prefetch instruction: the loads
//      of a tight loop overlap their cache misses, and pass 3 then finds the lines in cache);
//   3. probe the table, rewrite destination address, port and MACs, and update the IP and
//      TCP/UDP checksums incrementally (RFC 1624 eqn 3: HC' = ~(~HC + ~m + m')).
// What it leaves out of wlvs's hit path: the IP header checksum check, classifying the
// destination (VIP/LIP/DIP), the service lookup, TCP state and timers, counters, events.
//
// Memory (imported, shared as the core's; the host places the regions, see bench/core/ref/ref.ts):
//   descriptors  DESC_SIZE bytes a frame: frame offset u32, length u32, verdict u32 (1 forward,
//                0 drop), unused u32
//   scratch      SCRATCH_SIZE bytes a frame: bucket u32, IP header offset u32 (0: not a candidate)
//   table        2^capLog2 entries of ENTRY_SIZE bytes, open addressing with linear probing:
//     0 src u32 | 4 dst u32 | 8 ports u32 (sport | dport << 16) | 12 proto u32 (0: empty)
//     16 real server address u32 | 20 real server port u16 | 22 real server MAC (6 bytes) | 28 -
// Addresses and ports are kept as loaded from the wire (raw little-endian loads of big-endian
// fields): one's-complement sums do not depend on byte order (RFC 1071 §2(B)).

const DESC_SIZE: usize = 16;
const SCRATCH_SIZE: usize = 8;
const ENTRY_SIZE_LOG2: u32 = 5;
const ETH_HLEN: u32 = 14;
const ETH_P_IP_RAW: u32 = 0x0008; // 0x0800 as a raw little-endian u16 load
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;

let descBase: usize = 0;
let scratchBase: usize = 0;
let tableBase: usize = 0;
let mask: u32 = 0;
/** the sum of pass 2's loads, kept so the loads are not optimised away */
let touchSink: u32 = 0;

export function init(desc: u32, scratch: u32, table: u32, capLog2: u32): void {
  descBase = desc;
  scratchBase = scratch;
  tableBase = table;
  mask = (<u32>1 << capLog2) - 1;
}

// the same mix as the core's flowHash (murmur3's fmix32 finaliser), so the hash costs the same
// @ts-ignore: decorator
@inline function hash(src: u32, dst: u32, ports: u32, proto: u32): u32 {
  let h: u32 = src * 0x9e3779b1;
  h ^= rotl<u32>(dst, 13) * 0x85ebca77;
  h ^= (ports ^ (proto << 8)) * 0xc2b2ae3d;
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

/**
 * insert adds a session (raw wire values; the MAC as its first four and last two bytes, raw).
 * Returns 1, or 0 when the table is full.
 */
export function insert(src: u32, dst: u32, ports: u32, proto: u32, rip: u32, rport: u32, macLo: u32, macHi: u32): u32 {
  let b = hash(src, dst, ports, proto) & mask;
  for (let n: u32 = 0; n <= mask; n++) {
    const e = tableBase + (<usize>b << ENTRY_SIZE_LOG2);
    const p = load<u32>(e, 12);
    if (p == 0 || (load<u32>(e) == src && load<u32>(e, 4) == dst && load<u32>(e, 8) == ports && p == proto)) {
      store<u32>(e, src);
      store<u32>(e, dst, 4);
      store<u32>(e, ports, 8);
      store<u32>(e, proto, 12);
      store<u32>(e, rip, 16);
      store<u16>(e, <u16>rport, 20);
      store<u32>(e, macLo, 22);
      store<u16>(e, <u16>macHi, 26);
      return 1;
    }
    b = (b + 1) & mask;
  }
  return 0;
}

// @ts-ignore: decorator
@inline function fold(sum: u32): u32 {
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

/** applies a sum of (~old + new) 16-bit terms to a checksum field (RFC 1624 eqn 3) */
// @ts-ignore: decorator
@inline function csumUpdate(check: u32, delta: u32): u32 {
  return ~fold((~check & 0xffff) + delta) & 0xffff;
}

/** process forwards the hits among `count` frames and returns how many it forwarded. */
export function process(count: u32): u32 {
  // pass 1: parse and hash
  for (let i: u32 = 0; i < count; i++) {
    const d = descBase + <usize>i * DESC_SIZE;
    const s = scratchBase + <usize>i * SCRATCH_SIZE;
    store<u32>(d, 0, 8);
    store<u32>(s, 0, 4);
    const eth = <usize>load<u32>(d);
    const len = load<u32>(d, 4);
    if (len < ETH_HLEN + 20 + 8 || <u32>load<u16>(eth, 12) != ETH_P_IP_RAW) continue;
    const ip = eth + ETH_HLEN;
    const vihl = <u32>load<u8>(ip);
    const ihl = (vihl & 15) << 2;
    if ((vihl >>> 4) != 4 || ihl < 20) continue;
    // MF or a fragment offset: not a whole datagram (raw u16: byte 6 low, byte 7 high)
    if (<u32>load<u16>(ip, 6) & 0xff3f) continue;
    const total = bswap<u16>(load<u16>(ip, 2));
    const proto = <u32>load<u8>(ip, 9);
    const l4min: u32 = proto == IPPROTO_TCP ? 20 : proto == IPPROTO_UDP ? 8 : 0xffff;
    if (<u32>total < ihl + l4min || ETH_HLEN + <u32>total > len) continue;
    const l4 = ip + ihl;
    store<u32>(s, hash(load<u32>(ip, 12), load<u32>(ip, 16), load<u32>(l4), proto) & mask);
    store<u32>(s, <u32>ip, 4);
  }
  // pass 2: touch every candidate's bucket
  let sink: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const s = scratchBase + <usize>i * SCRATCH_SIZE;
    if (load<u32>(s, 4)) sink += load<u32>(tableBase + (<usize>load<u32>(s) << ENTRY_SIZE_LOG2));
  }
  touchSink = sink;
  // pass 3: look up, rewrite, checksums
  let forwarded: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const s = scratchBase + <usize>i * SCRATCH_SIZE;
    const ip = <usize>load<u32>(s, 4);
    if (!ip) continue;
    const l4 = ip + ((<u32>load<u8>(ip) & 15) << 2);
    const proto = <u32>load<u8>(ip, 9);
    const src = load<u32>(ip, 12);
    const dst = load<u32>(ip, 16);
    const ports = load<u32>(l4);
    let b = load<u32>(s);
    let e: usize = 0;
    while (true) {
      const at = tableBase + (<usize>b << ENTRY_SIZE_LOG2);
      const p = load<u32>(at, 12);
      if (p == 0) break;
      if (load<u32>(at) == src && load<u32>(at, 4) == dst && load<u32>(at, 8) == ports && p == proto) {
        e = at;
        break;
      }
      b = (b + 1) & mask;
    }
    if (!e) continue;
    const rip = load<u32>(e, 16);
    const rport = <u32>load<u16>(e, 20);
    const addrDelta = (~dst & 0xffff) + (~dst >>> 16) + (rip & 0xffff) + (rip >>> 16);
    const portDelta = (~ports >>> 16) + rport;
    store<u16>(ip, <u16>csumUpdate(<u32>load<u16>(ip, 10), addrDelta), 10);
    store<u32>(ip, rip, 16);
    store<u16>(l4, <u16>rport, 2);
    if (proto == IPPROTO_TCP) {
      store<u16>(l4, <u16>csumUpdate(<u32>load<u16>(l4, 16), addrDelta + portDelta), 16);
    } else {
      const c = <u32>load<u16>(l4, 6);
      // a zero UDP checksum means "none" and stays zero; a computed zero goes out as 0xffff
      if (c != 0) {
        const n = csumUpdate(c, addrDelta + portDelta);
        store<u16>(l4, <u16>(n == 0 ? 0xffff : n), 6);
      }
    }
    // the frame leaves from the director's MAC (the one it came to) to the real server's
    const eth = ip - ETH_HLEN;
    store<u32>(eth, load<u32>(eth), 6);
    store<u16>(eth, load<u16>(eth, 4), 10);
    store<u32>(eth, load<u32>(e, 22));
    store<u16>(eth, load<u16>(e, 26), 4);
    store<u32>(descBase + <usize>i * DESC_SIZE, 1, 8);
    forwarded++;
  }
  return forwarded;
}

/** touched: pass 2's sum of loads (read by nothing but the host's check that it ran) */
export function touched(): u32 {
  return touchSink;
}
