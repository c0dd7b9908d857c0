// worker-port.ts — the native engine's BatchPort on the director's thread: it starts the
// data-path worker (port-worker.ts) over the shared memory and the devices' fds, pauses it at a
// batch boundary for every table change (exclusive(), the barrier of control-block.ts), passes
// a new core to it for hot-swap, sends the host's frames itself (one write() is one frame, from
// any thread) and reads the worker's counters from shared blocks without asking it.
import { MessageChannel, Worker } from 'node:worker_threads';
import { BATCH_STATS_LENGTH, type BatchStats, readBatchStats } from '../dataplane/worker.js';
import { WlvsError, isErrorCode } from '../errors.js';
import {
  CTL_ACK, CTL_RELEASE, CTL_REQUEST, CTL_STATE, CTL_STOP, STATE_FAILED, STATE_RUNNING, STATE_STARTING,
  createControlBlock, waitFor,
} from './control-block.js';
import { native } from './native.js';
import { type BatchPort, type OpenDevice, type PortOptions, type PortStats, framingOf, portLayout } from './port.js';
import type { FromWorker, ToWorker, WorkerData } from './port-worker.js';

/** how long a table change waits for the worker to reach a batch boundary */
const PAUSE_TIMEOUT_MS = 5000;
const START_TIMEOUT_MS = 10_000;

export class WorkerPort implements BatchPort {
  readonly #memory: WebAssembly.Memory;
  readonly #o: PortOptions;
  readonly #devices: OpenDevice[] = [];
  readonly #ctl = createControlBlock();
  readonly #portStats: BigUint64Array;
  readonly #batchStats = new Float64Array(new SharedArrayBuffer(BATCH_STATS_LENGTH * 8));
  readonly #statNames: string[];
  readonly #channel = new MessageChannel();
  #waker: number;
  #worker: Worker | null = null;
  #exited: Promise<void> | null = null;
  #stopping = false;
  #failed: Error | null = null;
  #generation = 0;
  #depth = 0;
  #hostSent = 0;
  #hostDrops = 0;

  constructor(memory: WebAssembly.Memory, options: PortOptions) {
    if (options.clockOrigin === null) {
      throw new WlvsError('WLVS_ERR_ENGINE', 'the data-path worker keeps the real clock; a fake clock needs the fake port');
    }
    this.#memory = memory;
    this.#o = options;
    this.#statNames = native().portStatNames();
    this.#portStats = new BigUint64Array(new SharedArrayBuffer(this.#statNames.length * 8));
    this.#waker = native().createWaker();
  }

  addDevice(device: OpenDevice): number {
    if (this.#worker) throw new WlvsError('WLVS_ERR_DEVICE', 'devices are added before the port starts');
    if (this.#devices.length && this.#devices[0].vnet !== device.vnet) {
      throw new WlvsError('WLVS_ERR_DEVICE', 'all devices of a port must share the virtio-header setting');
    }
    return this.#devices.push(device) - 1;
  }

  async start(): Promise<void> {
    if (this.#worker) throw new WlvsError('WLVS_ERR_ENGINE', 'the port is started already');
    const data: WorkerData = {
      memory: this.#memory, layout: this.#o.layout, portLayout: portLayout(this.#o), core: this.#o.core,
      clockOrigin: this.#o.clockOrigin!, devices: this.#devices.map((d) => ({ fd: d.fd, ...framingOf(d) })),
      wakerFd: this.#waker, ctl: this.#ctl, portStats: this.#portStats, batchStats: this.#batchStats,
      control: this.#channel.port2,
    };
    const worker = new Worker(new URL('./port-worker.js', import.meta.url), { workerData: data, transferList: [this.#channel.port2] });
    this.#worker = worker;
    let ready: () => void = () => undefined;
    let failed: (err: Error) => void = () => undefined;
    const started = new Promise<void>((resolve, reject) => { ready = resolve; failed = reject; });
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'host') this.#o.onHost(m.device, m.frames);
      else if (m.t === 'ready') ready();
      else this.#fail(new WlvsError(isErrorCode(m.code) ? m.code : 'WLVS_ERR_ENGINE', `data-path worker: ${m.message}`, { stack: m.stack }), failed);
    });
    worker.on('error', (err) => this.#fail(new WlvsError('WLVS_ERR_ENGINE', `data-path worker: ${err.message}`), failed));
    this.#exited = new Promise((resolve) => worker.once('exit', (code) => {
      if (!this.#stopping) this.#fail(new WlvsError('WLVS_ERR_ENGINE', `data-path worker exited (${code})`), failed);
      resolve();
    }));
    const timer = setTimeout(() => failed(new WlvsError('WLVS_ERR_ENGINE', `data-path worker not ready within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS);
    try {
      await started;
    } finally {
      clearTimeout(timer);
    }
  }

  #fail(err: Error, duringStart: (err: Error) => void): void {
    if (this.#failed) return;
    this.#failed = err;
    Atomics.store(this.#ctl, CTL_STATE, STATE_FAILED);
    duringStart(err);
    if (!this.#stopping) this.#o.onError(err);
  }

  exclusive<T>(fn: () => T): T {
    const state = Atomics.load(this.#ctl, CTL_STATE);
    if (this.#depth > 0 || state !== STATE_RUNNING) return this.#inside(fn);
    const ctl = this.#ctl;
    const g = ++this.#generation;
    Atomics.store(ctl, CTL_REQUEST, g);
    native().wake(this.#waker);
    const parked = waitFor(ctl, CTL_ACK, g, performance.now() + PAUSE_TIMEOUT_MS, () => Atomics.load(ctl,
      CTL_STATE) !== STATE_RUNNING);
    try {
      // a worker that ended meanwhile runs no batch either
      if (!parked && Atomics.load(ctl, CTL_STATE) === STATE_RUNNING) {
        throw new WlvsError('WLVS_ERR_ENGINE', `the data-path worker did not reach a batch boundary within ${PAUSE_TIMEOUT_MS} ms`);
      }
      return this.#inside(fn);
    } finally {
      Atomics.store(ctl, CTL_RELEASE, g);
      Atomics.notify(ctl, CTL_RELEASE);
    }
  }

  #inside<T>(fn: () => T): T {
    this.#depth++;
    try {
      return fn();
    } finally {
      this.#depth--;
    }
  }

  setCore(core: WebAssembly.Module): void {
    const m: ToWorker = { t: 'core', core };
    this.#channel.port1.postMessage(m);
    native().wake(this.#waker);
  }

  send(device: number, frame: Uint8Array): boolean {
    const d = this.#devices[device];
    if (!d) throw new WlvsError('WLVS_ERR_DEVICE', `native sendFrame: no device ${device}`);
    const ok = native().sendFrame(d.fd, d.vnet, frame) > 0;
    if (ok) this.#hostSent++;
    else this.#hostDrops++;
    return ok;
  }

  stats(): PortStats {
    const s = Object.fromEntries(this.#statNames.map((name, i) => [name,
      Number(this.#portStats[i])])) as unknown as PortStats;
    return { ...s, txDrops: s.txDrops + this.#hostDrops, hostSent: this.#hostSent };
  }

  batchStats(): BatchStats {
    return readBatchStats(this.#batchStats);
  }

  /** stop asks the worker to end after its batch, waits for it (2 s, then terminates it) and frees the waker. */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#exited ?? undefined;
    this.#stopping = true;
    if (this.#worker) {
      Atomics.store(this.#ctl, CTL_STOP, 1);
      Atomics.notify(this.#ctl, CTL_RELEASE);
      native().wake(this.#waker);
      const timer = setTimeout(() => void this.#worker?.terminate(), 2000);
      await this.#exited;
      clearTimeout(timer);
    }
    this.#channel.port1.close();
    native().closeFd(this.#waker);
    this.#waker = -1;
  }

  /** the worker's state, for tests: starting, running, stopped or failed */
  get state(): 'starting' | 'running' | 'stopped' | 'failed' {
    const s = Atomics.load(this.#ctl, CTL_STATE);
    return s === STATE_STARTING ? 'starting' : s === STATE_RUNNING ? 'running' : s === STATE_FAILED ? 'failed' : 'stopped';
  }
}
