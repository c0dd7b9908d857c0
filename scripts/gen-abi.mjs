// Generates, from the two sources of the WASM contract, every file that mirrors them:
//   assembly/abi.ts   (memory layout, verdicts, drop reasons, states)  -> src/dataplane/abi.ts, native/abi.h
//   assembly/index.ts (the module's exports)                            -> CoreExports and CORE_EXPORTS in
//                                                                          src/dataplane/abi.ts
// With --check it fails (exit 1) when a committed file differs from what it would generate, so CI
// catches a contract edited on one side only. Any `export const` or `export function` line it
// cannot read is an error, never silently skipped.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// --root DIR reads and writes under DIR instead of the repository (the generator's own tests)
const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? `${process.argv[rootArg + 1].replace(/\/$/, '')}/` : fileURLToPath(new URL('..', import.meta.url));
const fail = (msg) => {
  console.error(`gen-abi: ${msg}`);
  process.exit(2);
};

// ── constants ──────────────────────────────────────────────────────────────────────────────
const CONST_RE = /^@inline export const ([A-Z][A-Z0-9_]*): (u8|u16|u32|i32) = ([^;]+);(?:\s*\/\/(.*))?$/;
const constants = [];
const byName = new Map();
const abiLines = readFileSync(`${root}assembly/abi.ts`, 'utf8').split('\n');
abiLines.forEach((raw, i) => {
  const line = raw.trim();
  if (line.startsWith('//') || !line.includes('export const')) return;
  const m = CONST_RE.exec(line);
  if (!m) fail(`assembly/abi.ts:${i + 1}: cannot read "${line}" (expected: @inline export const NAME: u8|u16|u32|i32 = value;)`);
  const [, name, type, exprRaw, comment] = m;
  const label = /^\s*label:\s*([a-z0-9_]+)\s*$/.exec(comment ?? '')?.[1];
  const expr = exprRaw.replace(/<\w+>/g, '').trim();
  if (!/^[A-Z0-9_x+\-*()<> |&~]+$/i.test(expr)) fail(`assembly/abi.ts:${i + 1}: ${name}: unsupported expression ${expr}`);
  for (const ref of expr.match(/\b[A-Z][A-Z0-9_]+\b/g) ?? []) {
    if (!byName.has(ref)) fail(`assembly/abi.ts:${i + 1}: ${name} refers to ${ref} before it is defined`);
  }
  if (byName.has(name)) fail(`assembly/abi.ts:${i + 1}: ${name} defined twice`);
  // evaluate with the earlier constants in scope, so the name tables can be ordered by value
  const value = Function(...byName.keys(), `return (${expr});`)(...[...byName.values()].map((c) => c.value));
  const c = { name, type, expr, value, label: label ?? null, line: i + 1 };
  constants.push(c);
  byName.set(name, c);
});

/** nameTable builds value -> label for a family PREFIX_*, which must number 0..PREFIX_COUNT-1. */
function nameTable(prefix, countName, toLabel) {
  const members = constants.filter((c) => c.name.startsWith(prefix) && c.name !== countName);
  const count = byName.get(countName)?.value;
  if (count === undefined) fail(`assembly/abi.ts: ${countName} is missing`);
  const names = new Array(count).fill(null);
  for (const c of members) {
    if (!Number.isInteger(c.value) || c.value < 0 || c.value >= count) fail(`assembly/abi.ts:${c.line}: ${c.name} = ${c.value} outside [0, ${countName})`);
    if (names[c.value] !== null) fail(`assembly/abi.ts:${c.line}: ${c.name} has the value of another ${prefix}* constant`);
    names[c.value] = c.label ?? toLabel(c.name.slice(prefix.length));
  }
  const hole = names.indexOf(null);
  if (hole >= 0) fail(`assembly/abi.ts: no ${prefix}* constant has the value ${hole} (${countName} = ${count})`);
  return names;
}
const dropNames = nameTable('DROP_', 'DROP_COUNT', (s) => s.toLowerCase());
const stateNames = nameTable('TCP_S_', 'TCP_S_COUNT', (s) => s);

// ── exports of the module ───────────────────────────────────────────────────────────────────
const EXPORT_RE = /^export function ([a-z][A-Za-z0-9]*)\(([^)]*)\): (u32|void) \{$/;
const exportsOut = [];
const idxLines = readFileSync(`${root}assembly/index.ts`, 'utf8').split('\n');
let doc = [];
idxLines.forEach((raw, i) => {
  const line = raw.trim();
  if (line.startsWith('/**')) doc = [];
  if (line.startsWith('/**') || line.startsWith('*')) {
    const text = line.replace(/^\/\*\*|\*\/$|^\*\/?/g, '').trim();
    if (text) doc.push(text);
    return;
  }
  if (!line.startsWith('export')) {
    if (line !== '') doc = [];
    return;
  }
  if (line.startsWith('export {') || line.startsWith('export *')) fail(`assembly/index.ts:${i + 1}: re-exports hide the contract; write the export out`);
  const m = EXPORT_RE.exec(line);
  if (!m) fail(`assembly/index.ts:${i + 1}: cannot read "${line}" (expected: export function name(a: u32, ...): u32 {)`);
  const [, name, params, ret] = m;
  const args = params.trim() === '' ? [] : params.split(',').map((p) => {
    const pm = /^\s*([a-z][A-Za-z0-9]*): u32\s*$/.exec(p);
    // a u64 would cross the boundary as a BigInt (5.5 ns a call instead of 1.6, docs/design.md)
    if (!pm) fail(`assembly/index.ts:${i + 1}: ${name}: parameter "${p.trim()}" must be u32`);
    return pm[1];
  });
  exportsOut.push({ name, args, ret, doc });
  doc = [];
});
if (exportsOut.length === 0) fail('assembly/index.ts: no exports found');

// ── src/dataplane/abi.ts ────────────────────────────────────────────────────────────────────
const ts = [
  '// GENERATED by scripts/gen-abi.mjs from assembly/abi.ts and assembly/index.ts: do not edit; run',
  '// `npm run build:abi`. Field meanings and layout diagrams are in assembly/abi.ts.',
  '',
  ...constants.map((c) => `export const ${c.name} = ${c.expr};`),
  '',
  '/** metric label of each drop reason, indexed by DROP_* value */',
  `export const DROP_REASON_NAMES: readonly string[] = ${JSON.stringify(dropNames)};`,
  '',
  '/** IPVS name of each TCP state, indexed by TCP_S_* value */',
  `export const TCP_STATE_NAMES: readonly string[] = ${JSON.stringify(stateNames)};`,
  '',
  '/** What the host expects the core to export (assembly/index.ts). Every parameter and result is a u32. */',
  'export interface CoreExports {',
  ...exportsOut.flatMap((e) => [
    ...(e.doc.length ? [`  /** ${e.doc.join(' ')} */`] : []),
    `  ${e.name}(${e.args.map((a) => `${a}: number`).join(', ')}): ${e.ret === 'void' ? 'void' : 'number'};`,
  ]),
  '}',
  '',
  '/** The names of CoreExports, for the loader to check. */',
  `export const CORE_EXPORTS: readonly (keyof CoreExports)[] = ${JSON.stringify(exportsOut.map((e) => e.name))};`,
  '',
].join('\n');

// ── native/abi.h ────────────────────────────────────────────────────────────────────────────
const cType = { u8: 'u', u16: 'u', u32: 'u', i32: '' };
const h = [
  '// GENERATED by scripts/gen-abi.mjs from assembly/abi.ts: do not edit; run `npm run build:abi`.',
  '// Field meanings and layout diagrams are in assembly/abi.ts.',
  '#ifndef WLVS_ABI_H',
  '#define WLVS_ABI_H',
  '',
  // prefixed: names like ETH_HLEN, IPPROTO_TCP and SCHED_RR also live in the system headers
  ...constants.map((c) => `#define WLVS_${c.name} ${/^(0x[0-9a-f]+|[0-9]+)$/i.test(c.expr) ? c.expr + cType[c.type]
    : `(${c.expr.replace(/\b([A-Z][A-Z0-9_]+)\b/g, 'WLVS_$1')})`}`),
  '',
  '#endif',
  '',
].join('\n');

const outputs = [[`${root}src/dataplane/abi.ts`, ts], [`${root}native/abi.h`, h]];
if (process.argv.includes('--check')) {
  let stale = false;
  for (const [path, text] of outputs) {
    let current = '';
    try { current = readFileSync(path, 'utf8'); } catch { /* missing counts as different */ }
    if (current !== text) {
      console.error(`${path.slice(root.length)} is out of date with assembly/abi.ts or assembly/index.ts: run npm run build:abi`);
      stale = true;
    }
  }
  if (stale) process.exit(1);
} else {
  for (const [path, text] of outputs) writeFileSync(path, text);
}
