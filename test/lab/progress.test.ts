// Progress lines: elapsed time on every step, k/N and an estimate of what is left when the total is known.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../../src/lab/progress.js';

describe('Progress', () => {
  it('prints each step as it begins, with elapsed seconds, k/N and time left', async () => {
    const lines: string[] = [];
    const p = new Progress(3, (l) => lines.push(l));
    p.step('direct: building a fresh lab');
    await new Promise((r) => setTimeout(r, 120));
    p.step('direct: tcp1');
    p.step('direct: udp');
    assert.match(lines[0], /^\[\s+0\.0 s\] \(1\/3\) direct: building a fresh lab$/);
    assert.match(lines[1], /^\[\s+0\.1 s\] \(2\/3, ~0 s left\) direct: tcp1$/);
    assert.match(lines[2], /^\[\s+0\.\d s\] \(3\/3, ~0 s left\) direct: udp$/);
    const open = new Progress(null, (l) => lines.push(l));
    open.step('starting');
    assert.match(lines[3], /^\[\s+0\.0 s\] starting$/);
  });
});
