// lanes-threads-worker.ts — one data-path thread of test/core/lanes-threads.test.ts: its own
// instance of the core over the test's shared memory, on one lane. Each job is a list of batches
// (and optionally sweep steps between them); the worker waits at a shared gate until the other
// thread has its job too, so the two race through the same flows instead of taking turns.
import { parentPort, workerData } from 'node:worker_threads';
import type { Layout } from '../../src/dataplane/memory-map.js';
import type { CoreFlavour } from '../../src/dataplane/module.js';
import { CoreHarness } from './harness.js';

export interface LaneWorkerData {
  memory: WebAssembly.Memory;
  layout: Layout;
  flavour: CoreFlavour;
  lane: number;
  /**
   * [0]: arrivals at the start of a job (each waits until the count reaches the job's `gate`);
   * [1]: arrivals at a batch (both lanes run the same number of batches, and batch k starts on
   * neither before both finished batch k - 1: they stay in step, so twin frames meet)
   */
  gate: Int32Array;
}

export interface LaneJob {
  /** start once this many arrivals (both threads' jobs so far) are counted */
  gate: number;
  now: number;
  batches: { dev: number; frames: Uint8Array[] }[];
  /** sweep this lane `budget` records after every batch, then the whole lane once more */
  sweepBudget?: number;
}

export interface LaneResult {
  verdicts: number[];
  reasons: number[];
  outs: Uint8Array[];
  /** records this lane's sweep calls expired */
  swept: number;
  /** when the job ran (performance.timeOrigin + now(), comparable across threads) */
  start: number;
  end: number;
}

const d = workerData as LaneWorkerData;
const h = new CoreHarness(d.flavour, {}, { memory: d.memory, layout: d.layout });

/** arrive at gate word `i` and wait until it counts `want`; spins first (a wake-up takes tens of µs, a batch a few) */
function meet(i: number, want: number): void {
  Atomics.add(d.gate, i, 1);
  Atomics.notify(d.gate, i);
  for (let spins = 0, v = Atomics.load(d.gate, i); v < want; v = Atomics.load(d.gate, i)) {
    if (++spins > 20_000) Atomics.wait(d.gate, i, v, 5);
  }
}

let batches = 0;
parentPort!.on('message', (job: LaneJob) => {
  meet(0, job.gate);
  const start = performance.timeOrigin + performance.now();
  const r: LaneResult = { verdicts: [], reasons: [], outs: [], swept: 0, start, end: 0 };
  for (const b of job.batches) {
    meet(1, 2 * ++batches);
    for (const x of h.run(b.frames, job.now, { dev: b.dev, lane: d.lane })) {
      r.verdicts.push(x.verdict);
      r.reasons.push(x.reason);
      r.outs.push(x.out);
    }
    if (job.sweepBudget) r.swept += h.core.sweep(d.lane, job.sweepBudget, job.now);
  }
  // one more pass over every record of this lane, while the other thread may still be busy
  if (job.sweepBudget) r.swept += h.core.sweep(d.lane, d.layout.caps.sessions, job.now);
  r.end = performance.timeOrigin + performance.now();
  parentPort!.postMessage(r);
});
parentPort!.postMessage('ready');
