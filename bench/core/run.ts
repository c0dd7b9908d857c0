// bench:core — Mpps of one core on one thread, WASM core vs the plain-TypeScript baseline
// (bench/baseline/ts-core.ts), for the NAT hit path and the new-session path, with 64k and 1M
// sessions in the table, and the IPv6 (NAT66) hit path beside them (WASM only: the baseline has
// no IPv6), and the SYN proxy answering a flood (syn-cookie: SYNs of flows never seen, each
// answered by a cookie SYN-ACK in place and creating nothing; WASM only: the baseline has no
// proxy). `npm run bench:core -- --json` prints one JSON object per line; --sessions
// 65536,1048576, --impl wasm,ts and --case nat-hit,new-session,nat6-hit,syn-cookie pick a subset.
//
// --impl ref-wasm,ref-c (issue 12): two reference implementations of the NAT hit path alone,
// timed on the same frames and the same number of sessions as the core's nat-hit case, in the
// same alternating rounds: a minimal AssemblyScript program (bench/core/ref/assembly/nat_ref.ts:
// parse and hash, touch the buckets, look up and DNAT with RFC 1624 checksums, in three passes
// over the batch) and the same algorithm in C with __builtin_prefetch (bench/core/ref/nat_ref.c,
// built with the system gcc -O2, run as a child process that times its own batches the same way
// and prints Mpps as JSON). Both are built on demand (bench/core/ref/ref.ts); the default run
// leaves them out.
//
// Method: each iteration processes one batch of 256 frames with one process() call. A
// beforeEach hook, outside the timed window, does what the device read does: it copies the
// batch's frames into the slots and writes the descriptors, so the frames are in the cache as
// they are after read(). For the hit path the real server is the VIP itself, reached at the
// director's own MAC: a NAT'ed frame is again a valid packet to the VIP, so each batch can be
// replayed and every packet does the full hit path (parse, lookup, state, rewrite, counters).
// Hit batches pick flows uniformly at random from the whole table, 1024 batches (262144 frames)
// at 1M sessions, so on the 1M table nearly every lookup misses the cache, as real traffic
// would. New-session batches carry SYNs of flows never seen before; the table starts with N
// sessions and grows by at most 256 × iterations during the run (capacity 2N). Events are off for both implementations
// (the TS baseline has no
// event ring). The machine's speed drifts, so the two implementations run in alternating rounds
// (7, or 3 with --quick, after one discarded warm-up round) and each figure is the median of its
// rounds' medians.
//
// --threads 1,2: the NAT hit path (--case new-session: new sessions) on N worker threads over one
// shared table instead (see mainThreads below), one JSON line per thread count, and for every count above one the same
// threads each on a table of its own (`table: per-thread`, the reference without sharing;
// --no-private leaves it out); --lanes L lays the shared table out for L workers whatever the
// thread count (1 thread on 2 lanes: the table lock, uncontended), --core other.wasm runs another
// build.
//
// The memory is advised for transparent huge pages, as the director's is (director.huge_pages,
// src/io/huge-pages.ts), and so are the references' tables; --no-huge-pages leaves all of them
// with 4 KiB pages.
//
// Results: bench/README.md, kept there so one table stays true.
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import * as abi from '../../src/dataplane/abi.js';
import { computeLayout, createMemory, writeHeader, type Layout } from '../../src/dataplane/memory-map.js';
import type { CoreExports } from '../../src/dataplane/abi.js';
import { compileCore, instantiateCore } from '../../src/dataplane/module.js';
import { Tables } from '../../src/dataplane/tables.js';
import { adviseHugePages } from '../../src/io/huge-pages.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../../src/model/spec.js';
import { TsCore } from '../baseline/ts-core.js';
import { ethernet, tcp6Packet, tcpPacket } from '../../test/oracle/packet.js';
import type { ThreadData, ThreadJob, ThreadResult } from './thread.js';
import { buildRefs, makeWorkload, RefC, RefWasm, type Workload } from './ref/ref.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BATCH = 256;
const VIP = '10.0.1.100';
const VIP6 = '2001:db8:1::100';
const DEV0_MAC = '02:00:00:00:d0:00';
const CLIENT_MAC = '02:00:00:00:0c:01';

interface Impl { name: string; process(count: number, now: number): number }

interface World {
  layout: Layout;
  memory: WebAssembly.Memory;
  bytes: Uint8Array;
  view: DataView;
  tables: Tables;
  impl: Impl;
}

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const sizes = argValue('--sessions')?.split(',').map(Number) ?? (quick ? [65536] : [65536, 1048576]);
// --compare other.wasm: A/B of two builds of the core instead of WASM against TypeScript
const compare = argValue('--compare');
const impls = argValue('--impl')?.split(',') ?? (compare ? ['wasm', 'other'] : ['wasm', 'ts']);
const IMPLS = ['wasm', 'ts', 'ref-wasm', 'ref-c', ...(compare ? ['other'] : [])];
for (const name of impls) {
  if (!IMPLS.includes(name)) {
    console.error(`--impl ${name}: one of ${IMPLS.join(', ')}`);
    process.exit(2);
  }
}
type Kind = 'nat-hit' | 'new-session' | 'nat6-hit' | 'syn-cookie';
// --connlog: the director laid out the connection counters and service 0 logs its connections
const connLog = process.argv.includes('--connlog');
const hugePages = !process.argv.includes('--no-huge-pages');
// --scheduler wlc: the service's scheduler (rr by default; the TypeScript baseline has rr only)
const scheduler = (argValue('--scheduler') ?? 'rr') as SchedulerName;
if (!SCHEDULER_NAMES.includes(scheduler)) throw new Error(`--scheduler ${scheduler}: not a scheduler`);
if (scheduler !== 'rr' && impls.includes('ts')) throw new Error(`--scheduler ${scheduler}: the TypeScript baseline schedules rr only (use --impl or --compare)`);
const kinds = (argValue('--case')?.split(',') ?? ['nat-hit', 'new-session', 'nat6-hit', 'syn-cookie']) as Kind[];
/** batches that can be replayed: hits, and SYNs the proxy answers without a session */
const isHit = (k: Kind) => k !== 'new-session';
/** cases only this build of the core has: the baseline (and an older build) sit them out */
const wasmOnly = (k: Kind) => k === 'nat6-hit' || k === 'syn-cookie';
/** the references implement the IPv4 NAT hit path only */
const isRef = (impl: string) => impl.startsWith('ref-');
const runs = (impl: string, k: Kind) => (isRef(impl) ? k === 'nat-hit' : !wasmOnly(k) || impl === 'wasm');
const ROUNDS = quick ? 3 : 7;
const HIT_ITER = quick ? 200 : 600;
const NEW_ITER = quick ? 40 : 24;
const NEW_WARMUP = 4;
const HIT_BATCHES = 1024;

function makeWorld(implName: string, sessions: number, module: WebAssembly.Module, kind: Kind, workers = 1): World {
  // the IPv6 case needs the records' IPv6 extension; the IPv4 cases run without it, as a director
  // without IPv6 services does
  const v6 = kind === 'nat6-hit';
  const layout = computeLayout({
    slotCount: BATCH, maxFrame: 128, sessions: sessions * 2, services: 4, realServers: 16, destinations: 16,
    schedSize: 257, lips: 1, poolEntries: 1, events: 16, localAddresses: 8, ipv6: v6, connStats: connLog, workers,
    // the SYN proxy's service needs the extension records a director with one lays out
    connExt: kind === 'syn-cookie',
  });
  const { memory, core } = bindCore(module, layout);
  const tables = new Tables(memory, layout, core);
  tables.setOptions(0);
  tables.setDevices([
    { mac: DEV0_MAC, mtu: 1500, l2: true, vnet: false, address: '10.0.1.1' },
    { mac: '02:00:00:00:d0:01', mtu: 1500, l2: true, vnet: false, address: '10.0.2.1' },
  ]);
  tables.setLocalAddresses([{ address: VIP, kind: 'vip' }, { address: '10.0.2.1', kind: 'dip' },
    ...(v6 ? [{ address: VIP6, kind: 'vip' as const }] : [])]);
  tables.setService(0, {
    vip: v6 ? VIP6 : VIP, port: 80, protocol: 'tcp', scheduler, forwarding: 'nat', persistence: 0, persistencePrefix: 32,
    hashPort: false, fallback: false, sorry: null, tunnelSource: null,
    // auto: sessions are populated by plain SYNs, then prepare() switches the proxy on
    synProxy: kind === 'syn-cookie' ? 'auto' : 'off', connectionLog: connLog,
  });
  if (kind === 'syn-cookie') {
    tables.setCookieKeys(0, new Uint8Array(abi.COOKIE_KEYS_SIZE).fill(1));
    tables.setCookieKeys(1, new Uint8Array(abi.COOKIE_KEYS_SIZE).fill(2));
  }
  // the real servers are the VIP itself at the director's MAC: NAT'ed frames stay valid hits.
  // New-session frames are used once: there four servers of their own, as a real service has
  for (let i = 0; i < 4; i++) {
    tables.setRealServer(i, {
      service: 0, address: v6 ? VIP6 : kind === 'new-session' ? `10.0.2.${11 + i}` : VIP, port: 80, weight: 1, forwarding: null, device: 0, mac: DEV0_MAC,
      upperThreshold: 0, tunnelSource: null,
    });
  }
  tables.rebuildServiceIndex();
  tables.setDestinations(new Map([[0, [0, 1, 2, 3]]]));
  tables.setHeader(abi.HDR_BATCH_FLAGS, abi.BATCH_L2);
  tables.setHeader(abi.HDR_BATCH_DEV, 0);
  const ts = new TsCore(memory, layout);
  const impl: Impl = implName !== 'ts'
    ? { name: 'wasm', process: (n, now) => core.process(0, n, now) }
    : { name: 'ts', process: (n, now) => ts.processBatch(n, now) };
  return { layout, memory, bytes: new Uint8Array(memory.buffer), view: new DataView(memory.buffer), tables, impl };
}

/**
 * bindCore gives the module a fresh memory with its header written: shared, as the director's
 * (createMemory); a build from before issue 15 imports an unshared one, and `--compare` against
 * it gets that (the A/B then also measures what sharing the memory costs).
 */
function bindCore(module: WebAssembly.Module, layout: Layout): { memory: WebAssembly.Memory; core: CoreExports } {
  const memory = createMemory(layout);
  if (hugePages) adviseHugePages(memory);
  writeHeader(memory, layout);
  try {
    return { memory, core: instantiateCore(module, memory) };
  } catch (err) {
    if (!/shared/.test((err as Error).message)) throw err;
    const pages = layout.memoryBytes / 65536;
    const plain = new WebAssembly.Memory({ initial: pages, maximum: pages });
    writeHeader(plain, layout);
    const abort = () => { throw new Error('WASM core aborted'); };
    return { memory: plain, core: new WebAssembly.Instance(module, { env: { memory: plain,
      abort } }).exports as unknown as CoreExports };
  }
}

/** the client address and port of IPv4 flow i */
function client(i: number): { src: string; sport: number } {
  return { src: `10.${64 + ((i >>> 16) & 63)}.${(i >>> 8) & 255}.${i & 255}`, sport: 1024 + ((i * 7919) % 60000) };
}

/** flow i: a distinct client address and port (IPv6: in one /64, as clients of one network) */
function flow(i: number, flags: string, v6 = false): Uint8Array {
  if (v6) {
    const sport = 1024 + ((i * 7919) % 60000);
    const src = `2001:db8:40::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
    return ethernet(DEV0_MAC, CLIENT_MAC, tcp6Packet({ src, dst: VIP6 }, { sport, dport: 80, flags }), 0x86dd);
  }
  const { src, sport } = client(i);
  return ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src, dst: VIP }, { sport, dport: 80, flags }));
}

/** Batch: the frames of one process() call, kept outside the WASM memory */
type Batch = Uint8Array[];

/**
 * useBatch does what the device read does before each process(): frames land in the slots
 * (so they are in the cache, as after read()) and the descriptors point at them
 */
function useBatch(w: World, frames: Batch): void {
  const { slots, descriptors, headroom } = w.layout;
  const size = w.layout.slotSize;
  for (let i = 0; i < frames.length; i++) {
    const at = slots.base + i * size + headroom;
    w.bytes.set(frames[i], at);
    w.view.setUint32(descriptors.base + i * abi.DESC_SIZE + abi.DESC_OFF, at, true);
    w.view.setUint32(descriptors.base + i * abi.DESC_SIZE + abi.DESC_LEN, frames[i].length, true);
  }
}

/** populate creates `n` sessions through the implementation itself */
function populate(w: World, n: number, v6: boolean): void {
  for (let base = 0; base < n; base += BATCH) {
    const frames = Array.from({ length: Math.min(BATCH, n - base) }, (_, k) => flow(base + k, 'S', v6));
    useBatch(w, frames);
    w.impl.process(frames.length, 1);
  }
  const count = w.view.getUint32(abi.HEADER_BASE + abi.HDR_CONN_COUNT, true);
  if (count !== n) throw new Error(`populated ${count} sessions, wanted ${n}`);
}

/**
 * Trial: one implementation, populated, with its batches and a cursor into them. `load` does
 * what the device read does (outside the timed window), `run` is the timed process() call.
 */
interface Trial {
  load(frames: Batch): void; run(now: number): number;
  batches: Batch[]; next: number; now: number; forwarded: number; runs: number;
}

function prepare(implName: string, sessions: number, kind: Kind, module: WebAssembly.Module): Trial {
  const w = makeWorld(implName, sessions, module, kind);
  populate(w, sessions, kind === 'nat6-hit');
  if (kind === 'syn-cookie') w.tables.setSynProxyOn(0, true);
  return {
    load: (frames) => useBatch(w, frames), run: (now) => w.impl.process(BATCH, now),
    batches: makeBatches(sessions, kind), next: 0, now: 2, forwarded: 0, runs: 0,
  };
}

/** the batches of a case: the same for every implementation (one seed) */
function makeBatches(sessions: number, kind: Kind): Batch[] {
  let rng = 0x2545f491;
  const rand = () => (rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0);
  const batches: Batch[] = [];
  // new-session batches are used once each: enough for every round's warm-up and samples
  // hit batches cover up to 256k distinct flows (the whole 64k table), far more than the cache
  // holds, so replaying them never turns into a cache-resident working set
  const nBatches = isHit(kind) ? Math.min(HIT_BATCHES, sessions / BATCH) : (ROUNDS + 1) * (NEW_ITER + NEW_WARMUP) + 4;
  for (let b = 0; b < nBatches; b++) {
    const frames = Array.from({ length: BATCH }, (_, k) =>
      kind === 'syn-cookie' ? flow(sessions + (rand() % sessions), 'S')
        : isHit(kind) ? flow(rand() % sessions, 'A', kind === 'nat6-hit') : flow(sessions + b * BATCH + k, 'S'));
    batches.push(frames);
  }
  return batches;
}

// ── the references (--impl ref-wasm,ref-c) ────────────────────────────────────────────────────
/** the references' real servers: four, as the core's, taken round robin (each flow keeps one) */
const REF_RS = [0, 1, 2, 3].map((r) => ({ rip: `10.0.2.${10 + r}`, rport: 8080, mac: `02:00:00:00:a0:0${r}` }));

interface RefSetup { built: ReturnType<typeof buildRefs>; workload: Workload; file: string; dir: string }
let refSetup: RefSetup | null = null;

/**
 * refWorkload: the sessions of flows 0..n-1 and the nat-hit batches, shared by both references
 * (and written to a file for the C one); one at a time, the last one kept
 */
function refWorkload(sessions: number): RefSetup {
  if (refSetup?.workload.sessions === sessions) return refSetup;
  if (refSetup) rmSync(refSetup.dir, { recursive: true, force: true });
  const built = refSetup?.built ?? buildRefs();
  const workload = makeWorkload({
    count: sessions,
    at: (i) => ({ ...client(i), dst: VIP, dport: 80, proto: 6, ...REF_RS[i % REF_RS.length] }),
  }, makeBatches(sessions, 'nat-hit'));
  const dir = mkdtempSync(join(tmpdir(), 'wlvs-bench-ref-'));
  const file = join(dir, 'workload.bin');
  writeFileSync(file, workload.bytes);
  refSetup = { built, workload, file, dir };
  return refSetup;
}

function prepareRefWasm(sessions: number): Trial {
  const { built, workload } = refWorkload(sessions);
  const ref = new RefWasm(new WebAssembly.Module(readFileSync(built.wasm)), workload, hugePages);
  return {
    load: (frames) => ref.load(frames), run: () => ref.process(BATCH),
    batches: makeBatches(sessions, 'nat-hit'), next: 0, now: 2, forwarded: 0, runs: 0,
  };
}

/** round runs one tinybench sample set on a trial and returns its median Mpps */
async function round(t: Trial, name: string, kind: Kind): Promise<number> {
  const bench = new Bench({
    time: 0,
    iterations: isHit(kind) ? HIT_ITER : NEW_ITER,
    warmupIterations: isHit(kind) ? 100 : NEW_WARMUP,
    // tinybench warms up for at least warmupTime (250 ms by default) whatever warmupIterations
    // says: thousands of batches, which replayed the new-session batches until 2026-12-03, so
    // that most of that case's SYNs found the session the first pass had made
    warmupTime: 0,
  });
  bench.add(name, () => {
    t.forwarded += t.run(t.now) & 0xffff;
    t.runs++;
  }, {
    // tinybench calls a task once when it is added, to see whether it returns a promise, unless
    // told: that call replayed the batch last loaded (a new-session batch, retransmitted SYNs)
    async: false,
    beforeEach() {
      // a new-session batch replayed would find its sessions: a retransmitted SYN, not a new one
      if (!isHit(kind) && t.next >= t.batches.length) throw new Error(`${name}: out of new-session batches`);
      t.load(t.batches[t.next++ % t.batches.length]);
      t.now++;
    },
  });
  await bench.run();
  const task = bench.tasks[0];
  const r = task.result as unknown as { latency?: { p50?: number; mean: number } } | undefined;
  const ms = r?.latency?.p50 ?? r?.latency?.mean;
  if (!ms) throw new Error(`no result for ${task.name}`);
  return BATCH / (ms * 1000);
}

/** Runner: one implementation of one case, driven a round at a time */
interface Runner {
  name: string;
  /** Mpps of one round (the median batch) */
  round(): Promise<number>;
  /** frames forwarded and frames processed, over every round */
  counts(): { forwarded: number; frames: number };
  close(): Promise<void>;
  /** what the implementation is, when the name does not say (the C reference's compiler flags) */
  build?: string;
}

function runner(name: string, sessions: number, kind: Kind, module: WebAssembly.Module): Runner {
  if (name === 'ref-c') {
    const { built, file } = refWorkload(sessions);
    const c = new RefC(built.c, file, hugePages);
    let forwarded = 0;
    let frames = 0;
    return {
      name, build: built.compiler,
      // the same iterations and warm-up as a tinybench round of the hit path (round above)
      round: async () => {
        const x = await c.round(HIT_ITER, 100);
        forwarded += x.forwarded;
        frames += x.frames;
        return x.mpps;
      },
      counts: () => ({ forwarded, frames }), close: () => c.close(),
    };
  }
  const t = name === 'ref-wasm' ? prepareRefWasm(sessions)
    : prepare(name, sessions, kind, name === 'other' ? compileCore(compare) : module);
  return {
    name, round: () => round(t, `${kind}/${sessions}/${name}`, kind),
    counts: () => ({ forwarded: t.forwarded, frames: t.runs * BATCH }), close: async () => {},
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs: number[], digits = 1) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

async function main(): Promise<void> {
  const module = compileCore();
  const results: { case: string; sessions: number; impl: string; mpps: number }[] = [];
  const baselineTable = !json && !compare && impls.length === 2 && impls.includes('wasm') && impls.includes('ts');
  try {
    for (const sessions of sizes) {
      for (const kind of kinds) {
        const names = impls.filter((n) => runs(n, kind));
        if (names.length === 0) continue;
        const trials: { x: Runner; mpps: number[] }[] = [];
        try {
          for (const name of names) trials.push({ x: runner(name, sessions, kind, module), mpps: [] });
          // alternate the implementations round by round, so drift in the machine's speed hits all
          // round 0 is discarded: V8 may still be running the baseline tier of either implementation
          for (let r = 0; r <= ROUNDS; r++) {
            for (const t of trials) {
              const mpps = await t.x.round();
              if (r > 0) t.mpps.push(mpps);
            }
          }
        } finally {
          for (const t of trials) await t.x.close();
        }
        for (const { x, mpps: rounds } of trials) {
          const { forwarded, frames } = x.counts();
          if (forwarded < frames * 0.99) throw new Error(`${kind}/${x.name}: forwarded ${forwarded} of ${frames}`);
          const mpps = Math.round(median(rounds) * 10) / 10;
          results.push({ case: kind, sessions, impl: x.name, mpps });
          if (!baselineTable || wasmOnly(kind)) {
            console.log(JSON.stringify({ case: kind, sessions, impl: x.name, mpps, rounds: range(rounds),
              ...(x.build ? { build: x.build } : {}) }));
          }
        }
        // against the C reference: the ratio of the medians, and the range of the ratios of the
        // rounds (each round's figures were taken back to back, so drift mostly cancels in them)
        const c = trials.find((t) => t.x.name === 'ref-c');
        if (c) {
          const ratios: Record<string, string> = {};
          for (const t of trials.filter((u) => u !== c)) {
            const perRound = t.mpps.map((m, i) => m / c.mpps[i]);
            ratios[`${t.x.name}/ref-c`] = `${(median(t.mpps) / median(c.mpps)).toFixed(2)} (${range(perRound, 2)})`;
          }
          console.log(JSON.stringify({ case: kind, sessions, ratios }));
        }
      }
    }
  } finally {
    if (refSetup) rmSync(refSetup.dir, { recursive: true, force: true });
  }
  if (baselineTable) {
    console.log(`case         sessions   wasm Mpps   ts Mpps   wasm/ts   (median of ${ROUNDS} alternating rounds)`);
    for (const kind of kinds.filter((k) => !wasmOnly(k))) {
      for (const sessions of sizes) {
        const get = (impl: string) =>
          results.find((r) => r.case === kind && r.sessions === sessions && r.impl === impl)!.mpps;
        console.log(`${kind.padEnd(12)} ${String(sessions).padStart(8)}   ${String(get('wasm')).padStart(9)}   ${String(get('ts')).padStart(7)}   ${(get('wasm') / get('ts')).toFixed(2)}×`);
      }
    }
  }
}

// ── --threads 1,2: N threads over one shared table, each on its own lane (issue 12) ────────────
// The NAT hit path (--case nat-hit, the default) or new sessions (--case new-session), WASM only.
// Each count gets its own table (director.workers = N: with one lane the core takes no table
// lock) and N worker threads (thread.ts), thread t on its own flows (≡ t mod N): hits replayed,
// or SYNs of flows never seen, each batch used once, on a table populated as the hit path's. A
// round: every thread runs its batches, let go together; the figure is all threads' frames over
// the wall time from the first start to the last end (the slot copies included, as the device
// read is part of a worker's time), the median of THREAD_ROUNDS rounds after one discarded
// warm-up, the counts alternating round by round.
const THREAD_ROUNDS = quick ? 3 : 5;
const THREAD_ITER = quick ? 500 : 2000;
// new sessions: batches a thread runs a round, each a fresh one. Their sessions must fit the
// table the hit path has (capacity twice the sessions, as the single-thread new-session case):
// a larger table would move the index out of the cache and time memory instead of the lock.
// Two threads at 64k add (THREAD_ROUNDS + 1) * THREAD_NEW_ITER * BATCH * 2 = 49k sessions.
const THREAD_NEW_ITER = 16;

interface ThreadSetup {
  n: number; shared: boolean; kind: Kind; workers: Worker[]; gate: Int32Array; arrivals: number;
  /**
   * batches each thread has run so far: the clock (populate ran at 1) and, for new sessions,
   * the next fresh batch
   */
  done: number;
}

/**
 * startThreads: n threads over one table of `sessions` sessions (shared), or, as the reference
 * without sharing, each over a table of its own of sessions / n (one lane: no lock, no line any
 * other thread writes), the same number of records in all
 */
async function startThreads(n: number, sessions: number, module: WebAssembly.Module,
  shared: boolean, kind: Kind): Promise<ThreadSetup> {
  const lanes = shared ? Number(argValue('--lanes') ?? n) : 1;
  if (!Number.isInteger(lanes) || (shared && lanes < n) || lanes > 16) throw new Error(`--lanes ${lanes}: ${n} to 16`);
  const per = Math.floor(sessions / n);
  const one = shared ? makeWorld('wasm', sessions, module, kind, lanes) : undefined;
  if (one) populate(one, sessions, false);
  const gate = new Int32Array(new SharedArrayBuffer(4));
  let rng = 0x2545f491 + n;
  const rand = () => (rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0);
  const workers = Array.from({ length: n }, (_, t) => {
    let w = one;
    if (!w) {
      w = makeWorld('wasm', per, module, kind, 1);
      populate(w, per, false);
    }
    // on the shared table thread t owns the flows ≡ t mod n; on its own table, all of them
    const own = (i: number) => (shared ? i * n + t : i);
    const batches = !isHit(kind)
      ? Array.from({ length: (THREAD_ROUNDS + 1) * THREAD_NEW_ITER }, (_, b) =>
        Array.from({ length: BATCH }, (_, k) => flow(own(sessions + b * BATCH + k), 'S')))
      : Array.from({ length: Math.min(HIT_BATCHES, per / BATCH) }, () =>
        Array.from({ length: BATCH }, () => flow(own(rand() % per), 'A')));
    const data: ThreadData = { memory: w.memory, layout: w.layout, module, lane: shared ? t : 0, batches, gate };
    return new Worker(new URL('./thread.js', import.meta.url), { workerData: data });
  });
  await Promise.all(workers.map((t) => new Promise((resolve, reject) => {
    t.once('message', resolve);
    t.once('error', reject);
  })));
  return { n, shared, kind, workers, gate, arrivals: 0, done: 0 };
}

async function threadRound(s: ThreadSetup): Promise<{ mpps: number; processMpps: number }> {
  s.arrivals += s.n;
  const hits = isHit(s.kind);
  const iterations = hits ? THREAD_ITER : THREAD_NEW_ITER;
  // hits replay their batches from the first every round; new sessions go on to fresh ones
  const job: ThreadJob = { iterations, first: hits ? 0 : s.done, gate: s.arrivals, now: 2 + s.done };
  s.done += iterations;
  const rs = await Promise.all(s.workers.map((t) => new Promise<ThreadResult>((resolve, reject) => {
    t.once('message', resolve);
    t.once('error', reject);
    t.postMessage(job);
  })));
  for (const r of rs) if (r.forwarded < r.frames * 0.99) throw new Error(`--threads ${s.n}: forwarded ${r.forwarded} of ${r.frames}`);
  const frames = rs.reduce((n, r) => n + r.frames, 0);
  const wall = Math.max(...rs.map((r) => r.end)) - Math.min(...rs.map((r) => r.start));
  // inside process() only, per thread: with the table lock this includes the wait for it
  const processMpps = rs.reduce((x, r) => x + r.frames / r.processMs / 1000, 0) / rs.length;
  return { mpps: frames / wall / 1000, processMpps };
}

async function mainThreads(counts: number[]): Promise<void> {
  const kind = (argValue('--case') ?? 'nat-hit') as Kind;
  if (kind !== 'nat-hit' && kind !== 'new-session') throw new Error(`--threads runs --case nat-hit or new-session, not ${kind}`);
  const other = argValue('--core');
  const module = other ? compileCore(other) : compileCore();
  for (const sessions of sizes) {
    const setups: ThreadSetup[] = [];
    for (const n of counts) setups.push(await startThreads(n, sessions, module, true, kind));
    // the reference: the same thread counts above one, each thread on a table of its own
    if (!process.argv.includes('--no-private')) {
      for (const n of counts) if (n > 1) setups.push(await startThreads(n, sessions, module, false, kind));
    }
    const figures = setups.map(() => ({ mpps: [] as number[], processMpps: [] as number[] }));
    for (let r = 0; r <= THREAD_ROUNDS; r++) {
      for (const [i, s] of setups.entries()) {
        const x = await threadRound(s);
        if (r > 0) {
          figures[i].mpps.push(x.mpps);
          figures[i].processMpps.push(x.processMpps);
        }
      }
    }
    for (const [i, s] of setups.entries()) {
      const f = figures[i];
      console.log(JSON.stringify({
        case: kind, sessions, threads: s.n, table: s.shared ? 'shared' : 'per-thread',
        lanes: s.shared ? Number(argValue('--lanes') ?? s.n) : 1, ...(other ? { core: other } : {}),
        mpps: Math.round(median(f.mpps) * 10) / 10,
        rounds: `${Math.min(...f.mpps).toFixed(1)}–${Math.max(...f.mpps).toFixed(1)}`,
        perThreadProcessMpps: Math.round(median(f.processMpps) * 10) / 10,
      }));
      await Promise.all(s.workers.map((t) => t.terminate()));
    }
  }
}

const threadCounts = argValue('--threads')?.split(',').map(Number);
if (threadCounts && threadCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
  console.error('--threads takes counts 1 to 16, e.g. --threads 1,2');
  process.exit(2);
}

(threadCounts ? mainThreads(threadCounts) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
