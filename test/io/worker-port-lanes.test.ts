// Two data-path workers (director.workers: 2) without root: every device has two queues, each a
// datagram socket pair, so worker i reads and writes queue i of both devices while the test plays
// the network on the other ends and picks the worker of every frame by the queue it writes to.
// What must hold with two: a flow's reply read by the other worker finds its session,
// exclusive() holds BOTH workers (no batch runs on either while it holds), a hot-swap under
// traffic reaches both at a batch boundary (every frame handled by the old core or the new, once:
// a marker core counts what it is given, per lane), and both workers' counters, in /metrics too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics } from '../../src/api/metrics.js';
import { parseConfig } from '../../src/config/load.js';
import { coreModulePath } from '../../src/dataplane/module.js';
import { controlPlane } from '../../src/director/control.js';
import { Director } from '../../src/director/director.js';
import { KernelRoutes } from '../../src/director/kernel-routes.js';
import { Supervisor } from '../../src/director/supervisor.js';
import { native } from '../../src/io/native.js';
import { allChecksumsOk, decodeFrame } from '../oracle/packet.js';
import {
  CIP, RIPS, TAP_DIRECTOR, VIP, fromClient, fromServer, recordingKernel, recordingLog, webService,
} from '../director/fixture.js';
import { PairIo, Wire, dropAllCore, sleep, until } from './socket-pairs.js';

/** where the marker core counts (below the header, above every core's static data: no one else writes there) */
const MARK_AT = 0x8000;
const QUEUES = [0, 1];
/** flows read by worker q: client ports FLOW_BASE[q] + k */
const FLOW_BASE = [42000, 43000];
const FLOWS = 8;

describe('two data-path workers over two-queue socket pairs', { timeout: 60_000 }, () => {
  let dir: Director;
  let sup: Supervisor;
  let wire: Wire;
  let work: string;
  let mark: Int32Array;
  const serverOf = new Map<number, string>();
  const flows = (q: number) => Array.from({ length: FLOWS }, (_, k) => FLOW_BASE[q] + k);
  const syn = (sport: number) => fromClient({ sport, dport: 80, flags: 'S', seq: 1 });
  const ack = (sport: number, seq: number) => fromClient({ sport, dport: 80, flags: 'A', seq, ack: 1 });
  const rx = () => dir.workerStats().map((w) => w.port.rxFrames);
  const tx = () => dir.workerStats().map((w) => w.port.txFrames);
  const batches = () => dir.workerStats().map((w) => w.batch.batches);
  let metricsBefore: number[];

  async function workerFrames(direction: 'rx' | 'tx'): Promise<number[]> {
    const text = await createMetrics(controlPlane(sup)).metrics();
    return QUEUES.map((w) => {
      const series = `wlvs_worker_frames_total{worker="${w}",direction="${direction}"}`;
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      assert.ok(line, `no series ${series}`);
      return Number(line.slice(series.length + 1));
    });
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'wlvs-workers-test-'));
    const io = new PairIo();
    wire = new Wire(io, 2, QUEUES.length);
    const spec = { ...parseConfig(TAP_DIRECTOR + `services:${webService({ weights: [1, 1, 1] })}`, 'test.yaml'), workers: 2 };
    const { sys } = recordingKernel();
    const { log } = recordingLog();
    dir = await Director.start({ spec, log, io, kernelRoutes: new KernelRoutes(sys) });
    sup = new Supervisor(dir, log, null);
    sup.start();
    mark = new Int32Array(dir.memory.buffer, MARK_AT, QUEUES.length);
    metricsBefore = await workerFrames('rx');
  });
  after(async () => {
    sup?.stop();
    await dir?.stop();
    wire?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('starts two workers, one per queue, each with its own lane', async () => {
    assert.equal(dir.workerStats().length, 2);
    const text = await createMetrics(controlPlane(sup)).metrics();
    assert.ok(text.split('\n').includes('wlvs_workers 2'), 'wlvs_workers 2');
  });

  it('each worker forwards what its queue reads; the reply, read by the other worker, finds the session', async () => {
    for (const q of QUEUES) for (const p of flows(q)) wire.send(0, syn(p), q);
    await until(() => wire.frames[1].length === 2 * FLOWS, 'the forwarded SYNs');
    for (const q of QUEUES) {
      // a worker writes on its own queue of the output device
      const out = wire.byQueue[1][q].map((f) => decodeFrame(f, true).ip!);
      assert.deepEqual(out.map((ip) => ip.tcp!.sport).sort(), flows(q), `queue ${q}'s flows left on queue ${q}`);
      for (const ip of out) {
        assert.ok(RIPS.slice(0, 3).includes(ip.dst) && ip.tcp!.dport === 8080 && allChecksumsOk(ip));
        serverOf.set(ip.tcp!.sport, ip.dst);
      }
    }
    // each flow's SYN-ACK goes in through the other queue: the other worker, the other lane
    for (const q of QUEUES) {
      for (const p of flows(q)) {
        const rs = RIPS.indexOf(serverOf.get(p)!);
        wire.send(1, fromServer(rs, { sport: 8080, dport: p, flags: 'SA', seq: 7, ack: 2 }), 1 - q);
      }
    }
    const replies = () => wire.frames[0].map((f) => decodeFrame(f, true).ip).filter((ip) => ip?.tcp);
    await until(() => replies().length === 2 * FLOWS, 'the translated replies');
    for (const q of QUEUES) {
      const back = wire.byQueue[0][1 - q].map((f) => decodeFrame(f, true).ip!).filter((ip) => ip.tcp);
      assert.deepEqual(back.map((ip) => ip.tcp!.dport).sort(), flows(q), `queue ${q}'s replies, via the other worker`);
      for (const ip of back) {
        assert.deepEqual([ip.src, ip.tcp!.sport, ip.dst], [VIP, 80, CIP]);
        assert.ok(allChecksumsOk(ip));
      }
    }
    assert.equal(dir.tables.sessionCount(), 2 * FLOWS, 'one session per flow');
    // on io_uring a write counts when its completion is reaped: at the worker's next wake-up
    await until(() => dir.workerStats().every((w) => w.port.txFrames >= 2 * FLOWS), 'the writes counted');
    for (const w of dir.workerStats()) {
      assert.ok(w.port.rxFrames >= 2 * FLOWS && w.port.txFrames >= 2 * FLOWS, JSON.stringify(w.port));
    }
  });

  it('exclusive() holds both workers: no batch runs on either while it holds, both go on after', async () => {
    const before = wire.frames[1].length;
    const [inside, batchesInside] = dir.exclusive(() => {
      const start = batches();
      for (const q of QUEUES) wire.send(0, ack(flows(q)[0], 100), q);
      // a synchronous 100 ms: either worker would have forwarded its frame within a millisecond
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      const seen = QUEUES.map((q) => native().recvFrame(wire.io.peers[1][q], new Uint8Array(2048)));
      return [seen, batches().map((b, i) => b - start[i])];
    });
    assert.deepEqual(inside, [0, 0], 'nothing was forwarded by either worker while the control plane held the memory');
    assert.deepEqual(batchesInside, [0, 0], 'no batch ran on either worker');
    await until(() => wire.frames[1].length === before + 2, 'both frames after the release');
    assert.deepEqual(QUEUES.map((q) => wire.byQueue[1][q].at(-1) !== undefined), [true, true]);
  });

  /**
   * swap sends `perQueue` ACKs into each queue, hot-swaps to `path` halfway, and waits until both
   * workers read them all; returns per queue the seqs sent (in order), how many went before the
   * swap, and what the phase read, forwarded and marked
   */
  async function swapUnderTraffic(path: string, perQueue: number, seq0: number) {
    const rx0 = rx();
    const tx0 = tx();
    // ARP replies (a neighbour refreshed meanwhile) are frames a worker reads too
    const arps = () => QUEUES.map((q) => wire.arpReplies[0][q] + wire.arpReplies[1][q]);
    const arp0 = arps();
    const out0 = QUEUES.map((q) => wire.byQueue[1][q].length);
    const mark0 = QUEUES.map((q) => Atomics.load(mark, q));
    const sent: number[][] = [[], []];
    const beforeSwap = [0, 0];
    for (let i = 0; i < perQueue; i++) {
      for (const q of QUEUES) {
        const seq = seq0 + i;
        wire.send(0, ack(flows(q)[i % FLOWS], seq), q);
        sent[q].push(seq);
      }
      if (i === perQueue / 2) {
        QUEUES.forEach((q) => { beforeSwap[q] = sent[q].length; });
        dir.hotSwap(path);
      }
      if (i % 25 === 0) await sleep(1);
    }
    const expected = () => QUEUES.map((q) => perQueue + arps()[q] - arp0[q]);
    await until(() => rx().every((n, q) => n - rx0[q] === expected()[q]), 'both workers read every frame', 5000);
    // what a worker wrote is on the wire a moment later
    await sleep(30);
    // on io_uring a write counts when its completion is reaped, at the worker's next wake-up (at
    // most the 50 ms sweep timer later): wait for the counters to meet the frames on the wire
    await until(() => QUEUES.every((q) => tx()[q] - tx0[q] === wire.byQueue[1][q].length - out0[q]),
      'every write counted', 3000);
    return QUEUES.map((q) => ({
      sent: sent[q],
      beforeSwap: beforeSwap[q],
      read: rx()[q] - rx0[q],
      wrote: tx()[q] - tx0[q],
      forwarded: wire.byQueue[1][q].slice(out0[q]).map((f) => decodeFrame(f, true).ip!),
      marked: Atomics.load(mark, q) - mark0[q],
    }));
  }

  it('hot-swap under traffic on both workers: each takes the new core at a batch boundary, every frame handled once', async (t) => {
    const markerPath = join(work, 'marker.wasm');
    writeFileSync(markerPath, dropAllCore(MARK_AT));
    QUEUES.forEach((q) => Atomics.store(mark, q, 0));
    // release → marker: the old core forwards a prefix of each queue's frames, the marker counts the rest
    const toMarker = await swapUnderTraffic(markerPath, 400, 1000);
    t.diagnostic(`release → marker: ${toMarker.map((r, q) => `worker ${q} ${r.forwarded.length} old + ${r.marked} new`).join(', ')}`);
    for (const [q, r] of toMarker.entries()) {
      const what = `worker ${q}, release → marker`;
      assert.equal(r.forwarded.length + r.marked, r.read, `${what}: forwarded ${r.forwarded.length} + marked ${r.marked} = read ${r.read}`);
      assert.ok(r.forwarded.length <= r.beforeSwap, `${what}: nothing sent after the swap went through the old core`);
      assert.ok(r.marked > 0, `${what}: the worker runs the new core`);
      assert.equal(r.wrote, r.forwarded.length, `${what}: the worker wrote only what the old core forwarded`);
      // the old core's share is the first frames sent, in order, each once
      assert.deepEqual(r.forwarded.map((ip) => ip.tcp!.seq), r.sent.slice(0, r.forwarded.length), `${what}: a prefix, once each`);
      for (const ip of r.forwarded) assert.equal(ip.dst, serverOf.get(ip.tcp!.sport), `${what}: the flow's server`);
    }
    // marker → release: the marker counts a prefix, the release core forwards the rest, sessions intact
    const back = await swapUnderTraffic(coreModulePath('release'), 400, 5000);
    t.diagnostic(`marker → release: ${back.map((r, q) => `worker ${q} ${r.marked} old + ${r.forwarded.length} new`).join(', ')}`);
    for (const [q, r] of back.entries()) {
      const what = `worker ${q}, marker → release`;
      assert.equal(r.forwarded.length + r.marked, r.read, `${what}: forwarded ${r.forwarded.length} + marked ${r.marked} = read ${r.read}`);
      assert.ok(r.marked <= r.read - (r.sent.length - r.beforeSwap), `${what}: nothing sent after the swap reached the marker`);
      assert.ok(r.forwarded.length > 0, `${what}: the worker runs the release core again`);
      assert.equal(r.wrote, r.forwarded.length);
      assert.deepEqual(r.forwarded.map((ip) => ip.tcp!.seq), r.sent.slice(r.sent.length - r.forwarded.length),
        `${what}: a suffix, once each`);
      for (const ip of r.forwarded) {
        assert.equal(ip.dst, serverOf.get(ip.tcp!.sport), `${what}: the session outlived two swaps`);
        assert.ok(allChecksumsOk(ip));
      }
    }
    assert.equal(dir.tables.sessionCount(), 2 * FLOWS);
  });

  it('both workers\' frame counters grew, in /metrics too (wlvs_worker_frames_total{worker})', async () => {
    const now = await workerFrames('rx');
    for (const q of QUEUES) {
      assert.ok(now[q] >= metricsBefore[q] + 2 * FLOWS + 800, `worker ${q}: ${metricsBefore[q]} → ${now[q]}`);
      assert.equal(now[q], rx()[q], 'the series is the worker\'s own counter');
    }
    const written = await workerFrames('tx');
    assert.deepEqual(written, tx());
  });
});
