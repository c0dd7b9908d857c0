// The session table's lock counts its waits (STAT_LOCK_WAITS, STAT_LOCK_SLEEPS: the metrics
// wlvs_table_lock_waits_total and _sleeps_total): a worker thread on lane 1 meets the lock held
// (the test holds it, as another worker's exclusive part would), spins, sleeps, and forwards its
// batch once the lock is let go; its lane counts one wait and the sleeps, lane 0 nothing, and a
// batch that finds the lock free counts nothing more.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, FLAVOURS, VIP, realServerEntry } from './harness.js';
import type { LaneJob, LaneResult } from './lanes-threads-worker.js';
import { ethernet, tcpPacket } from '../oracle/packet.js';

const TABLE_WRITER = 0x80000000;
const syn = (sport: number) => ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport, dport: 80, flags: 'S' }));

for (const flavour of FLAVOURS) {
  describe(`table lock waits (${flavour})`, { timeout: 30_000 }, () => {
    let h: CoreHarness;
    let worker: Worker;
    let gate: Int32Array;
    before(async () => {
      h = new CoreHarness(flavour, { workers: 2 }).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      gate = new Int32Array(new SharedArrayBuffer(8));
      worker = new Worker(new URL('./lanes-threads-worker.js', import.meta.url),
        { workerData: { memory: h.memory, layout: h.layout, flavour, lane: 1, gate } });
      await new Promise((resolve) => worker.once('message', resolve));
    });
    after(async () => {
      await worker?.terminate();
    });

    let jobs = 0;
    /** one batch on lane 1 (the worker steps batch by batch with a partner: the test arrives for it) */
    const run = (frames: Uint8Array[]): Promise<LaneResult> => new Promise((resolve, reject) => {
      Atomics.add(gate, 1, 1);
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({ gate: ++jobs, now: 10, batches: [{ dev: 0, frames }] } satisfies LaneJob);
    });

    it('a worker that meets the lock held waits, sleeps, then forwards; the wait is its lane\'s', async () => {
      const lock = new Uint32Array(h.memory.buffer, abi.HEADER_BASE + abi.HDR_TABLE_LOCK, 1);
      Atomics.store(lock, 0, TABLE_WRITER);
      let done = false;
      const result = run([syn(40000)]).then((r) => {
        done = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(done, false, 'the batch waits while the lock is held');
      Atomics.store(lock, 0, 0);
      const r = await result;
      assert.deepEqual(r.verdicts, [abi.VERDICT_FORWARD]);
      assert.equal(h.tables.statOfLane(1, abi.STAT_LOCK_WAITS), 1n);
      const sleeps = h.tables.statOfLane(1, abi.STAT_LOCK_SLEEPS);
      assert.ok(sleeps >= 1n, `a 50 ms wait sleeps (${sleeps} sleeps)`);
      assert.equal(h.tables.statOfLane(0, abi.STAT_LOCK_WAITS), 0n);
      // the lock free: two SYNs (the read lock, then the lock alone: both halves of process()) wait for nothing
      const again = await run([syn(40000), syn(40001)]);
      assert.deepEqual(again.verdicts, [abi.VERDICT_FORWARD, abi.VERDICT_FORWARD]);
      assert.equal(h.tables.stat(abi.STAT_LOCK_WAITS), 1n);
      assert.equal(h.tables.stat(abi.STAT_LOCK_SLEEPS), sleeps);
    });
  });
}
