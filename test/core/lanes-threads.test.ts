// Two lanes over one session table from two real threads (issue 12): each node:worker_threads
// thread runs its own instance of the core over one shared memory, on lane 0 and lane 1, and both
// race through the SAME NAT and Full-NAT flows: every SYN reaches both lanes at once (a
// retransmission the kernel queued elsewhere), the server's SYN-ACK races the client's ACK of
// the same flow on the other lane, data goes both ways on both lanes, and at the end both lanes
// sweep their share of the table while the other thread inserts new flows. What must hold is what
// the table lock (assembly/mem.ts) promises: one session per flow (never two inserts, never one
// Full-NAT port given twice), every frame translated as the oracle expects (full checksum
// recomputation), per-lane counters that add up to what was sent, and every record expired once.
// Since the readers-writer lock (assembly/mem.ts), the lean hits of both lanes run at once under
// the read lock: one test races them against inserts and batches that mix hits and SYNs, one
// against a lane whose clock is ahead and expires and reuses the records the hits use (that race
// window is a few instructions wide: with readers that ignore the writer it passed 4 runs of 4,
// so it checks the property rather than catching a broken lock).
// test/core/lanes.test.ts checks the same contract with both lanes in one thread. Checked to
// fail: with lockTable() made a no-op, every run found flows with two sessions (a Full-NAT port
// given to two flows, CONN_CREATED above the flow count) or drops from a torn free list.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as abi from '../../src/dataplane/abi.js';
import { eventView } from '../../src/dataplane/tables.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, RIPS, RS_MACS, VIP, realServerEntry } from './harness.js';
import type { LaneJob, LaneResult, LaneWorkerData } from './lanes-threads-worker.js';
import { allChecksumsOk, decodeFrame, ethernet, tcpPacket, type DecodedIp } from '../oracle/packet.js';

/** flows per set; set 0 has its client side on lane 0 and its server side on lane 1, set 1 the reverse */
const N = 2500;
/** new flows of the last phase, created while both lanes sweep */
const M = 1000;
const BATCH = 32;
/** SYNs of new flows in each of lane 1's batches of the lean-path race */
const EXTRA_PER_BATCH = 4;
/** flows of the clock-skew race (the last test) */
const K = 512;
const T0 = 1000;
/** past every default timeout (established: 900 s) */
const LATER = T0 + 2 * 3600_000;
/** NAT on VIP:80 (real servers 0, 1), Full-NAT on VIP:81 (2, 3) */
const NAT_PORT = 80;
const FNAT_PORT = 81;

interface Flow {
  cport: number;
  vport: number;
  /** the translation the first forwarded SYN showed: server address, and the source the server sees */
  rip?: string;
  src?: string;
  sport?: number;
}

const fromClient = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt);
const fromServer = (pkt: Uint8Array, rip: string) => ethernet(DEV1_MAC, RS_MACS[RIPS.indexOf(rip)], pkt);
const chunks = <T>(xs: T[], n: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const payloadOf = (f: Flow, dir: number) => new TextEncoder().encode(`flow ${f.cport} dir ${dir} `.padEnd(40, '.'));
const key = (cport: number, vport: number) => `${cport}/${vport}`;
/** how long the two jobs ran at once, i.e. that they raced (a diagnostic: a loaded machine may delay a thread) */
const overlap = (a: LaneResult, b: LaneResult) => `lanes ran ${(a.end - a.start).toFixed(1)} and ${(b.end - b.start).toFixed(1)} ms, ` +
  `${Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start)).toFixed(1)} ms of it together`;

class Lane {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  rx = 0n;
  constructor(data: LaneWorkerData) {
    this.worker = new Worker(new URL('./lanes-threads-worker.js', import.meta.url), { workerData: data });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('error', reject);
    });
  }

  run(job: LaneJob): Promise<LaneResult> {
    this.rx += BigInt(job.batches.reduce((n, b) => n + b.frames.length, 0));
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.worker.once('error', onError);
      this.worker.once('message', (r: LaneResult) => {
        this.worker.off('error', onError);
        resolve(r);
      });
      this.worker.postMessage(job);
    });
  }
}

for (const flavour of FLAVOURS) {
  describe(`two threads over one table (${flavour})`, { timeout: 60_000 }, () => {
    let h: CoreHarness;
    let lanes: Lane[];
    let gate: Int32Array;
    let arrivals = 0;
    const sets: Flow[][] = [0, 1].map((s) => Array.from({ length: N }, (_, i) => ({
      cport: 10000 + s * N + i, vport: i % 2 ? FNAT_PORT : NAT_PORT,
    })));
    const all = () => [...sets[0], ...sets[1]];

    before(async () => {
      h = new CoreHarness(flavour, { workers: 2, sessions: 32768, events: 16384, slotCount: 64 }).standard();
      h.service(0, { forwarding: 'nat', port: NAT_PORT }, [realServerEntry(0), realServerEntry(1)]);
      h.service(1, { forwarding: 'fullnat', port: FNAT_PORT }, [realServerEntry(2), realServerEntry(3)], 2);
      gate = new Int32Array(new SharedArrayBuffer(8));
      lanes = [0, 1].map((lane) => new Lane({ memory: h.memory, layout: h.layout, flavour, lane, gate }));
      await Promise.all(lanes.map((l) => l.ready));
    });
    after(async () => {
      await Promise.all((lanes ?? []).map((l) => l.worker.terminate()));
    });

    /** race runs one job on each lane, both let go together */
    async function race(jobs: Omit<LaneJob, 'gate'>[]): Promise<LaneResult[]> {
      // the workers step batch by batch together (lanes-threads-worker.ts): same counts, or they would wait forever
      assert.equal(jobs[0].batches.length, jobs[1].batches.length, 'both lanes get as many batches');
      arrivals += 2;
      return Promise.all(jobs.map((j, i) => lanes[i].run({ ...j, gate: arrivals })));
    }

    /** every frame forwarded, every checksum right; returns the decoded IP packets */
    function forwarded(r: LaneResult, what: string): DecodedIp[] {
      return r.outs.map((out, i) => {
        assert.equal(r.verdicts[i], abi.VERDICT_FORWARD, `${what} #${i}: reason ${r.reasons[i]}`);
        const ip = decodeFrame(out, true).ip!;
        assert.ok(allChecksumsOk(ip), `${what} #${i}: checksums`);
        return ip;
      });
    }

    function drain(): ReturnType<typeof eventView>[] {
      const evs: ReturnType<typeof eventView>[] = [];
      h.tables.drainEvents((raw) => evs.push(eventView(raw)));
      return evs;
    }

    it('a SYN on both lanes at once makes one session: the same server, the same Full-NAT port', async (t) => {
      const syn = (f: Flow) => fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: f.cport, dport: f.vport, flags: 'S', seq: 1000 }));
      // both lanes walk every flow in the same order, so each SYN meets its twin on the other lane
      const batches = chunks(all().map(syn), BATCH).map((frames) => ({ dev: 0, frames }));
      const [a, b] = await race([{ now: T0, batches }, { now: T0, batches }]);
      t.diagnostic(overlap(a, b));
      const outA = forwarded(a, 'SYN on lane 0');
      const outB = forwarded(b, 'SYN on lane 1');
      const lports = new Set<string>();
      // a flow each lane translated differently got two sessions: count them all before failing
      const split: string[] = [];
      all().forEach((f, i) => {
        const [x, y] = [outA[i], outB[i]];
        const tuple = (p: DecodedIp) => `${p.src}:${p.tcp!.sport} > ${p.dst}:${p.tcp!.dport}`;
        if (tuple(x) !== tuple(y)) split.push(`${f.cport}: ${tuple(x)} | ${tuple(y)}`);
        assert.equal(x.tcp!.dport, 8080);
        if (f.vport === NAT_PORT) {
          assert.ok(RIPS.slice(0, 2).includes(x.dst), x.dst);
          assert.deepEqual([x.src, x.tcp!.sport], [CIP, f.cport]);
        } else {
          assert.ok(RIPS.slice(2, 4).includes(x.dst), x.dst);
          assert.ok(LIPS.includes(x.src), `from a LIP: ${x.src}`);
          lports.add(`${x.src}:${x.tcp!.sport}`);
        }
        Object.assign(f, { rip: x.dst, src: x.src, sport: x.tcp!.sport });
      });
      assert.deepEqual(split, [], `${split.length} flow(s) translated differently on the two lanes (two sessions)`);
      assert.equal(lports.size, N, 'no Full-NAT source port given to two flows');
      assert.equal(h.tables.sessionCount(), 2 * N, 'HDR_CONN_COUNT: one session per flow');
      const live = h.sessions(T0);
      assert.equal(live.length, 2 * N, 'records in the table');
      assert.equal(new Set(live.map((s) => key(s.clientPort, s.vport))).size, 2 * N, 'no flow has two records');
      assert.equal(h.tables.stat(abi.STAT_CONN_CREATED), BigInt(2 * N));
      const created = drain().filter((e) => e.type === abi.EVT_CREATED);
      assert.equal(new Set(created.map((e) => key(e.clientPort, e.vport))).size, 2 * N);
      assert.equal(created.length, 2 * N, 'one creation event per flow, from whichever lane won');
    });

    it('the SYN-ACK on one lane races the client\'s ACK on the other; data both ways on both lanes', async (t) => {
      const ack = (f: Flow, seq: number, payload?: Uint8Array) =>
        fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: f.cport, dport: f.vport, flags: payload ? 'PA' : 'A', seq, ack: 5001, payload }));
      const reply = (f: Flow, flags: string, seq: number, payload?: Uint8Array) =>
        fromServer(tcpPacket({ src: f.rip!, dst: f.src! },
          { sport: 8080, dport: f.sport!, flags, seq, ack: 1001, payload }), f.rip!);
      // lane 0: set 0's client side and set 1's server side, chunk by chunk; lane 1 the mirror
      const plan = (client: (f: Flow) => Uint8Array, server: (f: Flow) => Uint8Array) => [0, 1].map((lane) => {
        const mine = chunks(sets[lane], BATCH);
        const theirs = chunks(sets[1 - lane], BATCH);
        return { now: T0 + 5, batches: mine.flatMap((c, k) => [
          { dev: 0, frames: c.map(client) }, { dev: 1, frames: theirs[k].map(server) }]) };
      });
      const order = (lane: number) => {
        const mine = chunks(sets[lane], BATCH);
        const theirs = chunks(sets[1 - lane], BATCH);
        return mine.flatMap((c, k) => [...c.map((f) => ({ f, toServer: true })),
          ...theirs[k].map((f) => ({ f, toServer: false }))]);
      };
      const check = (r: LaneResult, lane: number, what: string, data: boolean) => {
        const ips = forwarded(r, `${what} on lane ${lane}`);
        order(lane).forEach(({ f, toServer }, i) => {
          const ip = ips[i];
          const tcp = ip.tcp!;
          const got = [ip.src, tcp.sport, ip.dst, tcp.dport];
          if (toServer) assert.deepEqual(got, [f.src, f.sport, f.rip, 8080], `${what} of ${f.cport} to its server`);
          else assert.deepEqual(got, [VIP, f.vport, CIP, f.cport], `${what} of ${f.cport} to the client`);
          if (data) assert.deepEqual(tcp.payload, payloadOf(f, toServer ? 0 : 1), `${what} of ${f.cport}: payload intact`);
        });
      };
      const hs = await race(plan((f) => ack(f, 1001), (f) => reply(f, 'SA', 5000)));
      t.diagnostic(overlap(hs[0], hs[1]));
      hs.forEach((r, lane) => check(r, lane, 'handshake', false));
      const data = await race(plan((f) => ack(f, 1001, payloadOf(f, 0)), (f) => reply(f, 'PA', 5001, payloadOf(f, 1))));
      data.forEach((r, lane) => check(r, lane, 'data', true));
      assert.equal(h.tables.sessionCount(), 2 * N, 'no session made or lost by the replies');
      assert.equal(h.tables.stat(abi.STAT_CONN_CREATED), BigInt(2 * N));
      const established = h.sessions(T0 + 5).filter((s) => s.state === abi.TCP_S_ESTABLISHED).length;
      assert.equal(established, 2 * N, 'every flow reached ESTABLISHED, whichever lane saw its ACK first');
    });

    it('per-lane counters summed by the host equal what each thread was given', () => {
      for (const [i, lane] of lanes.entries()) assert.equal(h.tables.statOfLane(i, abi.STAT_RX_PACKETS), lane.rx, `lane ${i}`);
      const total = lanes[0].rx + lanes[1].rx;
      assert.equal(h.tables.stat(abi.STAT_RX_PACKETS), total);
      assert.equal(h.tables.stat(abi.STAT_FORWARDED), total, 'every frame so far was forwarded');
      assert.equal(h.tables.stat(abi.STAT_DROPPED), 0n);
      const created = h.tables.statOfLane(0, abi.STAT_CONN_CREATED) + h.tables.statOfLane(1, abi.STAT_CONN_CREATED);
      assert.equal(created, BigInt(2 * N));
      assert.equal(h.tables.stat(abi.STAT_EVENTS_LOST), 0n);
    });

    // flows the next test opens on lane 1 while lane 0 forwards data of set 0 on the lean path
    const extra: Flow[] = Array.from({ length: 2 * Math.ceil(N / BATCH) * EXTRA_PER_BATCH }, (_, i) => ({
      cport: 10000 + 2 * N + M + i, vport: NAT_PORT,
    }));

    it('lean hits on one lane race inserts, and batches of hits and SYNs, on the other', async (t) => {
      const rx0 = lanes[0].rx + lanes[1].rx;
      const data = (f: Flow, toServer: boolean) => toServer
        ? fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: f.cport, dport: f.vport, flags: 'PA', seq: 2001, ack: 6001, payload: payloadOf(f, 0) }))
        : fromServer(tcpPacket({ src: f.rip!, dst: f.src! }, { sport: 8080, dport: f.sport!, flags: 'PA', seq: 6001, ack: 2001, payload: payloadOf(f, 1) }), f.rip!);
      const syn = (f: Flow) => fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: f.cport, dport: f.vport, flags: 'S', seq: 1 }));
      // lane 0: set 0's NAT flows (all lean hits) both ways; lane 1: in every batch, SYNs of new
      // flows (the exclusive lock) beside data of set 1's NAT flows (lean): one batch, both phases
      const nat = (set: Flow[]) => set.filter((f) => f.vport === NAT_PORT);
      const expect: { f: Flow; toServer: boolean; syn?: boolean }[][] = [[], []];
      const batches: { dev: number; frames: Uint8Array[] }[][] = [[], []];
      const c0 = chunks(nat(sets[0]), BATCH / 2);
      const c1 = chunks(nat(sets[1]), BATCH - EXTRA_PER_BATCH);
      const steps = 2 * Math.ceil(N / BATCH);
      for (let k = 0; k < steps; k++) {
        const toServer = k % 2 === 0;
        const mine = c0[Math.floor(k / 2) % c0.length];
        batches[0].push({ dev: toServer ? 0 : 1, frames: mine.map((f) => data(f, toServer)) });
        expect[0].push(...mine.map((f) => ({ f, toServer })));
        const fresh = extra.slice(k * EXTRA_PER_BATCH, (k + 1) * EXTRA_PER_BATCH);
        const theirs = c1[k % c1.length];
        // the SYNs between the hits, so a left frame sits among lean ones
        const mixed = [...theirs.slice(0, 5), ...fresh, ...theirs.slice(5)];
        batches[1].push({ dev: 0, frames: mixed.map((f) => (fresh.includes(f) ? syn(f) : data(f, true))) });
        expect[1].push(...mixed.map((f) => ({ f, toServer: true, syn: fresh.includes(f) })));
      }
      const rs = await race([{ now: T0 + 10, batches: batches[0] }, { now: T0 + 10, batches: batches[1] }]);
      t.diagnostic(overlap(rs[0], rs[1]));
      rs.forEach((r, lane) => {
        const ips = forwarded(r, `lane ${lane}`);
        expect[lane].forEach(({ f, toServer, syn: isSyn }, i) => {
          const ip = ips[i];
          const got = [ip.src, ip.tcp!.sport, ip.dst, ip.tcp!.dport];
          if (isSyn) {
            assert.deepEqual([ip.src, ip.tcp!.sport, ip.tcp!.dport, (ip.tcp!.flags ?? 0) & 0x02], [CIP, f.cport, 8080, 0x02], `SYN of ${f.cport}`);
            assert.ok(RIPS.slice(0, 2).includes(ip.dst), ip.dst);
          } else if (toServer) {
            assert.deepEqual(got, [f.src, f.sport, f.rip, 8080], `data of ${f.cport} to its server on lane ${lane}`);
            assert.deepEqual(ip.tcp!.payload, payloadOf(f, 0));
          } else {
            assert.deepEqual(got, [VIP, f.vport, CIP, f.cport], `data of ${f.cport} to the client on lane ${lane}`);
            assert.deepEqual(ip.tcp!.payload, payloadOf(f, 1));
          }
        });
      });
      assert.equal(h.tables.sessionCount(), 2 * N + extra.length, 'one session per new flow, none lost');
      assert.equal(h.tables.stat(abi.STAT_CONN_CREATED), BigInt(2 * N + extra.length));
      const sent = lanes[0].rx + lanes[1].rx - rx0;
      assert.equal(h.tables.stat(abi.STAT_FORWARDED), rx0 + sent, 'every frame forwarded once: none lost, none counted twice');
      assert.equal(h.tables.stat(abi.STAT_DROPPED), 0n);
      const live = h.sessions(T0 + 10);
      assert.equal(live.filter((s) => s.state === abi.TCP_S_ESTABLISHED).length, 2 * N, 'the hits left every old flow ESTABLISHED');
    });

    it('both lanes sweep their share while the other inserts new flows: every old record expires once', async (t) => {
      drain();
      const fresh: Flow[] = Array.from({ length: M }, (_, i) => ({
        cport: 10000 + 2 * N + i, vport: i % 2 ? FNAT_PORT : NAT_PORT,
      }));
      const syn = (f: Flow) => fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: f.cport, dport: f.vport, flags: 'S', seq: 1 }));
      const batches = chunks(fresh.map(syn), BATCH).map((frames) => ({ dev: 0, frames }));
      const job = { now: LATER, batches, sweepBudget: 256 };
      const rs = await race([job, job]);
      t.diagnostic(overlap(rs[0], rs[1]));
      rs.forEach((r, lane) => forwarded(r, `new SYN on lane ${lane}`));
      const expired = h.tables.stat(abi.STAT_CONN_EXPIRED);
      assert.equal(expired, BigInt(2 * N + extra.length), 'each old record expired once');
      assert.ok(rs[0].swept > 0 && rs[1].swept > 0, `both lanes swept: ${rs[0].swept}, ${rs[1].swept}`);
      const ends = drain().filter((e) => e.type === abi.EVT_EXPIRED);
      assert.equal(ends.length, 2 * N + extra.length, 'one expiry event per flow, from both rings');
      const keys = new Set(ends.map((e) => key(e.clientPort, e.vport)));
      assert.equal(keys.size, 2 * N + extra.length);
      for (const f of [...all(), ...extra]) assert.ok(keys.has(key(f.cport, f.vport)), `flow ${f.cport} expired`);
      assert.equal(h.tables.sessionCount(), M, 'only the new flows are left, one session each');
      assert.equal(new Set(h.sessions(LATER).map((s) => key(s.clientPort, s.vport))).size, M);
      assert.equal(h.core.sweep(0, 1 << 20, LATER) + h.core.sweep(1, 1 << 20, LATER), 0, 'nothing left to expire');
      assert.equal(h.tables.stat(abi.STAT_CONN_CREATED), BigInt(2 * N + extra.length + M));
      assert.equal(h.tables.stat(abi.STAT_EVENTS_LOST), 0n);
    });

    it('a lane whose clock lags forwards hits while the other expires those sessions and reuses their records', async (t) => {
      // workers' clocks differ by up to a batch: here lane 1 is far ahead (LATER2), so to it every
      // session opened below is over; it sweeps them and gives their records to new flows while
      // lane 0 (at T1) still forwards their data on the lean path under the read lock. Each of lane
      // 0's frames must go out with its own flow's translation or not at all, never another's.
      const T1 = LATER + 10;
      const LATER2 = T1 + 2 * 3600_000;
      const flows = (base: number): Flow[] =>
        Array.from({ length: K }, (_, i) => ({ cport: base + i, vport: i % 2 ? FNAT_PORT : NAT_PORT }));
      const old = flows(30000);
      const fresh = flows(40000);
      const syn = (f: Flow) => fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: f.cport, dport: f.vport, flags: 'S', seq: 1 }));
      const both = async (frames: Uint8Array[], dev: number) => {
        const batches = chunks(frames, BATCH).map((b) => ({ dev, frames: b }));
        return race([{ now: T1, batches }, { now: T1, batches }]);
      };
      const [opened] = await both(old.map(syn), 0);
      forwarded(opened, 'old SYN').forEach((ip, i) => Object.assign(old[i], { rip: ip.dst, src: ip.src, sport: ip.tcp!.sport }));
      const fromClientTcp = (f: Flow, flags: string, payload?: Uint8Array) =>
        fromClient(tcpPacket({ src: CIP, dst: VIP },
          { sport: f.cport, dport: f.vport, flags, seq: 2, ack: 5001, payload }));
      await both(old.map((f) => fromServer(tcpPacket({ src: f.rip!, dst: f.src! },
        { sport: 8080, dport: f.sport!, flags: 'SA', seq: 5000, ack: 2 }), f.rip!)), 1);
      await both(old.map((f) => fromClientTcp(f, 'A')), 0);
      drain();
      const data = (f: Flow) => fromClientTcp(f, 'PA', payloadOf(f, 0));
      const steps = 2 * Math.ceil(K / BATCH);
      const chunkOf = (k: number) => chunks(old, BATCH)[k % Math.ceil(K / BATCH)];
      const hits = Array.from({ length: steps }, (_, k) => ({ dev: 0, frames: chunkOf(k).map(data) }));
      const news = Array.from({ length: steps }, (_, k) =>
        ({ dev: 0, frames: fresh.slice(k * 4, k * 4 + 4).map(syn) }));
      const [a, b] = await race([{ now: T1, batches: hits }, { now: LATER2, batches: news, sweepBudget: 64 }]);
      t.diagnostic(overlap(a, b));
      let sent = 0;
      hits.flatMap((x, k) => chunkOf(k)).forEach((f, i) => {
        if (a.verdicts[i] !== abi.VERDICT_FORWARD) return;
        sent++;
        const ip = decodeFrame(a.outs[i], true).ip!;
        assert.ok(allChecksumsOk(ip), `data of ${f.cport}: checksums`);
        assert.deepEqual([ip.src, ip.tcp!.sport, ip.dst, ip.tcp!.dport], [f.src, f.sport, f.rip, 8080],
          `data of ${f.cport} went out as its own flow`);
        assert.deepEqual(ip.tcp!.payload, payloadOf(f, 0));
      });
      t.diagnostic(`lane 0 forwarded ${sent} of ${a.verdicts.length} before its sessions were gone`);
      forwarded(b, 'new SYN on the lane ahead');
      assert.ok(b.swept >= K, `the lane ahead expired the old sessions: ${b.swept}`);
      const live = h.sessions(LATER2);
      assert.equal(new Set(live.map((x) => key(x.clientPort, x.vport))).size, live.length, 'no flow has two records');
      for (const f of fresh.slice(0, steps * 4)) {
        assert.ok(live.some((x) => x.clientPort === f.cport), `new flow ${f.cport} has its session`);
      }
    });
  });
}
