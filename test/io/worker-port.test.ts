// The native engine without root: a whole director whose devices are datagram socket pairs
// (one read is one frame, as on a TAP), so the data-path worker, its port (io_uring and epoll,
// director.io_engine), the pause/resume barrier and hot-swap run for real while the test plays
// the network on the other ends. Runs on Node and on Deno alike.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../../src/dataplane/abi.js';
import { parseConfig } from '../../src/config/load.js';
import { coreModulePath } from '../../src/dataplane/module.js';
import { Director } from '../../src/director/director.js';
import { KernelRoutes } from '../../src/director/kernel-routes.js';
import { native } from '../../src/io/native.js';
import { decodeFrame, ethernet, fragment4, tcpPacket } from '../oracle/packet.js';
import {
  CIP, CLIENT_MAC, EXT_MAC, RIPS, TAP_DIRECTOR, VIP, fromClient, recordingKernel, recordingLog, webService,
} from '../director/fixture.js';
import { PairIo, Wire, dropAllCore, sleep, until } from './socket-pairs.js';

// busy polling on io_uring: a non-blocking io_uring_enter() a look, instead of a read() per device
const ENGINES = [{ engine: 'io_uring', busyPollUs: 0 }, { engine: 'epoll', busyPollUs: 0 }, { engine: 'io_uring', busyPollUs: 300 }] as const;
for (const { engine, busyPollUs } of ENGINES) describe(`the data-path worker over socket pairs (${engine}${busyPollUs ? ', busy polling' : ''})`, { timeout: 60_000 }, () => {
  let dir: Director;
  let wire: Wire;
  let work: string;
  const syn = (sport: number) => fromClient({ sport, dport: 80, flags: 'S', seq: 1 });
  const ack = (sport: number, seq: number) => fromClient({ sport, dport: 80, flags: 'A', seq, ack: 1 });
  const toServers = () => wire.frames[1].map((f) => decodeFrame(f, true));

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'wlvs-worker-test-'));
    const io = new PairIo();
    wire = new Wire(io);
    // one socket pair per device is one queue: one worker (multi-queue devices are e2e's)
    // batches of 16: the burst below needs more slots than the port has
    const spec = { ...parseConfig(TAP_DIRECTOR + `services:${webService({ weights: [1, 1, 1] })}`, 'test.yaml'), workers: 1,
      ioEngine: engine, batch: 16, busyPollUs };
    const { sys } = recordingKernel();
    dir = await Director.start({ spec, log: recordingLog().log, io, kernelRoutes: new KernelRoutes(sys) });
  });
  after(async () => {
    await dir?.stop();
    wire?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it(`runs on ${engine}, as director.io_engine asked`, () => {
    assert.deepEqual(dir.ioEngines().map((e) => e.engine), [engine]);
  });

  it('forwards a SYN DNATed to a real server, read and written by the worker', async () => {
    wire.send(0, syn(41000));
    await until(() => wire.frames[1].length === 1, 'the forwarded SYN');
    const d = toServers()[0];
    assert.ok(RIPS.slice(0, 3).includes(d.ip!.dst), d.ip!.dst);
    assert.equal(d.ip!.tcp!.dport, 8080);
    // on io_uring a write counts when its completion is reaped: at the worker's next wake-up
    await until(() => dir.portStats().txFrames >= 1, 'the write counted');
    const st = dir.portStats();
    assert.ok(st.rxFrames >= 1 && st.txFrames >= 1 && st.syscalls >= 1, JSON.stringify(st));
    assert.ok(st.hostSent >= 3, 'ARP requests went out from the main thread');
    assert.ok(dir.batchStats().batches >= 1);
  });

  it('a fragment held for its first is written by the worker right after it (IPv4, fragment IDs)', async () => {
    const start = wire.frames[1].length;
    const segment = tcpPacket({ src: CIP, dst: VIP, id: 999 }, { sport: 41500, dport: 80, flags: 'S', seq: 1,
      payload: new Uint8Array(2400).fill(5) });
    const [first, second, third] = fragment4(segment, 1000).map((p) => ethernet(EXT_MAC, CLIENT_MAC, p));
    wire.send(0, third);
    await until(() => dir.tables.stat(abi.STAT_FRAG_HELD) === 1n, 'the third fragment held');
    assert.equal(wire.frames[1].length, start);
    wire.send(0, first);
    wire.send(0, second);
    await until(() => wire.frames[1].length === start + 3, 'three fragments out');
    const out = wire.frames[1].slice(start).map((f) => decodeFrame(f, true).ip!);
    assert.equal(new Set(out.map((ip) => ip.dst)).size, 1, 'all to one server');
    assert.ok(RIPS.includes(out[0].dst));
    assert.ok(out.every((ip) => ip.id === 999 && ip.headerChecksumOk));
    assert.equal(dir.tables.stat(abi.STAT_FRAG_RELEASED), 1n);
  });

  it('exclusive() holds the worker at a batch boundary: a frame sent meanwhile waits, then goes through', async () => {
    const before = wire.frames[1].length;
    const seenInside = dir.exclusive(() => {
      wire.send(0, syn(41001));
      // a synchronous 100 ms: the worker would have forwarded it within a millisecond
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      return native().recvFrame(wire.io.peers[1][0], new Uint8Array(2048));
    });
    assert.equal(seenInside, 0, 'nothing was forwarded while the control plane held the memory');
    await until(() => wire.frames[1].length === before + 1, 'the SYN after the release');
  });

  it('hot-swap under traffic: every frame is handled by the old or the new core, none lost, sessions kept', async () => {
    const flows = [42000, 42001, 42002, 42003];
    for (const p of flows) wire.send(0, syn(p));
    await until(() => toServers().filter((d) => flows.includes(d.ip!.tcp!.sport)).length === flows.length, 'the SYNs');
    const serverOf = new Map(toServers().filter((d) => flows.includes(d.ip!.tcp!.sport)).map((d) => [d.ip!.tcp!.sport,
      d.ip!.dst]));
    const start = wire.frames[1].length;
    const N = 600;
    for (let i = 0; i < N; i++) {
      wire.send(0, ack(flows[i % flows.length], 2 + i));
      if (i === N / 2) dir.hotSwap(coreModulePath('debug'));
      if (i % 50 === 0) await sleep(1);
    }
    await until(() => wire.frames[1].length === start + N, `${N} forwarded frames`, 5000);
    for (const d of wire.frames[1].slice(start).map((f) => decodeFrame(f, true))) {
      assert.equal(d.ip!.dst, serverOf.get(d.ip!.tcp!.sport), 'the flow stayed on its server across the swap');
    }
  });

  it('a burst of far more frames than slots: every frame forwarded once, no slot lost (io_uring: reads re-armed)', async () => {
    const flow = 42100;
    wire.send(0, syn(flow));
    await until(() => toServers().some((d) => d.ip!.tcp!.sport === flow), 'the SYN');
    const start = wire.frames[1].length;
    const rx = dir.portStats().rxFrames;
    // 40 batches' worth at once: the slots run out (ENOBUFS ends io_uring's multishot read) and
    // the frames wait in the socket until slots come back
    const N = 640;
    for (let i = 0; i < N; i++) wire.send(0, ack(flow, 2 + i));
    await until(() => wire.frames[1].length === start + N, `${N} forwarded frames`, 5000);
    const seqs = wire.frames[1].slice(start).map((f) => decodeFrame(f, true).ip!.tcp!.seq);
    assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => 2 + i), 'each once, in order');
    assert.equal(dir.portStats().rxFrames - rx, N);
    // and the port still has all its slots: another burst goes through as well
    for (let i = 0; i < N; i++) wire.send(0, ack(flow, 1000 + i));
    await until(() => wire.frames[1].length === start + 2 * N, `${N} more`, 5000);
    if (busyPollUs) assert.ok(dir.portStats().busyPollBatches > 0, 'batches found while busy polling');
    else assert.equal(dir.portStats().busyPollBatches, 0);
  });

  it('the worker really runs the new module from its next batch on (a core that forwards nothing), and back', async () => {
    const path = join(work, 'drop-all.wasm');
    writeFileSync(path, dropAllCore());
    dir.hotSwap(path);
    const before = wire.frames[1].length;
    const rx = dir.portStats().rxFrames;
    wire.send(0, ack(42000, 9000));
    await until(() => dir.portStats().rxFrames > rx, 'the frame read');
    await sleep(20);
    assert.equal(wire.frames[1].length, before, 'dropped by the swapped-in core');
    dir.hotSwap(coreModulePath('release'));
    wire.send(0, ack(42000, 9001));
    await until(() => wire.frames[1].length === before + 1, 'forwarded again by the release core, session intact');
  });

  it('stops: the worker ends and the director closes', async () => {
    await dir.stop();
    const rx = dir.portStats().rxFrames;
    // the director's end is closed: the datagram has nowhere to go, and nothing reads it
    native().sendFrame(wire.io.peers[0][0], false, syn(43000));
    await sleep(30);
    assert.equal(dir.portStats().rxFrames, rx, 'nothing read after stop');
  });
});
