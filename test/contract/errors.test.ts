// Every error a user can see carries a registered code: each WLVS_ERR_* string written anywhere
// in src/ and native/ is in src/errors.ts, the addon's throws arrive as WlvsErrors with their
// code, and anything unregistered becomes WLVS_ERR_INTERNAL where it reaches a user.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ERROR_CODES, WlvsError, asWlvsError, isErrorCode } from '../../src/errors.js';
import { NativePort, native } from '../../src/io/native.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

function files(dir: string, exts: string[]): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'build' || n === 'node_modules' ? [] : files(p, exts);
    return exts.some((e) => n.endsWith(e)) ? [p] : [];
  });
}

describe('error codes', () => {
  it('every WLVS_ERR_* literal in src/ and native/ is registered', () => {
    const seen = new Map<string, string>();
    for (const f of [...files(join(ROOT, 'src'), ['.ts']), ...files(join(ROOT, 'native'), ['.c', '.h'])]) {
      for (const m of readFileSync(f, 'utf8').matchAll(/WLVS_ERR_[A-Z0-9_]+/g)) {
        if (!seen.has(m[0])) seen.set(m[0], relative(ROOT, f));
      }
    }
    assert.ok(seen.has('WLVS_ERR_NATIVE') && seen.has('WLVS_ERR_DEVICE'), 'the addon\'s codes were found');
    const unregistered = [...seen].filter(([code]) => !isErrorCode(code)).map(([code, f]) => `${code} (${f})`);
    assert.deepEqual(unregistered, []);
  });

  it('the registry describes each code', () => {
    for (const [code, text] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^WLVS_ERR_[A-Z0-9_]+$/);
      assert.ok(text.length > 10, code);
    }
  });

  it('turns what the addon throws into WlvsErrors with its code and the call\'s name', () => {
    const layout = { descBase: 0, slotBase: 0, slotSize: 64, headroom: 16, slotCount: 4096 };
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    assert.throws(() => new NativePort(memory, layout, new BigUint64Array(16)), (e: unknown) =>
      WlvsError.is(e) && e.code === 'WLVS_ERR_NATIVE' && e.message === 'native createPort: layout does not fit the memory');
    // checked before any device is opened: no root needed, nothing created
    assert.throws(() => native().openTun('', { tap: true, vnet: false, offload: 0, multiQueue: false }), (e: unknown) =>
      WlvsError.is(e) && e.code === 'WLVS_ERR_DEVICE' && /openTun: device name must have 1 to 14 characters/.test(e.message));
  });

  it('where an error reaches a user, an unregistered one becomes WLVS_ERR_INTERNAL with its message', () => {
    const plain = asWlvsError(new TypeError('boom'));
    assert.deepEqual([plain.code, plain.message], ['WLVS_ERR_INTERNAL', 'boom']);
    const own = new WlvsError('WLVS_ERR_CONFLICT', 'x');
    assert.equal(asWlvsError(own), own);
    assert.equal(asWlvsError('text', 'WLVS_ERR_USAGE').code, 'WLVS_ERR_USAGE');
    assert.equal(isErrorCode('WLVS_ERR_NATIVE'), true);
    assert.equal(isErrorCode('WLVS_ERR_NOPE'), false);
    assert.equal(isErrorCode('toString'), false);
  });
});
