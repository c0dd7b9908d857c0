// director.io_engine where io_uring is refused (issue 12): the director runs under a seccomp
// filter that fails io_uring's system calls with EPERM, as a container's default seccomp profile
// does (test/fixtures/without-io-uring.py), on the kernel it has. `auto` falls back to epoll,
// says why at warn, and forwards; a named `io_uring` stops the start with that reason. The same
// child without the filter shows that `auto` would have taken io_uring on this kernel, so the
// fallback seen under the filter is the filter's doing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./engine-fallback-child.js', import.meta.url));
const WRAPPER = fileURLToPath(new URL('../../../test/fixtures/without-io-uring.py', import.meta.url));

interface ChildResult {
  engines?: { engine: string; reason?: string }[];
  logs?: { level: number; engine: string; reason?: string; msg: string }[];
  forwarded?: number;
  error?: string;
  code?: string;
}

/** the child on this runtime (Deno runs a script with `run -A`), behind the filter or not */
function child(engine: string, filtered: boolean): ChildResult {
  const runtime = 'Deno' in globalThis ? [process.execPath, 'run', '-A', CHILD] : [process.execPath, CHILD];
  const argv = filtered ? ['python3', WRAPPER, ...runtime, engine] : [...runtime, engine];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `child exited ${r.status} (${r.signal ?? ''}): ${r.stderr}`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as ChildResult;
}

describe('director.io_engine where io_uring is not permitted (a seccomp filter, as in a container)', { timeout: 90_000 }, () => {
  it('auto takes io_uring on this kernel when nothing refuses it', () => {
    const r = child('auto', false);
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(r.engines?.map((e) => e.engine), ['io_uring']);
    assert.equal(r.forwarded, 1);
  });

  it('auto falls back to epoll, logs why at warn, and forwards', () => {
    const r = child('auto', true);
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(r.engines?.map((e) => e.engine), ['epoll']);
    assert.match(r.engines?.[0].reason ?? '', /not permitted.*seccomp/);
    const warn = r.logs?.find((l) => l.level === 40);
    assert.ok(warn, `a warn line: ${JSON.stringify(r.logs)}`);
    assert.equal(warn.engine, 'epoll');
    assert.match(warn.msg, /io_uring unavailable \(not permitted/);
    assert.equal(r.forwarded, 1, 'the SYN went through on epoll');
  });

  it('a named io_uring stops the start with the reason', () => {
    const r = child('io_uring', true);
    assert.equal(r.engines, undefined, 'the director did not start');
    assert.match(r.error ?? '', /io_uring engine: not permitted \(sysctl kernel\.io_uring_disabled, or a seccomp profile/);
  });

  it('epoll, named, never touches io_uring', () => {
    const r = child('epoll', true);
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(r.engines, [{ engine: 'epoll' }]);
    assert.deepEqual(r.logs?.map((l) => l.level), [30]);
    assert.equal(r.forwarded, 1);
  });
});
