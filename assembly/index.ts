// index.ts — the module's exports, and nothing else. Every export takes and returns u32 (a u64
// would cross the boundary as a BigInt: 5.5 ns a call instead of 1.6, docs/design.md).
import { ABI_VERSION } from './abi';
import { BATCH_ALL, BATCH_LEAN, BATCH_REST, deferredFrames, processBatch } from './batch';
import { sweepSessions } from './session';
import { rebuildSched, schedule } from './sched/index';
import { peekReset, peekServer } from './sched/peek';
import { sweepHeld } from './frag';
import { addLocal, indexService, serviceAddress } from './service';
import { addLocal6 } from './service6';
import { exportConn, importConn } from './sync';
import { lockSpins, lockTable, multiLane, readLockTable, readUnlockTable, unlockTable, useLane } from './mem';
import { countLockWait } from './stats';

export function abiVersion(): u32 {
  return ABI_VERSION;
}

/** end of static data: the host checks it lies below HEADER_BASE */
export function staticEnd(): u32 {
  return <u32>__heap_base;
}

/**
 * process handles slots [0, count) of lane `lane` (one lane per data-path worker, its slots,
 * descriptors, counters and event ring); returns forwarded | host << PROCESS_HOST_SHIFT
 */
export function process(lane: u32, count: u32, now: u32): u32 {
  useLane(lane);
  if (!multiLane()) return processBatch(count, now, BATCH_ALL);
  // the lean hits of every worker run at once; whatever may insert, expire or change a state
  // runs alone, after (batch.ts BATCH_LEAN)
  readLockTable();
  countLockWait(lockSpins());
  let r = processBatch(count, now, BATCH_LEAN);
  readUnlockTable();
  if (deferredFrames() == 0) return r;
  lockTable();
  countLockWait(lockSpins());
  r += processBatch(count, now, BATCH_REST);
  unlockTable();
  return r;
}

/** sweep expires up to `budget` records whose timeout has passed (and held fragments past theirs); returns how many records */
export function sweep(lane: u32, budget: u32, now: u32): u32 {
  useLane(lane);
  const locked = lockTable();
  if (locked) countLockWait(lockSpins());
  sweepHeld(now);
  const r = sweepSessions(budget, now);
  if (locked) unlockTable();
  return r;
}

/** rebuildService recomputes scheduler state (wrr, sh/dh/mh tables) of service `svc` */
export function rebuildService(svc: u32): u32 {
  useLane(0);
  return rebuildSched(svc);
}

/**
 * pickRealServer runs the scheduler of service `svc` for a client (cip, cport and daddr in wire
 * order, as in a packet) without creating a session; returns a real-server index or NO_RS
 */
export function pickRealServer(svc: u32, cip: u32, cport: u32, daddr: u32): u32 {
  useLane(0);
  return schedule(serviceAddress(svc), cip, <u16>cport, daddr);
}

/**
 * importSession creates or refreshes the session described by the event record the host wrote
 * at `ptr` (session sync from the master director); returns SYNC_*
 */
export function importSession(ptr: u32, now: u32): u32 {
  useLane(0);
  return importConn(<usize>ptr, now);
}

/** exportSession writes session record `rec` as an event record at `ptr` if it is a live connection (1), else 0 */
export function exportSession(rec: u32, ptr: u32, now: u32): u32 {
  useLane(0);
  return exportConn(rec, <usize>ptr, now);
}

/** addLocalAddress records an owned address (wire order) of kind LOCAL_* bits; 0, or 1 if the table is full */
export function addLocalAddress(addr: u32, kind: u32): u32 {
  useLane(0);
  return addLocal(addr, kind);
}

/** indexServiceRecord adds service `svc` to the (vip, vport, proto) index after the host cleared it; 0, or 1 if full */
export function indexServiceRecord(svc: u32): u32 {
  useLane(0);
  return indexService(svc);
}

/** addLocalAddress6 records an owned IPv6 address (16 bytes the host wrote at `ptr`) of kind LOCAL_* bits; 0, or 1 if the table is full */
export function addLocalAddress6(ptr: u32, kind: u32): u32 {
  useLane(0);
  return addLocal6(<usize>ptr, kind);
}

/**
 * peekRealServer is pass 2's prediction (sched/peek.ts) of the server the next new connection of
 * a batch to service `svc` gets (a first call with `reset` 1 starts a batch); NO_RS when none
 */
export function peekRealServer(svc: u32, cip: u32, cport: u32, daddr: u32, reset: u32): u32 {
  useLane(0);
  if (reset != 0) peekReset();
  return peekServer(svc, serviceAddress(svc), cip, <u16>cport, daddr);
}
