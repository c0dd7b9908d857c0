// workers.test.ts — director.workers when the config names none: the cores, or one for a device
// that exists already with a single queue
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseWorkers, coreWorkers, existingSingleQueue } from '../../src/director/workers.js';
import { Lab } from '../../src/lab/netns.js';
import { currentRuntime, scriptCommand } from '../../src/sys/runtime.js';

const WORKERS = new URL('../../src/director/workers.js', import.meta.url).href;

const devices = [{ name: 'wl-ext' }, { name: 'wl-int' }] as Parameters<typeof chooseWorkers>[0]['devices'];

describe('chooseWorkers', () => {
  it('takes a configured count as it is, whatever the cores and devices', () => {
    assert.deepEqual(chooseWorkers({ workers: 3, devices }, 8, () => true), { workers: 3, reason: 'director.workers' });
  });

  it('runs one worker per core when the config names none', () => {
    assert.deepEqual(chooseWorkers({ devices }, 8, () => false), { workers: 8, reason: 'auto: 8 cores available' });
    assert.deepEqual(chooseWorkers({ devices }, 1, () => true), { workers: 1, reason: 'auto: 1 core available' });
  });

  it('keeps one worker when a configured device exists already with one queue', () => {
    const seen: string[] = [];
    const choice = chooseWorkers({ devices }, 4, (name) => {
      seen.push(name);
      return name === 'wl-int';
    });
    assert.deepEqual(choice, { workers: 1, reason: 'auto: device wl-int exists already with one queue' });
    assert.deepEqual(seen, ['wl-ext', 'wl-int']);
  });

  it('counts the cores this process may run on, at most 16', () => {
    assert.equal(coreWorkers(), Math.min(16, availableParallelism()));
  });

  it('finds no single-queue device where there is no device', () => {
    assert.equal(existingSingleQueue('wlvs-none-such0'), false);
    // a device that is no TUN/TAP has no tun_flags: not one wlvs could open anyway
    assert.equal(existingSingleQueue('lo'), false);
  });

  it('tells a single-queue TAP from a multi-queue one in a namespace of its own', { timeout: 60_000 }, async () => {
    const lab = new Lab('wq');
    const dir = mkdtempSync(join(tmpdir(), 'wlvs-wq-'));
    try {
      await lab.addNamespace('d');
      await lab.ip('d', 'tuntap', 'add', 'dev', 'wq-one', 'mode', 'tap');
      await lab.ip('d', 'tuntap', 'add', 'dev', 'wq-multi', 'mode', 'tap', 'multi_queue');
      // sysfs shows the namespace's devices to a process started in it (ip netns exec mounts its own)
      const script = join(dir, 'probe.mjs');
      writeFileSync(script, `import { existingSingleQueue } from '${WORKERS}';\n` +
        `console.log(JSON.stringify(['wq-one', 'wq-multi', 'wq-none'].map(existingSingleQueue)));\n`);
      const [exe, args] = scriptCommand(script, [], currentRuntime);
      const out = await lab.exec('d', exe, args);
      assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), [true, false, false]);
    } finally {
      await lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

