// cleanup.ts — the process-wide list of labs still alive and the exit hooks that remove them.
// Hooks are installed once, on first use: process exit, SIGINT/SIGTERM/SIGHUP, and an uncaught
// exception nobody else handles. A lab must never outlive the process that built it: namespaces
// left behind keep addresses and processes that break the next run.

/** Cleanable is something the exit hooks can remove: asynchronously when there is time, else synchronously. */
export interface Cleanable {
  destroy(): Promise<void>;
  destroySync(): void;
}

const live = new Set<Cleanable>();
let installed = false;
let exiting = false;

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
// a signal gets this long for the graceful path (SIGTERM to children, then ip netns del)
const SIGNAL_GRACE_MS = 4000;

/** track registers a lab for cleanup at exit and installs the hooks on first use. */
export function track(item: Cleanable): void {
  install();
  live.add(item);
}

/** untrack forgets a lab that has removed itself. */
export function untrack(item: Cleanable): void {
  live.delete(item);
}

/** liveCount is the number of labs not yet removed (tests check it drops to zero). */
export function liveCount(): number {
  return live.size;
}

/** cleanupAll removes every lab of this process; it resolves when all are gone, errors are swallowed. */
async function cleanupAll(): Promise<void> {
  await Promise.all([...live].map((item) => item.destroy().catch(() => item.destroySync())));
}

/** cleanupAllSync is cleanupAll() for places where nothing asynchronous runs any more. */
function cleanupAllSync(): void {
  for (const item of [...live]) {
    try { item.destroySync(); } catch { /* keep going: the others must still go */ }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupAllSync);
  for (const [name, number] of Object.entries(SIGNALS)) {
    process.on(name, () => {
      if (exiting) {
        // second signal: no more patience
        cleanupAllSync();
        process.exit(128 + number);
      }
      exiting = true;
      const deadline = setTimeout(() => {
        cleanupAllSync();
        process.exit(128 + number);
      }, SIGNAL_GRACE_MS);
      void cleanupAll().finally(() => {
        clearTimeout(deadline);
        cleanupAllSync();
        process.exit(128 + number);
      });
    });
  }
  process.on('uncaughtException', (err) => {
    // another listener (node:test attributes errors to tests) owns the decision; the exit hook
    // still removes the labs when the process ends
    if (process.listenerCount('uncaughtException') > 1) return;
    console.error(err);
    cleanupAllSync();
    process.exit(1);
  });
}
