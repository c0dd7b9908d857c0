// ref.ts — the host side of bench:core's reference implementations of the NAT hit path (issue
// 12): builds them on demand, writes the workload they share (sessions and batches of frames),
// and drives them: the AssemblyScript one (assembly/nat_ref.ts) in this process, the C one
// (nat_ref.c) as a child process that times its own batches and prints Mpps as JSON.
// Used by bench/core/run.ts (--impl ref-wasm,ref-c) and test/bench/nat-ref.test.ts.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ipToBytes, macToBytes } from '../../../test/oracle/packet.js';
import { adviseHugePages } from '../../../src/io/huge-pages.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const src = `${repo}bench/core/ref/`;
const out = `${repo}build/ref/`;

/** how the C reference is built: the system gcc, plain -O2 (no -march: any x86-64) */
export const CC = 'gcc';
export const CFLAGS = ['-O2', '-std=c11', '-Wall', '-Wextra'];

/** the slot shape of the core's layout for 128-byte frames (computeLayout: slotSize, headroom) */
export const SLOT_SIZE = 192;
export const HEADROOM = 64;
/** bytes of a frame record in the workload (and of the C reference's `once` output, plus 4) */
export const FRAME_MAX = 128;
const FRAME_REC = 4 + FRAME_MAX;
const SESSION_REC = 32;
const MAGIC = 0x31464e57;

const stale = (target: string, sources: string[]) =>
  !existsSync(target) || sources.some((s) => statSync(s).mtimeMs > statSync(target).mtimeMs);

/**
 * buildRefs compiles the references if their sources are newer than the builds (asc with
 * ref/asconfig.json: -O3, noAssert, a shared imported memory as the core's; gcc with CFLAGS).
 * Each build goes to a temporary name first, so a concurrent reader never sees half a file.
 */
export function buildRefs(): { wasm: string; c: string; compiler: string } {
  mkdirSync(out, { recursive: true });
  const wasm = `${out}nat_ref.wasm`;
  const c = `${out}nat_ref`;
  if (stale(wasm, [`${src}assembly/nat_ref.ts`, `${src}asconfig.json`])) {
    const tmp = `${out}nat_ref.${process.pid}.wasm`;
    execFileSync(`${repo}node_modules/.bin/asc`, [`${src}assembly/nat_ref.ts`, '--config', `${src}asconfig.json`,
      '--target', 'release', '--outFile', tmp, '--textFile', `${out}nat_ref.wat`], { cwd: repo, stdio: 'inherit' });
    renameSync(tmp, wasm);
  }
  if (stale(c, [`${src}nat_ref.c`])) {
    const tmp = `${c}.${process.pid}`;
    execFileSync(CC, [...CFLAGS, '-o', tmp, `${src}nat_ref.c`], { stdio: 'inherit' });
    renameSync(tmp, c);
  }
  const version = execFileSync(CC, ['-dumpfullversion']).toString().trim();
  return { wasm, c, compiler: `${CC} ${version} ${CFLAGS.join(' ')}` };
}

/** a session of the reference's table: the client's tuple to the VIP and its real server */
export interface RefSession {
  src: string; dst: string; sport: number; dport: number; proto: number;
  rip: string; rport: number; mac: string;
}

/** Workload: what both references are given, in the C reference's file format */
export interface Workload { sessions: number; capLog2: number; batches: number; batchSize: number; bytes: Uint8Array }

/**
 * makeWorkload lays out sessions and batches of frames: a header, one 32-byte record a session
 * (wire-order values), one record a frame. The table has 2^capLog2 entries, at least twice the
 * sessions, as the core's (computeLayout rounds 2 × sessions up to a power of two).
 */
export function makeWorkload(sessions: RefSession[] | { count: number; at: (i: number) => RefSession },
  batches: Uint8Array[][]): Workload {
  const count = Array.isArray(sessions) ? sessions.length : sessions.count;
  const at = Array.isArray(sessions) ? (i: number) => sessions[i] : sessions.at;
  const batchSize = batches[0].length;
  const capLog2 = Math.max(4, Math.ceil(Math.log2(Math.max(1, count) * 2)));
  const frameCount = batches.length * batchSize;
  const bytes = new Uint8Array(32 + count * SESSION_REC + frameCount * FRAME_REC);
  const dv = new DataView(bytes.buffer);
  const header = [MAGIC, count, capLog2, batches.length, batchSize, SLOT_SIZE, HEADROOM, 0];
  header.forEach((v, i) => dv.setUint32(i * 4, v, true));
  for (let i = 0; i < count; i++) {
    const s = at(i);
    const r = 32 + i * SESSION_REC;
    bytes.set(ipToBytes(s.src), r);
    bytes.set(ipToBytes(s.dst), r + 4);
    dv.setUint16(r + 8, s.sport);
    dv.setUint16(r + 10, s.dport);
    dv.setUint32(r + 12, s.proto, true);
    bytes.set(ipToBytes(s.rip), r + 16);
    dv.setUint16(r + 20, s.rport);
    bytes.set(macToBytes(s.mac), r + 24);
  }
  let r = 32 + count * SESSION_REC;
  for (const batch of batches) {
    if (batch.length !== batchSize) throw new Error('every batch of a workload has the same size');
    for (const f of batch) {
      if (f.length > FRAME_MAX) throw new Error(`frame of ${f.length} bytes > ${FRAME_MAX}`);
      dv.setUint32(r, f.length, true);
      bytes.set(f, r + 4);
      r += FRAME_REC;
    }
  }
  return { sessions: count, capLog2, batches: batches.length, batchSize, bytes };
}

interface RefExports {
  init(desc: number, scratch: number, table: number, capLog2: number): void;
  insert(src: number, dst: number, ports: number, proto: number,
    rip: number, rport: number, macLo: number, macHi: number): number;
  process(count: number): number;
  touched(): number;
}

/** RefWasm: the AssemblyScript reference over its own memory, populated from a workload */
export class RefWasm {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly ex: RefExports;
  private readonly desc = 4096;
  private readonly slots: number;
  readonly batchSize: number;

  constructor(module: WebAssembly.Module, w: Workload, hugePages = false) {
    this.batchSize = w.batchSize;
    const scratch = this.desc + w.batchSize * 16;
    this.slots = align(scratch + w.batchSize * 8, 65536);
    const table = align(this.slots + w.batchSize * SLOT_SIZE, 65536);
    const pages = Math.ceil((table + 2 ** w.capLog2 * 32) / 65536);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    if (hugePages) adviseHugePages(memory);
    this.ex = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as RefExports;
    this.bytes = new Uint8Array(memory.buffer);
    this.view = new DataView(memory.buffer);
    this.ex.init(this.desc, scratch, table, w.capLog2);
    const v = new DataView(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength);
    for (let i = 0; i < w.sessions; i++) {
      const r = 32 + i * SESSION_REC;
      const u = (o: number) => v.getUint32(r + o, true);
      const u16 = (o: number) => v.getUint16(r + o, true);
      if (!this.ex.insert(u(0), u(4), u(8), u(12), u(16), u16(20), u(24), u16(28))) {
        throw new Error('reference table full');
      }
    }
  }

  /** load does what the device read does: the frames into the slots, the descriptors set */
  load(frames: Uint8Array[]): void {
    for (let i = 0; i < frames.length; i++) {
      const at = this.slots + i * SLOT_SIZE + HEADROOM;
      this.bytes.set(frames[i], at);
      this.view.setUint32(this.desc + i * 16, at, true);
      this.view.setUint32(this.desc + i * 16 + 4, frames[i].length, true);
    }
  }

  process(count: number): number {
    return this.ex.process(count);
  }

  /** the frames of the last batch as they are now, with their verdicts */
  result(count: number): { verdict: number; frame: Uint8Array }[] {
    return Array.from({ length: count }, (_, i) => {
      const at = this.view.getUint32(this.desc + i * 16, true);
      const len = this.view.getUint32(this.desc + i * 16 + 4, true);
      return { verdict: this.view.getUint32(this.desc + i * 16 + 8, true), frame: this.bytes.slice(at, at + len) };
    });
  }
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

/** refCOnce runs the C reference on the workload's first batch and returns its frames */
export function refCOnce(binary: string, workloadFile: string): { verdict: number; frame: Uint8Array }[] {
  const outBytes = execFileSync(binary, ['once', workloadFile], { maxBuffer: 64 << 20 });
  const dv = new DataView(outBytes.buffer, outBytes.byteOffset, outBytes.byteLength);
  const res = [];
  for (let at = 0; at < outBytes.length; at += 8 + FRAME_MAX) {
    const len = dv.getUint32(at + 4, true);
    res.push({ verdict: dv.getUint32(at, true), frame: Uint8Array.from(outBytes.subarray(at + 8, at + 8 + len)) });
  }
  return res;
}

/** RefC: the C reference in bench mode, one child process, one round a request */
export class RefC {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private failure: Error | null = null;

  /** `hugePages`: its table in transparent huge pages, as the core's memory (run.ts) */
  constructor(binary: string, workloadFile: string, hugePages = false) {
    this.child = spawn(binary, ['bench', workloadFile, ...(hugePages ? ['huge'] : [])]);
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    this.child.on('exit', (code, signal) => {
      this.failure = new Error(`C reference exited (${code ?? signal})`);
      for (const w of this.waiting.splice(0)) w('');
    });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
  }

  /** round: `warmup` untimed, then `iterations` timed batches; Mpps from the median batch */
  async round(iterations: number, warmup: number): Promise<{ mpps: number; forwarded: number; frames: number }> {
    if (this.failure) throw this.failure;
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`round ${iterations} ${warmup}\n`);
    });
    if (!line) throw this.failure ?? new Error('C reference gave no answer');
    return JSON.parse(line) as { mpps: number; forwarded: number; frames: number };
  }

  /** close ends the child (its stdin closes, it exits) and waits for it */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await done;
    this.lines.close();
  }
}
