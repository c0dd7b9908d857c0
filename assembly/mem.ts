// mem.ts — raw memory helpers for the data path. Bounds-checked containers ran at 0.58–0.71× of
// raw load/store here (docs/design.md), so tables are plain memory reached through these.
// Nothing here allocates.
import { HDR_LANE_BASE, HEADER_BASE, HEADER_SIZE } from './abi';

// the current lane's header (issue 12): set by every export at entry (useLane), so it is never
// state carried from one call to the next; each worker thread has its own instance, hence its own
// global. Lane 0's lane header is the header itself.
let laneHdr: usize = HEADER_BASE;
let laneIdx: u32 = 0;

/** useLane points the lane-scoped header fields at lane `lane` (0 = the header itself) */
export function useLane(lane: u32): void {
  laneIdx = lane;
  laneHdr = lane == 0 ? <usize>HEADER_BASE : <usize>(load<u32>(<usize>(HEADER_BASE + HDR_LANE_BASE)) + (lane - 1) * HEADER_SIZE);
}

// @ts-ignore: decorator
@inline export function currentLane(): u32 {
  return laneIdx;
}

// @ts-ignore: decorator
@inline export function laneHeader(): usize {
  return laneHdr;
}

/** lhdr reads a lane-scoped header field (abi.ts lists them) of the current lane */
// @ts-ignore: decorator
@inline export function lhdr(field: u32): u32 {
  return load<u32>(laneHdr + field);
}

// @ts-ignore: decorator
@inline export function setLhdr(field: u32, value: u32): void {
  store<u32>(laneHdr + field, value);
}

/** hdr reads a u32 header field (offsets HDR_* from abi.ts). */
// @ts-ignore: decorator
@inline export function hdr(field: u32): u32 {
  return load<u32>(<usize>(HEADER_BASE + field));
}

// @ts-ignore: decorator
@inline export function setHdr(field: u32, value: u32): void {
  store<u32>(<usize>(HEADER_BASE + field), value);
}

/** bswap16 turns a wire-order u16 (as loaded on this little-endian machine) into its value. */
// @ts-ignore: decorator
@inline export function bswap16(v: u32): u32 {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** add64 adds to a u64 counter in memory. */
// @ts-ignore: decorator
@inline export function add64(p: usize, v: u64): void {
  store<u64>(p, load<u64>(p) + v);
}

/** copy6 copies a MAC address. */
// @ts-ignore: decorator
@inline export function copy6(dst: usize, src: usize): void {
  store<u32>(dst, load<u32>(src));
  store<u16>(dst + 4, load<u16>(src + 4));
}

/** wrap-safe "a is at or before b" for u32 millisecond clocks (valid for spans < 24 days) */
// @ts-ignore: decorator
@inline export function timeReached(deadline: u32, now: u32): bool {
  return <i32>(now - deadline) >= 0;
}

/** copy16 copies an IPv6 address. */
// @ts-ignore: decorator
@inline export function copy16(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst + 8, load<u64>(src + 8));
}

/** eq16: two IPv6 addresses are equal */
// @ts-ignore: decorator
@inline export function eq16(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a + 8) == load<u64>(b + 8);
}

/** zero16: the address is :: */
// @ts-ignore: decorator
@inline export function zero16(a: usize): bool {
  return (load<u64>(a) | load<u64>(a + 8)) == 0;
}

/**
 * fold6 folds an IPv6 address into the u32 the 4-byte address slots hold (service index key,
 * Maglev id, LIP table): the XOR of its four little-endian words, 1 if that is 0 (0 means empty).
 * src/model/address.ts computes the same.
 */
// @ts-ignore: decorator
@inline export function fold6(a: usize): u32 {
  const x = load<u32>(a) ^ load<u32>(a + 4) ^ load<u32>(a + 8) ^ load<u32>(a + 12);
  return x == 0 ? 1 : x;
}
