// thread.ts — one data-path thread of `bench:core --threads` (run.ts): its own instance of the
// core over the shared table, on its own lane. Each job is `iterations` batches: copy the
// batch's frames into this lane's slots and descriptors (what the device read does), then one
// process(); the copy is outside the process() time but inside the wall time of the round. Job
// batch i is batches[(first + i) % batches.length].
import { parentPort, workerData } from 'node:worker_threads';
import * as abi from '../../src/dataplane/abi.js';
import { type Layout, laneHeaderField } from '../../src/dataplane/memory-map.js';
import { instantiateCore } from '../../src/dataplane/module.js';

export interface ThreadData {
  memory: WebAssembly.Memory;
  layout: Layout;
  module: WebAssembly.Module;
  lane: number;
  /** this thread's batches (its own flows): hits, or SYNs of flows never seen */
  batches: Uint8Array[][];
  /** [0]: threads arrived at the start of a round */
  gate: Int32Array;
}

export interface ThreadJob { iterations: number; first: number; gate: number; now: number }
export interface ThreadResult { frames: number; forwarded: number; processMs: number; start: number; end: number }

const d = workerData as ThreadData;
const core = instantiateCore(d.module, d.memory);
const bytes = new Uint8Array(d.memory.buffer);
const view = new DataView(d.memory.buffer);
const { slots, descriptors } = d.layout.lanes[d.lane];
view.setUint32(laneHeaderField(d.layout, d.lane, abi.HDR_BATCH_FLAGS), abi.BATCH_L2, true);
view.setUint32(laneHeaderField(d.layout, d.lane, abi.HDR_BATCH_DEV), 0, true);

parentPort!.on('message', (job: ThreadJob) => {
  Atomics.add(d.gate, 0, 1);
  for (let v = Atomics.load(d.gate, 0); v < job.gate; v = Atomics.load(d.gate, 0)) { /* spin: start together */ }
  const start = performance.timeOrigin + performance.now();
  const r: ThreadResult = { frames: 0, forwarded: 0, processMs: 0, start, end: 0 };
  let now = job.now;
  for (let it = 0; it < job.iterations; it++) {
    const frames = d.batches[(job.first + it) % d.batches.length];
    for (let i = 0; i < frames.length; i++) {
      const at = slots.base + i * d.layout.slotSize + d.layout.headroom;
      bytes.set(frames[i], at);
      view.setUint32(descriptors.base + i * abi.DESC_SIZE + abi.DESC_OFF, at, true);
      view.setUint32(descriptors.base + i * abi.DESC_SIZE + abi.DESC_LEN, frames[i].length, true);
    }
    const t = performance.now();
    r.forwarded += core.process(d.lane, frames.length, now++) & 0xffff;
    r.processMs += performance.now() - t;
    r.frames += frames.length;
  }
  r.end = performance.timeOrigin + performance.now();
  parentPort!.postMessage(r);
});
parentPort!.postMessage('ready');
