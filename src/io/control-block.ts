// control-block.ts — the few shared words through which the director's thread and the data-path
// worker hand the memory to each other (the pause/resume barrier of port.ts), and the worker's
// state. Both sides use only Atomics on it; nothing here belongs to the core's ABI.
//
// The barrier, for generation g (each exclusive() takes the next one):
//   director: REQUEST := g, wake the worker (its epoll_wait returns), wait until ACK == g
//   worker, at the next batch boundary: ACK := g, wait until RELEASE == g
//   director: runs its change, RELEASE := g
// The worker is parked in Atomics.wait meanwhile, so no batch runs while the director writes.
// multi-core: with N workers the director waits for N acknowledgements (one ACK word each).

export const CTL_STATE = 0;
export const CTL_REQUEST = 1;
export const CTL_ACK = 2;
export const CTL_RELEASE = 3;
export const CTL_STOP = 4;
/** Int32 words in a control block */
export const CTL_WORDS = 8;

export const STATE_STARTING = 0;
export const STATE_RUNNING = 1;
export const STATE_STOPPED = 2;
export const STATE_FAILED = 3;

export function createControlBlock(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
}

/**
 * waitFor blocks until ctl[index] === want or the deadline (performance.now() ms) passes, or
 * `abandon()` says waiting is pointless; true when reached. Both runtimes allow Atomics.wait on
 * the main thread; the slices are short so a dead peer is noticed.
 */
export function waitFor(ctl: Int32Array, index: number, want: number, deadline: number,
  abandon: () => boolean = () => false): boolean {
  for (;;) {
    const v = Atomics.load(ctl, index);
    if (v === want) return true;
    const left = deadline - performance.now();
    if (left <= 0 || abandon()) return false;
    Atomics.wait(ctl, index, v, Math.min(left, 20));
  }
}

/**
 * parkIfAsked is the worker's side: when the director asked for a pause it has not had yet,
 * acknowledge it and wait for the release. Returns the generation served (or `served`).
 */
export function parkIfAsked(ctl: Int32Array, served: number): number {
  const g = Atomics.load(ctl, CTL_REQUEST);
  if (g === served) return served;
  Atomics.store(ctl, CTL_ACK, g);
  Atomics.notify(ctl, CTL_ACK);
  // a director that gave up on this generation has released it already
  for (;;) {
    const r = Atomics.load(ctl, CTL_RELEASE);
    if (r === g || Atomics.load(ctl, CTL_STOP) !== 0) return g;
    Atomics.wait(ctl, CTL_RELEASE, r, 1000);
  }
}
