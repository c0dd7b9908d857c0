// wasm-abi.test.ts — the contract between the host and the WASM core, checked on the built
// modules (as undici checks llhttp.wasm): what they import, what they export, that the loader
// refuses a module that does not fit, and that the per-packet path never calls an allocator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import binaryen from 'binaryen';
import * as abi from '../../src/dataplane/abi.js';
import { compileCore, coreModulePath, instantiateCore } from '../../src/dataplane/module.js';
import { WlvsError } from '../../src/errors.js';

const memory = () => new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });

test('the release core imports the memory and nothing else', () => {
  const imports = WebAssembly.Module.imports(compileCore(coreModulePath('release')));
  assert.deepEqual(imports.map((i) => `${i.module}.${i.name}:${i.kind}`), ['env.memory:memory']);
});

test('the debug core imports the memory and at most abort (turned into WLVS_ERR_WASM_TRAP)', () => {
  const imports = WebAssembly.Module.imports(compileCore(coreModulePath('debug'))).map((i) => `${i.module}.${i.name}`);
  assert.ok(imports.includes('env.memory'));
  assert.deepEqual(imports.filter((i) => i !== 'env.memory' && i !== 'env.abort'), []);
});

test('both builds import the memory shared (threads), with room for any layout, and the loader insists on it', () => {
  for (const file of ['core.wat', 'core.debug.wat']) {
    const wat = readFileSync(new URL(`../../../build/${file}`, import.meta.url), 'utf8');
    // the host's memory is as large as its layout: the module's maximum must not be smaller
    assert.match(wat, /\(import "env" "memory" \(memory \$\S+ \d+ 65536 shared\)\)/, file);
  }
  const unshared = new WebAssembly.Memory({ initial: 4, maximum: 4 });
  assert.throws(() => instantiateCore(compileCore(coreModulePath('release')), unshared), (err: unknown) =>
    WlvsError.is(err) && err.code === 'WLVS_ERR_CORE_LOAD' && /shared memory/.test(err.message));
  // a core built without the threads feature (as before issue 15) cannot link to a shared memory
  assert.throws(() => instantiateCore(fakeCore({ unshared: true }), memory()), (err: unknown) =>
    WlvsError.is(err) && err.code === 'WLVS_ERR_CORE_LOAD' && /does not link to the shared memory/.test(err.message));
});

test('both builds export every function the host expects, and it loads', () => {
  for (const flavour of ['release', 'debug'] as const) {
    const m = compileCore(coreModulePath(flavour));
    const names = new Set(WebAssembly.Module.exports(m).filter((e) => e.kind === 'function').map((e) => e.name));
    for (const name of abi.CORE_EXPORTS) assert.ok(names.has(name), `${flavour} lacks ${name}`);
    const core = instantiateCore(m, memory());
    assert.equal(core.abiVersion(), abi.ABI_VERSION);
    assert.ok(core.staticEnd() <= abi.HEADER_BASE);
  }
});

/**
 * fakeCore builds a module with the contract's shape: every CORE_EXPORTS function (returning 0),
 * abiVersion and staticEnd returning the given values, minus the exports in `omit`, plus any
 * extra imports.
 */
function fakeCore(opts: {
  abiVersion?: number; staticEnd?: number; omit?: string[]; importFn?: [string, string]; unshared?: boolean;
}): WebAssembly.Module {
  const m = new binaryen.Module();
  if (opts.unshared) {
    m.setMemory(1, -1, null);
  } else {
    m.setFeatures(binaryen.Features.Atomics);
    m.setMemory(1, 65536, null, [], true);
  }
  m.addMemoryImport('0', 'env', 'memory');
  if (opts.importFn) m.addFunctionImport('imported', opts.importFn[0], opts.importFn[1], binaryen.none, binaryen.none);
  const returns: Record<string, number> = { abiVersion: opts.abiVersion ?? abi.ABI_VERSION,
    staticEnd: opts.staticEnd ?? 1024 };
  for (const name of abi.CORE_EXPORTS) {
    if (opts.omit?.includes(name)) continue;
    m.addFunction(name, binaryen.none, binaryen.i32, [], m.i32.const(returns[name] ?? 0));
    m.addFunctionExport(name, name);
  }
  assert.ok(m.validate(), 'fake module validates');
  const bytes = m.emitBinary();
  m.dispose();
  return new WebAssembly.Module(bytes);
}

function refused(module: WebAssembly.Module, pattern: RegExp): void {
  assert.throws(() => instantiateCore(module, memory()), (err: unknown) => {
    assert.ok(WlvsError.is(err), 'a WlvsError');
    assert.equal(err.code, 'WLVS_ERR_CORE_LOAD');
    assert.match(err.message, pattern);
    return true;
  });
}

test('a module that fits the contract is accepted (the fake itself is sound)', () => {
  assert.equal(instantiateCore(fakeCore({}), memory()).abiVersion(), abi.ABI_VERSION);
});

test('a module without one of the exports is refused, naming it', () => {
  for (const name of abi.CORE_EXPORTS) refused(fakeCore({ omit: [name] }), new RegExp(`lacks export ${name}\\b`));
});

test('a module of another ABI version is refused', () => {
  refused(fakeCore({ abiVersion: abi.ABI_VERSION + 1 }), /speaks ABI/);
});

test('a module whose static data reaches into the header is refused', () => {
  refused(fakeCore({ staticEnd: abi.HEADER_BASE + 64 }), /static data ends at/);
});

test('a module importing anything but the memory (and abort) is refused', () => {
  refused(fakeCore({ importFn: ['wasi_snapshot_preview1', 'fd_write'] }), /imports unexpected wasi_snapshot_preview1\.fd_write/);
});

// ── no allocator on the per-packet path ─────────────────────────────────────────────────────
/** callGraph reads `(func $name ...)` bodies of a .wat and the functions each one calls */
function callGraph(wat: string): { calls: Map<string, Set<string>>; exports: Map<string,
  string>; indirect: Set<string> } {
  const calls = new Map<string, Set<string>>();
  const exports = new Map<string, string>();
  const indirect = new Set<string>();
  let current: string | null = null;
  for (const line of wat.split('\n')) {
    const ex = /^\s*\(export "([^"]+)" \(func (\$[^\s)]+)\)\)/.exec(line);
    if (ex) exports.set(ex[1], ex[2]);
    const fn = /^ \(func (\$[^\s)]+)/.exec(line);
    if (fn) {
      current = fn[1];
      calls.set(current, new Set());
      continue;
    }
    if (!current) continue;
    for (const c of line.matchAll(/\b(?:call|return_call) (\$[^\s)]+)/g)) calls.get(current)!.add(c[1]);
    if (/\bcall_indirect\b|\bmemory\.grow\b/.test(line)) indirect.add(current);
  }
  return { calls, exports, indirect };
}

/** forbiddenFrom lists what `entry` reaches that allocates, grows memory or calls indirectly */
function forbiddenFrom(wat: string, entry: string): string[] {
  const { calls, exports, indirect } = callGraph(wat);
  const start = exports.get(entry);
  assert.ok(start, `export ${entry} found in the .wat`);
  const seen = new Set<string>([start]);
  const todo = [start];
  const bad: string[] = [];
  while (todo.length) {
    const f = todo.pop()!;
    if (/^\$~lib\/rt\/|__new|__alloc|__renew|__pin|__collect/.test(f)) bad.push(f);
    if (indirect.has(f)) bad.push(`${f} (indirect call or memory.grow)`);
    for (const g of calls.get(f) ?? []) {
      if (!seen.has(g)) {
        seen.add(g);
        todo.push(g);
      }
    }
  }
  return bad;
}

test('the call-graph check finds an allocation when there is one', () => {
  const wat = [
    ' (export "process" (func $a/process))',
    ' (func $a/process (param $n i32) (result i32)',
    '  (call $a/helper)',
    ' )',
    ' (func $a/helper',
    '  (drop (call $~lib/rt/stub/__new (i32.const 8) (i32.const 3)))',
    ' )',
  ].join('\n');
  assert.deepEqual(forbiddenFrom(wat, 'process'), ['$~lib/rt/stub/__new']);
});

test('nothing reachable from process() or sweep() allocates, grows memory or calls indirectly', () => {
  for (const file of ['core.debug.wat', 'core.wat']) {
    const wat = readFileSync(new URL(`../../../build/${file}`, import.meta.url), 'utf8');
    for (const entry of ['process', 'sweep', 'importSession']) {
      assert.deepEqual(forbiddenFrom(wat, entry), [], `${file}: ${entry}`);
    }
  }
});

// ── the generator refuses what it cannot read ───────────────────────────────────────────────
test('gen-abi fails on a contract line it cannot read, and on a hole in the drop reasons', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const repo = new URL('../../../', import.meta.url).pathname;
  const abiText = readFileSync(join(repo, 'assembly/abi.ts'), 'utf8');
  const indexText = readFileSync(join(repo, 'assembly/index.ts'), 'utf8');
  const run = (abiSource: string, indexSource = indexText) => {
    const dir = mkdtempSync(join(tmpdir(), 'wlvs-genabi-'));
    try {
      for (const d of ['assembly', 'src/dataplane', 'native']) mkdirSync(join(dir, d), { recursive: true });
      writeFileSync(join(dir, 'assembly/abi.ts'), abiSource);
      writeFileSync(join(dir, 'assembly/index.ts'), indexSource);
      return spawnSync(process.execPath, [join(repo, 'scripts/gen-abi.mjs'), '--root', dir], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  assert.equal(run(abiText).status, 0, 'the real contract generates');
  const odd = run(abiText.replace('@inline export const DESC_SIZE: u32 = 16;', '@inline export const DESC_SIZE = 16 as u32;'));
  assert.equal(odd.status, 2);
  assert.match(odd.stderr, /cannot read .*DESC_SIZE/);
  const hole = run(abiText.replace(/@inline export const DROP_GSO: u8 = \d+;/, '@inline export const DROP_GSO: u8 = 40;'));
  assert.equal(hole.status, 2);
  assert.match(hole.stderr, /DROP_GSO = 40 outside/);
  const u64 = run(abiText, indexText.replace('export function sweep(lane: u32, budget: u32, now: u32): u32 {', 'export function sweep(lane: u32, budget: u64, now: u32): u32 {'));
  assert.equal(u64.status, 2);
  assert.match(u64.stderr, /sweep: parameter "budget: u64" must be u32/);
});
