// keeper.ts — the small process that stands between wlvs and its BIRD and makes sure BIRD never
// announces for a director that cannot forward. wlvs starts it (tied to wlvs's life), and it
// starts BIRD (tied to its own life), so:
//   - wlvs killed, even by SIGKILL: the kernel kills the keeper, then BIRD; BIRD's BGP sessions
//     close (the kernel sends FIN) and the router withdraws the routes at once;
//   - wlvs alive but stalled (its event loop, which runs the data path, blocked; the process
//     stopped): the heartbeats wlvs writes to our stdin stop, and after the watchdog time we
//     disable every announcement over BIRD's control socket (or kill BIRD if it does not
//     answer); when heartbeats come back we say so and wlvs announces again;
//   - our stdin closes (wlvs gone without the death signal): BIRD is killed at once.
// It runs no logic of wlvs's: it reads lines (`start`, `beat`, `stop`) and writes JSON lines.
//   node keeper.js --bird PATH --config FILE --socket PATH --watchdog-ms N
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { tiedToParent } from '../sys/pdeathsig.js';
import { BirdClient } from './bird-cli.js';
import { ANNOUNCE_PATTERN } from './bird-config.js';

/** how long the control socket may take to disable the announcements before BIRD is killed */
const WITHDRAW_TIMEOUT_MS = 300;

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      bird: { type: 'string' }, config: { type: 'string' }, socket: { type: 'string' }, 'watchdog-ms': { type: 'string' },
    },
  });
  const birdPath = values.bird!;
  const configPath = values.config!;
  const socketPath = values.socket!;
  const watchdogMs = Number(values['watchdog-ms'] ?? 500);
  let bird: ChildProcess | null = null;
  let lastBeat: number | null = null;
  let stalled = false;
  /** the withdrawal under way: a heartbeat that comes meanwhile is reported after it, never before */
  let withdrawing: Promise<void> | null = null;
  let stopping = false;

  const startBird = () => {
    if (bird || stopping) return;
    const [cmd, args] = tiedToParent(birdPath, ['-f', '-c', configPath, '-s', socketPath]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    bird = child;
    child.once('error', (err) => emit({ event: 'bird_error', error: err.message }));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => emit({ event: 'bird_log', line: line.slice(0, 2000) }));
    }
    child.once('spawn', () => emit({ event: 'bird_started', pid: child.pid }));
    child.once('exit', (code, signal) => {
      if (bird === child) bird = null;
      emit({ event: 'bird_exited', code, signal });
    });
  };

  const killBird = (signal: NodeJS.Signals) => {
    try { bird?.kill(signal); } catch { /* already gone */ }
  };

  const withdraw = async (silentMs: number) => {
    try {
      const c = await BirdClient.connect(socketPath, WITHDRAW_TIMEOUT_MS);
      try {
        await c.request(`disable "${ANNOUNCE_PATTERN}"`, WITHDRAW_TIMEOUT_MS);
      } finally {
        c.close();
      }
      emit({ event: 'stall', silent_ms: silentMs, withdrawn: 'disabled' });
    } catch (err) {
      // BIRD does not answer: its sessions must go, so it goes
      killBird('SIGKILL');
      emit({ event: 'stall', silent_ms: silentMs, withdrawn: 'killed', error: (err as Error).message });
    }
  };

  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (!bird) process.exit(0);
    // SIGTERM: BIRD closes its sessions with a Cease notification (RFC 4486) before it exits
    bird.once('exit', () => process.exit(0));
    killBird('SIGTERM');
    setTimeout(() => { killBird('SIGKILL'); process.exit(0); }, 2000).unref();
  };

  const watch = setInterval(() => {
    if (lastBeat === null || stalled) return;
    const silent = Date.now() - lastBeat;
    if (silent <= watchdogMs) return;
    stalled = true;
    withdrawing = withdraw(silent).finally(() => { withdrawing = null; });
  }, Math.max(10, Math.min(50, watchdogMs / 5)));

  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'beat') {
      const now = Date.now();
      if (stalled) {
        stalled = false;
        const resumed = { event: 'resumed', silent_ms: lastBeat === null ? null : now - lastBeat };
        // wlvs announces again on "resumed": it must come after the withdrawal, or the
        // withdrawal would undo the announcement
        if (withdrawing) void withdrawing.then(() => emit(resumed));
        else emit(resumed);
      }
      lastBeat = now;
    } else if (cmd === 'start') {
      startBird();
    } else if (cmd === 'stop') {
      stop();
    }
  }).on('close', () => {
    // wlvs is gone and nothing tells BIRD to stop announcing for it: the sessions go with BIRD
    clearInterval(watch);
    killBird('SIGKILL');
    process.exit(0);
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  emit({ event: 'keeper_ready', pid: process.pid, watchdog_ms: watchdogMs });
}

main();
