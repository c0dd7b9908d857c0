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
/** doubles in a batch-stats block */
export const BATCH_STATS_LENGTH = BS_TIME + BUCKETS;

/** readBatchStats decodes a batch-stats block (BatchLoop's, possibly from another thread). */
export function readBatchStats(b: Float64Array<ArrayBufferLike>): BatchStats {
  return {
    batches: b[BS_BATCHES], frames: b[BS_FRAMES], hostFrames: b[BS_HOST], processNs: b[BS_PROCESS_NS],
      maxProcessNs: b[BS_MAX_NS],
    sizeBuckets: Array.from(b.subarray(BS_SIZE, BS_SIZE + BUCKETS)), timeBuckets: Array.from(b.subarray(BS_TIME,
      BS_TIME + BUCKETS)),
  };
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

  /**
   * `now` returns the data path's time in milliseconds (it wraps as a u32; timeouts compare
   * wrap-safely). `framing[d]` says how frames of device d are framed. `stats` is where the
   * loop counts (BATCH_STATS_LENGTH doubles, e.g. over a SharedArrayBuffer another thread reads).
   */
  constructor(memory: WebAssembly.Memory, layout: Layout, core: CoreExports, framing: DeviceFraming[],
    onHost: HostHandler, now: () => number,
      stats: Float64Array<ArrayBufferLike> = new Float64Array(BATCH_STATS_LENGTH)) {
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

  /** onBatch is the port's callback: frames are in slots [0, count) of `device`. */
  onBatch = (device: number, count: number): void => {
    const f = this.#framing[device];
    const h = abi.HEADER_BASE;
    this.#view.setUint32(h + abi.HDR_BATCH_FLAGS, (f.l2 ? abi.BATCH_L2 : 0) | (f.vnet ? abi.BATCH_VNET : 0), true);
    this.#view.setUint32(h + abi.HDR_BATCH_DEV, device, true);
    const t0 = performance.now();
    const r = this.#core.process(count, this.#now() >>> 0);
    const ns = (performance.now() - t0) * 1e6;
    const st = this.stats;
    st[BS_BATCHES]++;
    st[BS_FRAMES] += count;
    st[BS_PROCESS_NS] += ns;
    if (ns > st[BS_MAX_NS]) st[BS_MAX_NS] = ns;
    st[BS_SIZE + Math.min(BUCKETS - 1, Math.ceil(Math.log2(count)))]++;
    st[BS_TIME + Math.min(BUCKETS - 1, Math.max(0, Math.ceil(Math.log2(ns / 1000))))]++;
    const host = r >>> abi.PROCESS_HOST_SHIFT;
    if (host === 0) return;
    st[BS_HOST] += host;
    const base = this.#layout.descriptors.base;
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
    return this.#core.sweep(Math.max(256, Math.ceil(high / 200)), now >>> 0);
  }

  /** msUntilSweep: how long the loop may wait for frames before the next expiry step is due */
  msUntilSweep(): number {
    return Math.max(0, SWEEP_INTERVAL_MS - ((this.#now() - this.#lastSweep) >>> 0));
  }
}
