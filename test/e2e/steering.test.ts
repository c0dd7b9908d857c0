// Queue steering of multi-queue devices (director.queue_steering): with wlvs's flow-hash
// program a flow's frames keep their queue, and so their worker, after wlvs wrote a frame of
// that flow on another queue; with the kernel's own flow table they follow the writer, which is
// how a connection's segments came to overtake each other between two workers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../../src/lab/netns.js';
import { scriptCommand } from '../../src/sys/runtime.js';

const probe = new URL('./servers/steering-probe.js', import.meta.url).pathname;

describe('multi-queue steering', () => {
  let lab: Lab;
  before(async () => {
    lab = new Lab('stq');
    await lab.addNamespace('dir');
  });
  after(async () => {
    await lab?.destroy();
  });

  const runProbe = async (mode: string, kind: string) => {
    const [cmd, args] = scriptCommand(probe, [mode, kind]);
    const out = await lab.exec('dir', cmd, args, 30_000);
    return JSON.parse(out.trim().split('\n').pop()!) as { steering: string | null; flows: [number, number][] };
  };

  for (const kind of ['tun', 'tap']) {
    it(`${kind}, flow-hash: every flow keeps its queue after a frame of it was written on the other queue`, async () => {
      const r = await runProbe('flow-hash', kind);
      assert.equal(r.steering, 'flow-hash');
      assert.equal(r.flows.length, 16);
      for (const [k, [qa, qb]] of r.flows.entries()) assert.equal(qb, qa, `flow ${k} moved from queue ${qa} to ${qb}`);
      // 16 flows on one queue by chance: 1 in 32768
      assert.equal(new Set(r.flows.map(([qa]) => qa)).size, 2, 'the flows use both queues');
    });

    it(`${kind}, kernel: the device's flow table moves a flow to the queue wlvs last wrote it on`, async () => {
      const r = await runProbe('kernel', kind);
      assert.equal(r.steering, null);
      const moved = r.flows.filter(([qa, qb]) => qa !== qb).length;
      assert.ok(moved >= 12, `${moved} of 16 flows followed the writer`);
    });
  }
});
