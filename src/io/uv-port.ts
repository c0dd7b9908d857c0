// uv-port.ts — LEGACY: the engine before issue 15 (uv_poll on the main thread, process() there
// too), selectable with WLVS_ENGINE=uv only so that bench:e2e can measure the old and the new
// engine in one run. Removed once that A/B is done: one engine, not two.
import { instantiateCore } from '../dataplane/module.js';
import { BatchLoop, type BatchStats, readBatchStats } from '../dataplane/worker.js';
import { WlvsError } from '../errors.js';
import { native } from './native.js';
import { type BatchPort, type OpenDevice, type PortOptions, type PortStats, framingOf, portLayout } from './port.js';

type Handle = ReturnType<ReturnType<typeof native>['uvCreatePort']>;

export class UvPort implements BatchPort {
  readonly #memory: WebAssembly.Memory;
  readonly #o: PortOptions;
  readonly #h: Handle;
  readonly #devices: OpenDevice[] = [];
  #loop: BatchLoop | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(memory: WebAssembly.Memory, options: PortOptions) {
    this.#memory = memory;
    this.#o = options;
    this.#h = native().uvCreatePort(new Uint8Array(memory.buffer), portLayout(options));
  }

  addDevice(device: OpenDevice): number {
    this.#devices.push(device);
    return native().uvPortAddDevice(this.#h, device.fd, device.vnet);
  }

  async start(): Promise<void> {
    const loop = new BatchLoop(this.#memory, this.#o.layout, instantiateCore(this.#o.core, this.#memory),
      this.#devices.map(framingOf), this.#o.onHost, this.#o.now, undefined,
      (device, frame) => this.send(device, frame));
    this.#loop = loop;
    native().uvPortStart(this.#h, loop.onBatch);
    this.#timer = setInterval(() => loop.sweepIfDue(), 50);
    this.#timer.unref();
  }

  exclusive<T>(fn: () => T): T {
    return fn();
  }

  setCore(core: WebAssembly.Module): void {
    if (!this.#loop) throw new WlvsError('WLVS_ERR_ENGINE', 'the port is not started');
    this.#loop.setCore(instantiateCore(core, this.#memory));
  }

  send(device: number, frame: Uint8Array): boolean {
    return native().uvPortSend(this.#h, device, frame) > 0;
  }

  stats(): PortStats {
    return native().uvPortStats(this.#h);
  }

  batchStats(): BatchStats {
    return readBatchStats(this.#loop?.stats ?? new Float64Array(64));
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    native().uvPortStop(this.#h);
  }
}
