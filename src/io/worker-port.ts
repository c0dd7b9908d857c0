// worker-port.ts — the native engine's BatchPort on the director's thread: it starts the
// data-path workers (port-worker.ts, one per lane of the layout and per queue of every device)
// over the shared memory and the devices' queue fds, pauses all of them at a batch boundary for
// every table change (exclusive(), the barrier of control-block.ts), passes a new core to each for
// hot-swap, sends the host's frames itself (one write() is one frame, from any thread, on any
// queue's fd) and reads the workers' counters from shared blocks without asking them.
//
// One control block per worker rather than shared counters: each word then has one writer per
// side (the director writes REQUEST/RELEASE, that worker writes ACK/STATE), the barrier of
// control-block.ts stays the one that was proven for a single worker, and a worker that does not
// reach its batch boundary is named in the error instead of showing up as a short count.
import { MessageChannel, Worker } from 'node:worker_threads';
import { BATCH_STATS_LENGTH, type BatchStats, readBatchStats } from '../dataplane/worker.js';
import { WlvsError, isErrorCode } from '../errors.js';
import {
  CTL_ACK, CTL_RELEASE, CTL_REQUEST, CTL_STATE, CTL_STOP, STATE_FAILED, STATE_RUNNING, STATE_STARTING,
  createControlBlock, waitFor,
} from './control-block.js';
import { MAX_WORKERS } from '../model/spec.js';
import { native } from './native.js';
import { type BatchPort, type EngineInfo, type OpenDevice, type PortOptions, type PortStats, framingOf, portLayout } from './port.js';
import type { FromWorker, ToWorker, WorkerData } from './port-worker.js';

/** how long a table change waits for the workers to reach a batch boundary */
const PAUSE_TIMEOUT_MS = 5000;
const START_TIMEOUT_MS = 10_000;

/** one data-path worker: its thread, barrier, waker (each epoll needs its own) and counters */
interface Lane {
  ctl: Int32Array;
  portStats: BigUint64Array;
  batchStats: Float64Array;
  /** what the worker's port runs on, from its 'ready' */
  engine?: EngineInfo;
  channel: MessageChannel;
  waker: number;
  worker: Worker | null;
  exited: Promise<void> | null;
}

export class WorkerPort implements BatchPort {
  readonly #memory: WebAssembly.Memory;
  readonly #o: PortOptions;
  readonly #devices: OpenDevice[] = [];
  readonly #lanes: Lane[] = [];
  readonly #statNames: string[];
  #started = false;
  #stopping = false;
  #failed: Error | null = null;
  /** start() resolved: a failure from here on is the data path's end (onError), before it start()'s */
  #running = false;
  #generation = 0;
  #depth = 0;
  #hostSent = 0;
  #hostDrops = 0;

  constructor(memory: WebAssembly.Memory, options: PortOptions) {
    if (options.clockOrigin === null) {
      throw new WlvsError('WLVS_ERR_ENGINE', 'the data-path worker keeps the real clock; a fake clock needs the fake port');
    }
    const n = options.workers ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
      throw new WlvsError('WLVS_ERR_ENGINE', `workers must be 1 to ${MAX_WORKERS}, not ${n}`);
    }
    const lanes = options.layout.lanes?.length ?? 1;
    if (lanes < n) throw new WlvsError('WLVS_ERR_ENGINE', `${n} workers need ${n} lanes in the memory layout; it has ${lanes}`);
    this.#memory = memory;
    this.#o = options;
    this.#statNames = native().portStatNames();
    for (let i = 0; i < n; i++) {
      this.#lanes.push({
        ctl: createControlBlock(), portStats: new BigUint64Array(new SharedArrayBuffer(this.#statNames.length * 8)),
        batchStats: new Float64Array(new SharedArrayBuffer(BATCH_STATS_LENGTH * 8)), channel: new MessageChannel(),
        waker: native().createWaker(), worker: null, exited: null,
      });
    }
  }

  get workers(): number {
    return this.#lanes.length;
  }

  addDevice(device: OpenDevice): number {
    if (this.#started) throw new WlvsError('WLVS_ERR_DEVICE', 'devices are added before the port starts');
    if (this.#devices.length && this.#devices[0].vnet !== device.vnet) {
      throw new WlvsError('WLVS_ERR_DEVICE', 'all devices of a port must share the virtio-header setting');
    }
    const queues = device.queues ?? [device.fd];
    if (queues.length < this.#lanes.length) {
      throw new WlvsError('WLVS_ERR_DEVICE', `device ${device.name} has ${queues.length} queue(s); ${this.#lanes.length} workers need one each`);
    }
    return this.#devices.push(device) - 1;
  }

  async start(): Promise<void> {
    if (this.#started) throw new WlvsError('WLVS_ERR_ENGINE', 'the port is started already');
    this.#started = true;
    const readies: Promise<void>[] = [];
    let failed: (err: Error) => void = () => undefined;
    const anyFailed = new Promise<never>((_, reject) => { failed = reject; });
    anyFailed.catch(() => undefined);
    this.#lanes.forEach((lane, i) => readies.push(this.#startLane(lane, i, (err) => failed(err))));
    const timer = setTimeout(() => failed(new WlvsError('WLVS_ERR_ENGINE',
      `data-path workers not ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    try {
      await Promise.race([Promise.all(readies), anyFailed]);
      this.#running = true;
    } finally {
      clearTimeout(timer);
    }
  }

  #startLane(lane: Lane, i: number, failed: (err: Error) => void): Promise<void> {
    const data: WorkerData = {
      memory: this.#memory, layout: this.#o.layout, portLayout: portLayout(this.#o, i), core: this.#o.core, lane: i,
      clockOrigin: this.#o.clockOrigin!,
      devices: this.#devices.map((d) => ({ fd: (d.queues ?? [d.fd])[i], ...framingOf(d) })),
      wakerFd: lane.waker, ctl: lane.ctl, portStats: lane.portStats, batchStats: lane.batchStats,
      control: lane.channel.port2,
    };
    const worker = new Worker(new URL('./port-worker.js', import.meta.url), { workerData: data, transferList: [lane.channel.port2] });
    lane.worker = worker;
    const name = this.#lanes.length > 1 ? `data-path worker ${i}` : 'data-path worker';
    return new Promise<void>((ready) => {
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'host') this.#o.onHost(m.device, m.frames);
        else if (m.t === 'ready') {
          lane.engine = m.engine;
          ready();
        }
        else this.#fail(new WlvsError(isErrorCode(m.code) ? m.code : 'WLVS_ERR_ENGINE', `${name}: ${m.message}`, { stack: m.stack }), failed);
      });
      worker.on('error', (err) => this.#fail(new WlvsError('WLVS_ERR_ENGINE', `${name}: ${err.message}`), failed));
      lane.exited = new Promise((resolve) => worker.once('exit', (code) => {
        if (!this.#stopping) this.#fail(new WlvsError('WLVS_ERR_ENGINE', `${name} exited (${code})`), failed);
        resolve();
      }));
    });
  }

  /** one failed worker fails the port: the others would forward only the flows that hash to them */
  #fail(err: Error, duringStart: (err: Error) => void): void {
    if (this.#failed) return;
    this.#failed = err;
    for (const lane of this.#lanes) {
      if (Atomics.load(lane.ctl, CTL_STATE) === STATE_RUNNING) Atomics.store(lane.ctl, CTL_STOP, 1);
      Atomics.notify(lane.ctl, CTL_RELEASE);
      native().wake(lane.waker);
    }
    duringStart(err);
    // a worker that cannot start (its port refused, say) fails start() alone: Director.start
    // rejects with the reason and cleans up, rather than the process crashing as on a live failure
    if (!this.#stopping && this.#running) this.#o.onError(err);
  }

  exclusive<T>(fn: () => T): T {
    const running = this.#lanes.filter((l) => Atomics.load(l.ctl, CTL_STATE) === STATE_RUNNING);
    if (this.#depth > 0 || running.length === 0) return this.#inside(fn);
    const g = ++this.#generation;
    // ask every worker first, then wait: the N pauses overlap instead of adding up
    for (const lane of running) {
      Atomics.store(lane.ctl, CTL_REQUEST, g);
      native().wake(lane.waker);
    }
    const deadline = performance.now() + PAUSE_TIMEOUT_MS;
    try {
      for (const lane of running) {
        const parked = waitFor(lane.ctl, CTL_ACK, g, deadline,
          () => Atomics.load(lane.ctl, CTL_STATE) !== STATE_RUNNING);
        // a worker that ended meanwhile runs no batch either
        if (!parked && Atomics.load(lane.ctl, CTL_STATE) === STATE_RUNNING) {
          const which = this.#lanes.length > 1 ? `data-path worker ${this.#lanes.indexOf(lane)}` : 'the data-path worker';
          throw new WlvsError('WLVS_ERR_ENGINE', `${which} did not reach a batch boundary within ${PAUSE_TIMEOUT_MS} ms`);
        }
      }
      return this.#inside(fn);
    } finally {
      for (const lane of running) {
        Atomics.store(lane.ctl, CTL_RELEASE, g);
        Atomics.notify(lane.ctl, CTL_RELEASE);
      }
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

  /** every worker takes the module at its next batch boundary (messages are read between batches) */
  setCore(core: WebAssembly.Module): void {
    const m: ToWorker = { t: 'core', core };
    for (const lane of this.#lanes) {
      lane.channel.port1.postMessage(m);
      native().wake(lane.waker);
    }
  }

  send(device: number, frame: Uint8Array): boolean {
    const d = this.#devices[device];
    if (!d) throw new WlvsError('WLVS_ERR_DEVICE', `native sendFrame: no device ${device}`);
    // any queue's fd reaches the device; the kernel takes the frame from the writer's queue
    const ok = native().sendFrame(d.fd, d.vnet, frame) > 0;
    if (ok) this.#hostSent++;
    else this.#hostDrops++;
    return ok;
  }

  #laneStats(lane: Lane): PortStats {
    const s = Object.fromEntries(this.#statNames.map((name, i) => [name,
      Number(lane.portStats[i])])) as unknown as PortStats;
    return { ...s, hostSent: 0 };
  }

  stats(): PortStats {
    const sum = sumPortStats(this.#lanes.map((l) => this.#laneStats(l)));
    return { ...sum, txDrops: sum.txDrops + this.#hostDrops, hostSent: this.#hostSent };
  }

  batchStats(): BatchStats {
    return sumBatchStats(this.#lanes.map((l) => readBatchStats(l.batchStats)));
  }

  /** per worker (index = lane), from each worker's 'ready' */
  engines(): EngineInfo[] {
    return this.#lanes.map((l) => l.engine ?? { engine: 'epoll', reason: 'not started' });
  }

  /** per worker; the host's own frames (hostSent) are the main thread's and count in stats() only */
  workerStats(): { port: PortStats; batch: BatchStats }[] {
    return this.#lanes.map((l) => ({ port: this.#laneStats(l), batch: readBatchStats(l.batchStats) }));
  }

  /** stop asks every worker to end after its batch, waits for them (2 s, then terminates) and frees the wakers. */
  async stop(): Promise<void> {
    if (this.#stopping) {
      await Promise.all(this.#lanes.map((l) => l.exited));
      return;
    }
    this.#stopping = true;
    await Promise.all(this.#lanes.map(async (lane) => {
      if (lane.worker) {
        Atomics.store(lane.ctl, CTL_STOP, 1);
        Atomics.notify(lane.ctl, CTL_RELEASE);
        native().wake(lane.waker);
        const timer = setTimeout(() => void lane.worker?.terminate(), 2000);
        await lane.exited;
        clearTimeout(timer);
      }
    }));
    for (const lane of this.#lanes) {
      lane.channel.port1.close();
      if (lane.waker >= 0) native().closeFd(lane.waker);
      lane.waker = -1;
    }
  }

  /** the workers' state, for tests: starting, running, stopped or failed (the worst of them) */
  get state(): 'starting' | 'running' | 'stopped' | 'failed' {
    const states = this.#lanes.map((l) => Atomics.load(l.ctl, CTL_STATE));
    if (states.includes(STATE_FAILED) || this.#failed) return 'failed';
    if (states.includes(STATE_STARTING)) return 'starting';
    return states.every((s) => s === STATE_RUNNING) ? 'running' : 'stopped';
  }
}

/** sumPortStats adds workers' port counters (maxBatch: the largest) */
export function sumPortStats(all: PortStats[]): PortStats {
  const out = { ...all[0] } as Record<string, number>;
  for (const s of all.slice(1)) {
    for (const [k, v] of Object.entries(s)) out[k] = k === 'maxBatch' ? Math.max(out[k] ?? 0, v) : (out[k] ?? 0) + v;
  }
  return out as unknown as PortStats;
}

/** sumBatchStats adds workers' batch counters and histograms (maxProcessNs: the largest) */
export function sumBatchStats(all: BatchStats[]): BatchStats {
  const out: BatchStats = { ...all[0], sizeBuckets: [...all[0].sizeBuckets], timeBuckets: [...all[0].timeBuckets] };
  for (const s of all.slice(1)) {
    out.batches += s.batches;
    out.frames += s.frames;
    out.hostFrames += s.hostFrames;
    out.processNs += s.processNs;
    out.maxProcessNs = Math.max(out.maxProcessNs, s.maxProcessNs);
    out.emitted += s.emitted;
    s.sizeBuckets.forEach((v, k) => { out.sizeBuckets[k] = (out.sizeBuckets[k] ?? 0) + v; });
    s.timeBuckets.forEach((v, k) => { out.timeBuckets[k] = (out.timeBuckets[k] ?? 0) + v; });
  }
  return out;
}
