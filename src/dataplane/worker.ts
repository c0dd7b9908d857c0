// worker.ts — the batch loop's JavaScript side, run by whatever thread owns the data path (the
// data-path worker of src/io, or the test's own thread with the fake port): the port has read a
// batch of frames straight into the slots; this sets the batch header, calls the core once,
// hands the rare HOST frames on, and returns so the port writes the FORWARD frames. It also runs
// the incremental expiry sweep between batches. JS never loops over packets here except to find
// HOST frames, and only when the core reported some.
import * as abi from './abi.js';
import type { CoreExports } from './abi.js';
import type { Layout } from './memory-map.js';

/** What the host does with frames the core handed to it (ARP, ICMP echo, anything for a DIP): copies. */
export type HostHandler = (device: number, frames: Uint8Array[]) => void;

/** Writes one frame the core built or kept beside a batch (an emit slot, a released fragment) to a device at once. */
export type EmitSender = (device: number, frame: Uint8Array) => void;

export interface DeviceFraming { l2: boolean; vnet: boolean }

/** Per-batch figures for metrics: sizes and processing time. */
export interface BatchStats {
  batches: number;
  frames: number;
  hostFrames: number;
  /** histogram of batch sizes: bucket k counts batches of size in (2^(k-1), 2^k] */
  sizeBuckets: number[];
  /** histogram of process() time: bucket k counts batches taking up to 2^k µs */
  timeBuckets: number[];
  /** total nanoseconds spent in process() */
  processNs: number;
  maxProcessNs: number;
  /** frames the core built in emit slots and the loop sent */
  emitted: number;
}

const BUCKETS = 14;
// the batch-stats block: a Float64Array another thread may read while the loop writes it
const BS_BATCHES = 0;
const BS_FRAMES = 1;
const BS_HOST = 2;
const BS_PROCESS_NS = 3;
const BS_MAX_NS = 4;
const BS_SIZE = 5;
const BS_TIME = BS_SIZE + BUCKETS;
const BS_EMITTED = BS_TIME + BUCKETS;
/** doubles in a batch-stats block */
export const BATCH_STATS_LENGTH = BS_EMITTED + 1;

/** readBatchStats decodes a batch-stats block (BatchLoop's, possibly from another thread). */
export function readBatchStats(b: Float64Array<ArrayBufferLike>): BatchStats {
  return {
    batches: b[BS_BATCHES], frames: b[BS_FRAMES], hostFrames: b[BS_HOST], processNs: b[BS_PROCESS_NS],
      maxProcessNs: b[BS_MAX_NS], emitted: b[BS_EMITTED] ?? 0,
    sizeBuckets: Array.from(b.subarray(BS_SIZE, BS_SIZE + BUCKETS)), timeBuckets: Array.from(b.subarray(BS_TIME,
      BS_TIME + BUCKETS)),
  };
}

/**
 * drainHeld hands every fragment the core released from the hold region (state HOLD_READY) to
 * `send` (device, a copy of the frame) and frees its entry; returns how many. Between batches
 * only, on the thread that runs them (or inside the port's exclusive).
 */
export function drainHeld(bytes: Uint8Array, view: DataView, layout: Layout,
  send: (device: number, frame: Uint8Array) => void, lane = 0): number {
  const { header, hold } = layout.lanes[lane];
  const ready = header + abi.HDR_HOLD_READY;
  if (view.getUint32(ready, true) === 0) return 0;
  let n = 0;
  for (let i = 0; i < layout.caps.holdFrames; i++) {
    const e = hold.base + i * layout.holdSize;
    if (bytes[e + abi.HOLD_STATE] !== abi.HOLD_READY) continue;
    const off = e + view.getUint32(e + abi.HOLD_FRAME, true);
    const len = view.getUint32(e + abi.HOLD_LEN, true);
    send(bytes[e + abi.HOLD_OUT_DEV], bytes.slice(off, off + len));
    bytes[e + abi.HOLD_STATE] = abi.HOLD_FREE;
    n++;
  }
  view.setUint32(ready, 0, true);
  return n;
}

/** how often the loop runs an expiry step, in data-path milliseconds */
export const SWEEP_INTERVAL_MS = 50;

/** BatchLoop turns (device, count) callbacks from a port into process() calls. */
export class BatchLoop {
  #layout: Layout;
  #view: DataView;
  #bytes: Uint8Array;
  #core: CoreExports;
  #framing: DeviceFraming[];
  #onHost: HostHandler;
  #now: () => number;
  #lastSweep: number;
  /** the batch-stats block (readBatchStats decodes it) */
  readonly stats: Float64Array<ArrayBufferLike>;
  #send: EmitSender | null;
  /** the lane this loop's batches use (one per data-path worker) */
  readonly lane: number;
  #lh: number;

  /**
   * `now` returns the data path's time in milliseconds (it wraps as a u32; timeouts compare
   * wrap-safely). `framing[d]` says how frames of device d are framed. `stats` is where the
   * loop counts (BATCH_STATS_LENGTH doubles, e.g. over a SharedArrayBuffer another thread reads).
   * `send` writes the frames the core built in its emit slots (complete checksums, no virtio
   * header) to a device, from the thread that runs the batch: they must leave beside the batch.
   * `lane` is the worker's lane (Layout.lanes): its slots, descriptors, counters and event ring.
   */
  constructor(memory: WebAssembly.Memory, layout: Layout, core: CoreExports, framing: DeviceFraming[],
    onHost: HostHandler, now: () => number,
      stats: Float64Array<ArrayBufferLike> = new Float64Array(BATCH_STATS_LENGTH), send: EmitSender | null = null, lane = 0) {
    if (!Number.isInteger(lane) || lane < 0 || lane >= layout.lanes.length) {
      throw new RangeError(`lane ${lane} outside the layout's ${layout.lanes.length} lanes`);
    }
    this.lane = lane;
    this.#lh = layout.lanes[lane].header;
    this.#send = send;
    this.#layout = layout;
    this.#view = new DataView(memory.buffer);
    this.#bytes = new Uint8Array(memory.buffer);
    this.#core = core;
    this.#framing = framing;
    this.#onHost = onHost;
    this.#now = now;
    this.#lastSweep = now();
    this.stats = stats;
  }

  /** setCore swaps the module between two batches (hot-swap): the next batch uses `core`. */
  setCore(core: CoreExports): void {
    this.#core = core;
  }

  get core(): CoreExports {
    return this.#core;
  }

  #sendEmitted(n: number): void {
    const base = this.#layout.lanes[this.lane].emit.base;
    for (let i = 0; i < n && i < this.#layout.caps.emitSlots; i++) {
      const at = base + i * abi.EMIT_SLOT_SIZE;
      const len = this.#view.getUint16(at + abi.EMIT_LEN, true);
      this.stats[BS_EMITTED]++;
      this.#send!(this.#bytes[at + abi.EMIT_DEV], this.#bytes.subarray(at + abi.EMIT_FRAME, at + abi.EMIT_FRAME + len));
    }
  }

  /** onBatch is the port's callback: frames are in slots [0, count) of `device`. */
  onBatch = (device: number, count: number): void => {
    const f = this.#framing[device];
    const h = this.#lh;
    this.#view.setUint32(h + abi.HDR_BATCH_FLAGS, (f.l2 ? abi.BATCH_L2 : 0) | (f.vnet ? abi.BATCH_VNET : 0), true);
    this.#view.setUint32(h + abi.HDR_BATCH_DEV, device, true);
    const t0 = performance.now();
    const r = this.#core.process(this.lane, count, this.#now() >>> 0);
    const ns = (performance.now() - t0) * 1e6;
    const st = this.stats;
    st[BS_BATCHES]++;
    st[BS_FRAMES] += count;
    st[BS_PROCESS_NS] += ns;
    if (ns > st[BS_MAX_NS]) st[BS_MAX_NS] = ns;
    st[BS_SIZE + Math.min(BUCKETS - 1, Math.ceil(Math.log2(count)))]++;
    st[BS_TIME + Math.min(BUCKETS - 1, Math.max(0, Math.ceil(Math.log2(ns / 1000))))]++;
    // extra frames (one per SYN-proxied connection): one header load a batch otherwise
    const emitted = this.#view.getUint32(h + abi.HDR_EMIT_COUNT, true);
    if (emitted !== 0 && this.#send) this.#sendEmitted(emitted);
    // fragments the core released from the hold region leave the same way, after their first
    // fragment's batch: the hold region is the batch thread's alone
    if (this.#send && this.#view.getUint32(h + abi.HDR_HOLD_READY, true) !== 0) {
      drainHeld(this.#bytes, this.#view, this.#layout, this.#send, this.lane);
    }
    const host = r >>> abi.PROCESS_HOST_SHIFT;
    if (host === 0) return;
    st[BS_HOST] += host;
    const base = this.#layout.lanes[this.lane].descriptors.base;
    const frames: Uint8Array[] = [];
    for (let i = 0; i < count && frames.length < host; i++) {
      const d = base + i * abi.DESC_SIZE;
      if (this.#bytes[d + abi.DESC_VERDICT] !== abi.VERDICT_HOST) continue;
      const off = this.#view.getUint32(d + abi.DESC_OFF, true);
      const len = this.#view.getUint32(d + abi.DESC_LEN, true);
      // a copy: the slot is overwritten by the next batch, the host may answer later
      frames.push(this.#bytes.slice(off, off + len));
    }
    this.#onHost(device, frames);
  };

  /**
   * sweepIfDue runs one expiry step when SWEEP_INTERVAL_MS have passed since the last; returns
   * the records expired. The budget covers the whole table every ~10 s; lookups expire stale
   * sessions they meet anyway. Between batches only.
   */
  sweepIfDue(): number {
    const now = this.#now();
    if (((now - this.#lastSweep) >>> 0) < SWEEP_INTERVAL_MS) return 0;
    this.#lastSweep = now;
    const high = this.#view.getUint32(abi.HEADER_BASE + abi.HDR_CONN_HIGH, true);
    return this.#core.sweep(this.lane, Math.max(256, Math.ceil(high / 200)), now >>> 0);
  }

  /** msUntilSweep: how long the loop may wait for frames before the next expiry step is due */
  msUntilSweep(): number {
    return Math.max(0, SWEEP_INTERVAL_MS - ((this.#now() - this.#lastSweep) >>> 0));
  }
}
