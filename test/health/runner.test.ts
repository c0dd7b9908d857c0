// The runner: rise/fall thresholds, transitions only, spread first checks, a hung check not
// delaying others, targets added and removed at runtime.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HEALTH } from '../../src/config/load.js';
import type { Checker, Target } from '../../src/health/checker.js';
import { HealthRunner, type Transition } from '../../src/health/runner.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function target(id: string, over: Partial<typeof DEFAULT_HEALTH> = {}): Target {
  return { id, service: 's', address: '127.0.0.1', port: 1, check: { ...DEFAULT_HEALTH, interval: 0.02, timeout: 0.01, rise: 2, fall: 3, ...over } };
}

/** a checker whose answers a test scripts: results per target id, in order */
function scripted(plan: Record<string, boolean[]>): Checker {
  const pos: Record<string, number> = {};
  return async (t) => {
    const i = pos[t.id] = (pos[t.id] ?? -1) + 1;
    const ok = plan[t.id][Math.min(i, plan[t.id].length - 1)];
    return { ok, message: ok ? 'fine' : 'broken', durationMs: 0 };
  };
}

describe('health runner', () => {
  it('goes down after `fall` failures and up after `rise` successes, reporting transitions only', async () => {
    const seen: Transition[] = [];
    const r = new HealthRunner((t) => seen.push(t), { checkers: { tcp: scripted({ a: [true, false, false, true, false,
      false, false, true, true, true] }) }, random: () => 0 });
    r.setTargets([target('a')], 'up');
    for (let i = 0; i < 10; i++) await r.runOnce('a');
    r.stop();
    assert.deepEqual(seen.map((t) => `${t.from}->${t.to}`), ['up->down', 'down->up']);
    assert.equal(seen[0].result.message, 'broken');
    assert.equal(r.status('a')!.checks, 10);
  });

  it('runs on its own: a failing target goes down within fall × interval', async () => {
    const seen: string[] = [];
    const r = new HealthRunner((t) => seen.push(`${t.target.id}:${t.to}`), { checkers: { tcp: scripted({ a: [false], b: [true] }) } });
    r.setTargets([target('a'), target('b')], 'up');
    await sleep(200);
    r.stop();
    assert.deepEqual(seen, ['a:down']);
  });

  it('a hung check does not hold up other targets; it times out as a failure', async () => {
    const hang: Checker = (t, signal) => new Promise((resolve) => {
      if (t.id === 'slow') signal.addEventListener('abort', () => resolve({ ok: false, message: 'timed out', durationMs: 0 }));
      else resolve({ ok: false, message: 'down', durationMs: 0 });
    });
    const seen: string[] = [];
    const r = new HealthRunner((t) => seen.push(`${t.target.id}:${t.to}:${t.result.message}`), { checkers: { tcp: hang }, random: () => 0 });
    r.setTargets([target('slow', { timeout: 0.01, interval: 0.02, fall: 1 }), target('fast', { fall: 1 })], 'up');
    await sleep(150);
    r.stop();
    assert.ok(seen.includes('fast:down:down'));
    assert.ok(seen.includes('slow:down:timed out'));
  });

  it('spreads first checks over the interval', async () => {
    let first = 0;
    const r = new HealthRunner(() => undefined, {
      checkers: { tcp: async () => { first++; return { ok: true, message: '', durationMs: 0 }; } },
      random: () => 0.9,
    });
    r.setTargets([target('a', { interval: 0.2 })], 'up');
    await sleep(100);
    assert.equal(first, 0, 'not before 0.9 × interval');
    await sleep(150);
    r.stop();
    assert.ok(first >= 1);
  });

  it('adds, changes and removes targets at runtime; type none is always up', async () => {
    const seen: string[] = [];
    const r = new HealthRunner((t) => seen.push(`${t.target.id}:${t.to}`), { checkers: { tcp: scripted({ a: [true], b: [true] }) }, random: () => 0 });
    r.setTargets([target('a')], 'up');
    r.setTargets([target('a'), target('b')], 'down');
    assert.equal(r.state('b'), 'down');
    await sleep(100);
    assert.equal(r.state('b'), 'up');
    r.setTargets([target('b'), target('c', { type: 'none' })], 'down');
    assert.equal(r.size, 2);
    assert.equal(r.state('c'), 'up');
    r.stop();
    assert.ok(seen.includes('b:up'));
  });
});
