// port.ts — what the director needs from device I/O, and nothing more: open and close its
// devices, and one batched port per memory that moves frames between the devices and the frame
// slots and runs the WASM core on each batch. Two implementations: the native engine (device.ts
// `nativeIo`: a data-path worker thread over native/wlvs_io.c, worker-port.ts) and a fake for
// tests without root (fake-io.ts) that runs the same batch loop on the test's thread.
//
// The contract of a batch (docs: DESIGN "Batches, not packets"), which every implementation keeps:
//  1. Frames of ONE device are read straight into slots of the memory: slot s's frame starts at
//     slotBase + s * slotSize + headroom; with a virtio header (vnet) its 10 bytes sit just
//     before. Descriptor i (abi.DESC_*) gets off, len, verdict 0, inDev = outDev = device. Which
//     slot holds frame i is the port's choice (epoll: slot i; io_uring: whichever slot the
//     kernel filled; the fake: slot count-1-i, so tests never rely on it): read off.
//  2. The port's own instance of the core runs process() once on them (dataplane/worker.ts
//     BatchLoop) and hands HOST frames (copies) to `onHost`; nothing else touches the slots.
//  3. Then every slot whose verdict is FORWARD is written to its descriptor's outDev (with the
//     vnet header before it when the port is vnet); others are dropped. A descriptor pointing
//     outside the memory, or at a device that does not exist, is counted, not written.
//  4. Between batches the port runs the core's expiry sweep (every SWEEP_INTERVAL_MS).
//  5. The memory never grows: the port keeps views or pointers into it.
//
// The control plane's hand-over: the director writes tables (and runs its own instance of the
// core on them: scheduler rebuilds, session import/export) only inside exclusive(fn), which
// returns once no batch is running and keeps the next one from starting until fn returns. On the
// native engine that is a pause/resume barrier through Atomics on a control block
// (control-block.ts): one batch boundary of latency per change, and changes are rare
// (configuration, health verdicts, neighbours, failover), so nothing is doubled or versioned in
// the memory. Session events are the exception: the core publishes them through a
// single-producer ring (assembly/events.ts) the director drains without pausing anything.

import type { BatchStats, HostHandler } from '../dataplane/worker.js';
import type { Layout } from '../dataplane/memory-map.js';
import type { IoEngine } from '../model/spec.js';

/** Options for opening one TUN or TAP device. */
export interface DeviceOptions {
  name: string;
  kind: 'tap' | 'tun';
  mtu: number;
  bridge: string | null;
  /** IFF_VNET_HDR: the kernel hands over partial checksums */
  vnet: boolean;
  /** with vnet: also accept TSO and USO super-packets (up to 64 KiB) */
  tso: boolean;
  /** TAP: the MAC wlvs answers with on the segment; the device's own MAC is derived from it (tapDeviceMac) */
  directorMac?: string;
  /** one queue per data-path worker (default 1); more than one makes a multi-queue device */
  queues?: number;
  /** frames the kernel queues for the director before it drops (default: the kernel's) */
  txqueuelen?: number;
  /** with more than one queue: steer frames by flow hash (steering eBPF) rather than the kernel's flow table */
  steering?: boolean;
}

/** An open device; `fd` means something only to the implementation that opened it. */
export interface OpenDevice {
  name: string;
  kind: 'tap' | 'tun';
  fd: number;
  /** the fd of each queue (queue i is served by worker i; queues[0] === fd); absent: just `fd` */
  queues?: number[];
  vnet: boolean;
  /** the kernel hands over UDP super-packets (TUN_F_USO4/6 taken: with tso, on Linux 6.2 and later) */
  udpSegmentation?: boolean;
  /** multi-queue only: "flow-hash", or why the kernel's flow table picks the queues ("kernel: ...") */
  steering?: string;
}

/** Where the slots and descriptors lie in the memory (see memory-map.ts). */
export interface PortLayout {
  descBase: number; slotBase: number; slotSize: number; headroom: number; slotCount: number;
  /** keep reading every device this long after a batch instead of sleeping (0: off, at most 1000) */
  busyPollUs?: number;
  /** director.io_engine (absent: epoll) */
  engine?: IoEngine;
}

/** which engine a port's worker runs; on epoll by auto, why not io_uring */
export interface EngineInfo { engine: 'io_uring' | 'epoll'; reason?: string }

export interface PortStats {
  /** sleeps that ended with frames to read */
  wakeups: number; batches: number; rxFrames: number; txFrames: number; txDrops: number; rxErrors: number;
  txErrors: number; badDescriptors: number; maxBatch: number; hostSent: number;
  /** batches found while busy polling, each one a wakeup saved */
  busyPollBatches: number;
  /** system calls of the data-path loop (epoll_wait, read, write; or io_uring_enter) */
  syscalls: number;
}

/** What a port runs and where its time comes from. */
export interface PortOptions {
  layout: Layout;
  /** director.busy_poll_us */
  busyPollUs: number;
  /** director.io_engine (absent: epoll) */
  ioEngine?: IoEngine;
  /** data-path workers (director.workers, default 1): one per device queue, lane i of the layout each */
  workers?: number;
  /** the compiled core; the port instantiates its own copy over the memory */
  core: WebAssembly.Module;
  /** the data path's clock in milliseconds (u32, wrap-safe), for a port on this thread */
  now: () => number;
  /**
   * the same clock for a port on another thread: `now` is performance.timeOrigin +
   * performance.now() - clockOrigin there; null when `now` is a test's fake clock
   */
  clockOrigin: number | null;
  /** HOST frames of a batch (copies): on the native engine they arrive a moment after the batch */
  onHost: HostHandler;
  /** the data path failed (a trap in a debug core, a dead worker): nothing more will be forwarded */
  onError: (err: Error) => void;
}

/** BatchPort moves batches of frames between devices and the slots of one memory and runs the core on them. */
export interface BatchPort {
  /** addDevice registers an open device (all of a port's devices share the vnet setting); returns its index */
  addDevice(device: OpenDevice): number;
  /** start begins reading; it resolves once batches flow (the port's core is instantiated) */
  start(): Promise<void>;
  /**
   * exclusive runs `fn` while no batch runs (contract above) and returns its result; nested
   * calls run inside the outer one. WLVS_ERR_ENGINE when the data path does not pause.
   */
  exclusive<T>(fn: () => T): T;
  /** setCore: from the next batch on the port runs `core` (call it inside exclusive) */
  setCore(core: WebAssembly.Module): void;
  /** send writes one frame the host built (ARP, ICMP) to a device; false if it was dropped */
  send(device: number, frame: Uint8Array): boolean;
  /** stats and batchStats: summed over the port's workers */
  stats(): PortStats;
  batchStats(): BatchStats;
  /** the engine of each worker (index = lane), known once started; a port without workers leaves it out */
  engines?(): EngineInfo[];
  /** each worker's own counters (index = worker = lane); a port without workers leaves it out */
  workerStats?(): { port: PortStats; batch: BatchStats }[];
  /** stop ends reading and waits until no batch runs (safe twice); the devices stay open */
  stop(): Promise<void>;
}

/** DeviceIo opens devices and creates ports: the director's whole view of device I/O. */
export interface DeviceIo {
  /** openDevice creates the device and brings it up (MTU, bridge); WLVS_ERR_DEVICE on failure */
  openDevice(o: DeviceOptions): Promise<OpenDevice>;
  /** closeDevice closes it; the (non-persistent) device then disappears */
  closeDevice(d: OpenDevice): void;
  createPort(memory: WebAssembly.Memory, options: PortOptions): BatchPort;
}

/** portLayout: the part of the memory layout a port of lane `lane` (one per worker) reads into */
export function portLayout(o: PortOptions, lane = 0): PortLayout {
  const { layout } = o;
  const l = layout.lanes[lane];
  if (!l) throw new RangeError(`lane ${lane} outside the layout's ${layout.lanes.length} lanes`);
  return {
    descBase: l.descriptors.base, slotBase: l.slots.base, slotSize: layout.slotSize,
    headroom: layout.headroom, slotCount: layout.caps.slotCount, busyPollUs: o.busyPollUs,
    ...(o.ioEngine ? { engine: o.ioEngine } : {}),
  };
}

/** framingOf: how a device frames what the core reads */
export function framingOf(d: OpenDevice): { l2: boolean; vnet: boolean } {
  return { l2: d.kind === 'tap', vnet: d.vnet };
}
