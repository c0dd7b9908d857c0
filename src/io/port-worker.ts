// port-worker.ts — the data-path worker thread (node:worker_threads, in Node and in Deno): its
// own instance of the core over the shared memory, the native port over its queue of every
// device (one worker per queue and per lane of the layout), and the
// loop `while (running) { portRun(...); pause if asked; messages; sweep step }`. portRun blocks
// in epoll_wait and calls the batch loop synchronously for each batch, so nothing here depends
// on the runtime's event loop; the worker never turns it while it runs. Started by worker-port.ts.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { instantiateCore } from '../dataplane/module.js';
import type { Layout } from '../dataplane/memory-map.js';
import { BatchLoop } from '../dataplane/worker.js';
import { WlvsError } from '../errors.js';
import { CTL_STATE, CTL_STOP, STATE_FAILED, STATE_RUNNING, STATE_STOPPED, parkIfAsked } from './control-block.js';
import { NativePort, native } from './native.js';
import type { EngineInfo, PortLayout } from './port.js';

/** What worker-port.ts hands the worker. */
export interface WorkerData {
  memory: WebAssembly.Memory;
  layout: Layout;
  portLayout: PortLayout;
  core: WebAssembly.Module;
  /** this worker's lane of the layout (its slots, descriptors, counters, event ring) */
  lane: number;
  clockOrigin: number;
  /** every device, through this worker's queue fd of it */
  devices: { fd: number; l2: boolean; vnet: boolean }[];
  wakerFd: number;
  ctl: Int32Array;
  portStats: BigUint64Array;
  batchStats: Float64Array;
  control: MessagePort;
}

/** Messages from the director to the worker (through `control`, read at batch boundaries). */
export type ToWorker = { t: 'core'; core: WebAssembly.Module };
/** Messages from the worker to the director. */
export type FromWorker =
  | { t: 'ready'; engine: EngineInfo }
  | { t: 'host'; device: number; frames: Uint8Array[] }
  | { t: 'error'; code: string; message: string; stack?: string };

function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(m, transfer);
}

function run(d: WorkerData): void {
  const { ctl } = d;
  // performance.now() has another origin in each thread; timeOrigin + now() is the same instant
  const now = () => Math.floor(performance.timeOrigin + performance.now() - d.clockOrigin) >>> 0;
  const port = new NativePort(d.memory, d.portLayout, d.portStats, d.wakerFd);
  for (const dev of d.devices) port.addDevice(dev.fd, dev.vnet);
  const loop = new BatchLoop(d.memory, d.layout, instantiateCore(d.core, d.memory), d.devices,
    (device, frames) => post({ t: 'host', device, frames }, frames.map((f) => f.buffer as ArrayBuffer)), now, d.batchStats,
    // emitted frames (the SYN proxy's ACK to a server) leave from this thread, beside their batch
    (device, frame) => {
      const dev = d.devices[device];
      if (dev) native().sendFrame(dev.fd, dev.vnet, frame);
    }, d.lane);
  Atomics.store(ctl, CTL_STATE, STATE_RUNNING);
  post({ t: 'ready', engine: port.engine() });
  let served = 0;
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    port.run(Math.max(1, loop.msUntilSweep()), loop.onBatch);
    served = parkIfAsked(ctl, served);
    for (let m = receiveMessageOnPort(d.control); m; m = receiveMessageOnPort(d.control)) {
      const msg = m.message as ToWorker;
      // the director instantiated the same module while this worker was parked: same data segment
      if (msg.t === 'core') loop.setCore(instantiateCore(msg.core, d.memory));
    }
    loop.sweepIfDue();
  }
}

const data = workerData as WorkerData;
try {
  run(data);
  Atomics.store(data.ctl, CTL_STATE, STATE_STOPPED);
} catch (err) {
  Atomics.store(data.ctl, CTL_STATE, STATE_FAILED);
  const e = err as Error;
  post({ t: 'error', code: WlvsError.is(err) ? err.code : 'WLVS_ERR_ENGINE', message: e?.message ?? String(err), stack: e?.stack });
} finally {
  Atomics.notify(data.ctl, CTL_STATE);
  data.control.close();
}
