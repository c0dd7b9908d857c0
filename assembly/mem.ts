// mem.ts — raw memory helpers for the data path. Bounds-checked containers ran at 0.58–0.71× of
// raw load/store here (docs/design.md), so tables are plain memory reached through these.
// Nothing here allocates.
import { HDR_LANE_BASE, HDR_LANE_COUNT, HDR_TABLE_LOCK, HEADER_BASE, HEADER_SIZE } from './abi';

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

// The session-table lock word (issue 12): a readers-writer lock with writer preference.
// Bits 0-29 count the workers reading (the lean hit path of pass 3, which changes no index slot
// and no record but its timer and the client's MAC); TABLE_WRITER is set while one worker holds
// it alone (everything that inserts, expires or changes state); TABLE_WAITING stops new readers
// while a writer waits, so a steady stream of hits never starves a SYN.
// @ts-ignore: decorator
@inline const TABLE_WRITER: u32 = 0x80000000;
// @ts-ignore: decorator
@inline const TABLE_WAITING: u32 = 0x40000000;
// spins before a waiter sleeps: a batch holds the lock for microseconds, but a holder the kernel
// preempted (two cores shared with other work) holds it for a time slice, and a waiter that
// spins through it burns the core the holder needs
// @ts-ignore: decorator
@inline const SPINS_BEFORE_SLEEP: u32 = 4096;
// @ts-ignore: decorator
@inline const SLEEP_NS: i64 = 20_000;

// @ts-ignore: decorator
@inline function lockWord(): usize {
  return <usize>(HEADER_BASE + HDR_TABLE_LOCK);
}

/** multiLane: more than one lane shares the table, so it takes a lock (one lane: no atomic at all) */
// @ts-ignore: decorator
@inline export function multiLane(): bool {
  return load<u32>(<usize>(HEADER_BASE + HDR_LANE_COUNT)) > 1;
}

/** the tries the last lockTable or readLockTable of this thread needed before it got the lock (0: free at once) */
let lastSpins: u32 = 0;

/** lockSpins: lastSpins (process() counts the waits and sleeps they mean) */
export function lockSpins(): u32 {
  return lastSpins;
}

/** sleepsOf: how many of `spins` tries slept (backoff) */
// @ts-ignore: decorator
@inline export function sleepsOf(spins: u32): u32 {
  return spins >= SPINS_BEFORE_SLEEP ? spins - SPINS_BEFORE_SLEEP + 1 : 0;
}

/** backoff waits a little for the lock word to change from `seen` after `spins` tries */
// @ts-ignore: decorator
@inline function backoff(spins: u32, seen: u32): void {
  // memory.atomic.wait32 with a timeout: nobody notifies, the sleep only yields the core
  if (spins >= SPINS_BEFORE_SLEEP) atomic.wait<i32>(lockWord(), <i32>seen, SLEEP_NS);
}

/**
 * lockTable takes the session-table lock alone when the layout has more than one lane (returns
 * true): it announces itself (TABLE_WAITING, so no new reader enters), then waits until no
 * reader and no writer holds it. One lane: no atomic at all, the single-worker path is unchanged.
 */
export function lockTable(): bool {
  if (!multiLane()) return false;
  const at = lockWord();
  let spins: u32 = 0;
  while (true) {
    const v = atomic.load<u32>(at);
    if ((v & ~TABLE_WAITING) == 0) {
      // free: take it (clearing TABLE_WAITING; another waiting writer sets it again)
      if (atomic.cmpxchg<u32>(at, v, TABLE_WRITER) == v) {
        lastSpins = spins;
        return true;
      }
      continue;
    }
    if ((v & TABLE_WAITING) == 0) atomic.or<u32>(at, TABLE_WAITING);
    backoff(++spins, v);
  }
  return true;
}

/** unlockTable releases the lock lockTable took (an atomic: everything written under it is published first) */
export function unlockTable(): void {
  atomic.and<u32>(lockWord(), ~TABLE_WRITER);
}

/**
 * readLockTable takes the lock shared with other readers, once no writer holds it or waits for
 * it; only process() takes it, and only when multiLane()
 */
export function readLockTable(): void {
  const at = lockWord();
  let spins: u32 = 0;
  while (true) {
    const v = atomic.load<u32>(at);
    if ((v & (TABLE_WRITER | TABLE_WAITING)) == 0) {
      if (atomic.cmpxchg<u32>(at, v, v + 1) == v) {
        lastSpins = spins;
        return;
      }
      continue;
    }
    backoff(++spins, v);
  }
}

/** readUnlockTable drops this reader */
export function readUnlockTable(): void {
  atomic.sub<u32>(lockWord(), 1);
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
