// Two worker lanes over one session table (issue 12), in one thread: a flow's request on lane 0
// and its reply on lane 1 share one session, each lane counts what it saw, the events of every
// lane come out of one ring in the order the table changed, and the sweep, partitioned by lane,
// expires every record once. Every rewritten frame is checked by the oracle (full checksum
// recomputation). Two real threads racing on one table (the table lock of assembly/mem.ts) are
// lanes-threads.test.ts's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, RIPS, RS_MACS, VIP, realServerEntry,
} from './harness.js';
import { allChecksumsOk, decodeFrame, ethernet, tcpPacket } from '../oracle/packet.js';

const fromClient = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt);
const fromServer = (pkt: Uint8Array, rs: number) => ethernet(DEV1_MAC, RS_MACS[rs], pkt);

for (const flavour of FLAVOURS) {
  describe(`two lanes over one table (${flavour})`, () => {
    for (const forwarding of ['nat', 'fullnat'] as const) {
      it(`${forwarding}: requests on lane 0, replies on lane 1, one session per flow`, () => {
        const h = new CoreHarness(flavour, { workers: 2 }).standard();
        h.service(0, { forwarding }, [realServerEntry(0), realServerEntry(1)]);
        const flows = 8;
        const out: { src: string; sport: number; rip: string }[] = [];
        // every SYN arrives on both lanes (a retransmission the kernel queued elsewhere): still one session
        for (let i = 0; i < flows; i++) {
          const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 42000 + i, dport: 80, flags: 'S', seq: 1000 + i });
          const a = h.one(fromClient(syn), 10, { lane: 0 });
          const b = h.one(fromClient(syn), 11, { lane: 1 });
          for (const r of [a, b]) assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
          const fa = decodeFrame(a.out, true).ip!;
          const fb = decodeFrame(b.out, true).ip!;
          assert.ok(allChecksumsOk(fa) && allChecksumsOk(fb));
          assert.deepEqual([fb.src, fb.dst, fb.tcp!.sport], [fa.src, fa.dst, fa.tcp!.sport], 'the second lane found the first lane\'s session');
          out.push({ src: fa.src, sport: fa.tcp!.sport, rip: fa.dst });
          if (forwarding === 'fullnat') assert.ok(LIPS.includes(fa.src), `from a LIP: ${fa.src}`);
        }
        assert.equal(h.tables.sessionCount(), flows);
        for (let i = 0; i < flows; i++) {
          const rs = RIPS.indexOf(out[i].rip);
          const reply = tcpPacket({ src: out[i].rip, dst: out[i].src }, { sport: 8080, dport: out[i].sport, flags: 'SA', seq: 7, ack: 1001 + i });
          const r = h.one(fromServer(reply, rs), 12, { dev: 1, lane: 1 });
          assert.equal(r.verdict, abi.VERDICT_FORWARD, `reply of flow ${i}: reason ${r.reason}`);
          const g = decodeFrame(r.out, true).ip!;
          assert.deepEqual([g.src, g.dst, g.tcp!.sport, g.tcp!.dport], [VIP, CIP, 80, 42000 + i]);
          assert.ok(allChecksumsOk(g));
        }
        // lane counters: lane 0 saw the flows' SYNs once, lane 1 the SYNs again and the replies
        assert.equal(h.tables.statOfLane(0, abi.STAT_RX_PACKETS), BigInt(flows));
        assert.equal(h.tables.statOfLane(1, abi.STAT_RX_PACKETS), BigInt(2 * flows));
        assert.equal(h.tables.stat(abi.STAT_FORWARDED), BigInt(3 * flows));
        assert.equal(h.tables.stat(abi.STAT_CONN_CREATED), BigInt(flows));
        assert.equal(h.tables.statOfLane(1, abi.STAT_CONN_CREATED), 0n, 'lane 1 created nothing');
        // the new-session events, from lane 0
        const created: number[] = [];
        h.tables.drainEvents((raw) => { if (raw[abi.EVT_TYPE] === abi.EVT_CREATED) created.push(raw[abi.EVT_TYPE]); });
        assert.equal(created.length, flows);
      });
    }

    it('the events of both lanes come out in the order the table changed, not lane by lane', () => {
      const h = new CoreHarness(flavour, { workers: 2 }).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      // lanes 1, 0, 1, 0, ...: a backup applying them lane by lane would see later changes first
      const lanes = [1, 0, 1, 1, 0, 0, 1, 0];
      lanes.forEach((lane, i) => {
        const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 44000 + i, dport: 80, flags: 'S' });
        assert.equal(h.one(fromClient(syn), 10 + i, { lane }).verdict, abi.VERDICT_FORWARD);
      });
      const sports: number[] = [];
      h.tables.drainEvents((raw) => {
        const port = new DataView(raw.buffer, raw.byteOffset).getUint16(abi.EVT_CPORT);
        if (raw[abi.EVT_TYPE] === abi.EVT_CREATED) sports.push(port);
      });
      assert.deepEqual(sports, lanes.map((_, i) => 44000 + i));
      assert.equal(h.tables.drainEvents(() => undefined), 0, 'drained');
    });

    it('the partitioned sweep expires every record once, each lane its own share', () => {
      const h = new CoreHarness(flavour, { workers: 2 }).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      const flows = 20;
      for (let i = 0; i < flows; i++) {
        const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 43000 + i, dport: 80, flags: 'S' });
        assert.equal(h.one(fromClient(syn), 10, { lane: i % 2 }).verdict, abi.VERDICT_FORWARD);
      }
      assert.equal(h.tables.sessionCount(), flows);
      const later = 10 + 61_000; // past syn_recv's 60 s
      const e0 = h.core.sweep(0, 1 << 16, later);
      assert.ok(e0 > 0 && e0 < flows, `lane 0 expired only its share: ${e0}`);
      assert.equal(h.core.sweep(0, 1 << 16, later), 0, 'lane 0 has nothing left');
      const e1 = h.core.sweep(1, 1 << 16, later);
      assert.equal(e0 + e1, flows);
      assert.equal(h.tables.sessionCount(), 0);
      assert.equal(h.tables.stat(abi.STAT_CONN_EXPIRED), BigInt(flows));
    });
  });
}
