// Sequence-number and timestamp translation (assembly/seqadj.ts): the deltas of a session's
// extension record applied to seq, ack, SACK edges and timestamps in both directions, across
// 2^32 wrap-around, with every checksum recomputed by the oracle.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RS_MACS, VIP, realServerEntry } from './harness.js';
import { allChecksumsOk, decodeFrame, ethernet, tcpOptions, tcpPacket, type DecodedL4 } from '../oracle/packet.js';

const u32 = (n: number) => n >>> 0;
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
/** NOP, SACK with one block (its edges at an ODD offset from the TCP header), NOP NOP, timestamps */
const options = (left: number, right: number, tsval: number, tsecr: number) =>
  [1, 5, 10, ...be32(left), ...be32(right), 1, 1, 8, 10, ...be32(tsval), ...be32(tsecr), 0];

function sackAndTs(t: DecodedL4): { left: number; right: number; tsval: number; tsecr: number } {
  const opts = tcpOptions(t.options!);
  const sack = opts.find((o) => o.kind === 5)!;
  const ts = opts.find((o) => o.kind === 8)!;
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { left: dv(sack.data).getUint32(0), right: dv(sack.data).getUint32(4), tsval: dv(ts.data).getUint32(0),
    tsecr: dv(ts.data).getUint32(4) };
}

function natSession(flavour: (typeof FLAVOURS)[number], connExt = true): CoreHarness {
  const h = new CoreHarness(flavour, { connExt }).standard();
  h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
  const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'S' });
  assert.equal(h.one(ethernet(DEV0_MAC, CLIENT_MAC, syn), 1).verdict, abi.VERDICT_FORWARD);
  return h;
}

function setConnx(h: CoreHarness, rec: number,
  x: { seqIn?: number; seqOut?: number; ts?: number; flags: number }): void {
  const at = h.layout.connx.base + rec * abi.CONNX_SIZE;
  h.view.setUint32(at + abi.CONNX_SEQ_IN, u32(x.seqIn ?? 0), true);
  h.view.setUint32(at + abi.CONNX_SEQ_OUT, u32(x.seqOut ?? 0), true);
  h.view.setUint32(at + abi.CONNX_TS, u32(x.ts ?? 0), true);
  h.view.setUint16(at + abi.CONNX_FLAGS, x.flags, true);
}

const IN_DELTA = 28;
const OUT_DELTA = 0x9abcdef0;
const TS_DELTA = 0x7ffff000;

for (const flavour of FLAVOURS) {
  describe(`sequence translation (${flavour})`, () => {
    it('client -> RS: own seq + in delta; ack, SACK edges - out delta; TSecr - ts delta', () => {
      const h = natSession(flavour);
      setConnx(h, 0, { seqIn: IN_DELTA, seqOut: OUT_DELTA, ts: TS_DELTA, flags: abi.CONNXF_SEQ | abi.CONNXF_TS });
      const seq = 0xfffffff0; // wraps past 2^32
      const ack = 0x12345678;
      const pkt = tcpPacket({ src: CIP, dst: VIP }, {
        sport: 40000, dport: 80, flags: 'A', seq, ack, options: options(ack + 100, ack + 200, 5555, 0x1000), payload: new Uint8Array(7),
      });
      const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, pkt), 2);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      const ip = decodeFrame(r.out, true).ip!;
      assert.equal(ip.dst, RIPS[0]);
      assert.equal(ip.tcp!.seq, u32(seq + IN_DELTA));
      assert.equal(ip.tcp!.ack, u32(ack - OUT_DELTA));
      const o = sackAndTs(ip.tcp!);
      assert.equal(o.left, u32(ack + 100 - OUT_DELTA));
      assert.equal(o.right, u32(ack + 200 - OUT_DELTA));
      assert.equal(o.tsval, 5555, 'the client\'s own clock passes unchanged');
      assert.equal(o.tsecr, u32(0x1000 - TS_DELTA));
      assert.ok(allChecksumsOk(ip), 'TCP checksum after the odd-offset SACK update');
    });

    it('RS -> client: own seq + out delta; ack, SACK edges - in delta; TSval + ts delta', () => {
      const h = natSession(flavour);
      setConnx(h, 0, { seqIn: IN_DELTA, seqOut: OUT_DELTA, ts: TS_DELTA, flags: abi.CONNXF_SEQ | abi.CONNXF_TS });
      const seq = 0x80000000;
      const ack = 10; // the in delta takes it below zero: wraps
      const pkt = tcpPacket({ src: RIPS[0], dst: CIP }, {
        sport: 8080, dport: 40000, flags: 'PA', seq, ack, options: options(3, 9, 0xfffff000, 77), payload: new Uint8Array(100).fill(1),
      });
      const r = h.one(ethernet(DEV1_MAC, RS_MACS[0], pkt), 3, { dev: 1 });
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      const ip = decodeFrame(r.out, true).ip!;
      assert.equal(ip.src, VIP);
      assert.equal(ip.tcp!.seq, u32(seq + OUT_DELTA));
      assert.equal(ip.tcp!.ack, u32(ack - IN_DELTA));
      const o = sackAndTs(ip.tcp!);
      assert.deepEqual([o.left, o.right], [u32(3 - IN_DELTA), u32(9 - IN_DELTA)]);
      assert.equal(o.tsval, u32(0xfffff000 + TS_DELTA));
      assert.equal(o.tsecr, 77);
      assert.ok(allChecksumsOk(ip));
    });

    it('a segment without ACK keeps its ack field; flags off or no extension region change nothing', () => {
      const h = natSession(flavour);
      setConnx(h, 0, { seqIn: IN_DELTA, seqOut: OUT_DELTA, flags: abi.CONNXF_SEQ });
      const rst = tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'R', seq: 500, ack: 999 });
      const a = decodeFrame(h.one(ethernet(DEV0_MAC, CLIENT_MAC, rst), 4).out, true).ip!;
      assert.equal(a.tcp!.seq, 500 + IN_DELTA);
      assert.equal(a.tcp!.ack, 999);
      assert.ok(allChecksumsOk(a));

      for (const h2 of [natSession(flavour), natSession(flavour, false)]) {
        if (h2.layout.connx.size) setConnx(h2, 0, { seqIn: IN_DELTA, seqOut: OUT_DELTA, ts: TS_DELTA, flags: 0 });
        const pkt = tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'A', seq: 1, ack: 2, options: options(3, 4, 5, 6) });
        const ip = decodeFrame(h2.one(ethernet(DEV0_MAC, CLIENT_MAC, pkt), 5).out, true).ip!;
        assert.deepEqual([ip.tcp!.seq, ip.tcp!.ack, sackAndTs(ip.tcp!).left, sackAndTs(ip.tcp!).tsecr], [1, 2, 3, 6]);
      }
    });

    it('a new session starts with a clear extension record', () => {
      const h = natSession(flavour);
      setConnx(h, 0, { seqIn: IN_DELTA, flags: abi.CONNXF_SEQ });
      // the sweep frees record 0 once its timer ran out and the next SYN reuses it
      h.one(ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'R' })), 6);
      h.core.sweep(0, 16, 200_000);
      assert.equal(h.tables.sessionCount(), 0);
      const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 40001, dport: 80, flags: 'S', seq: 42 });
      const ip = decodeFrame(h.one(ethernet(DEV0_MAC, CLIENT_MAC, syn), 200_001).out, true).ip!;
      assert.equal(ip.tcp!.seq, 42);
      assert.equal(h.view.getUint16(h.layout.connx.base + abi.CONNX_FLAGS, true), 0);
    });

    it('virtio partial checksums: fields change, the pseudo-header sum does not', () => {
      const h = natSession(flavour);
      setConnx(h, 0, { seqIn: IN_DELTA, flags: abi.CONNXF_SEQ });
      const pkt = tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'A', seq: 100, ack: 1 });
      const vnet = new Uint8Array(abi.VNET_HDR_LEN);
      vnet[abi.VNET_FLAGS] = abi.VNET_F_NEEDS_CSUM;
      const withNat = decodeFrame(h.one(ethernet(DEV0_MAC, CLIENT_MAC, pkt), 7, { vnet: true,
        vnetHeaders: [vnet] }).out, true).ip!;
      const h2 = natSession(flavour, false);
      const plain = decodeFrame(h2.one(ethernet(DEV0_MAC, CLIENT_MAC, pkt), 7, { vnet: true,
        vnetHeaders: [vnet] }).out, true).ip!;
      assert.equal(withNat.tcp!.seq, 100 + IN_DELTA);
      assert.equal(withNat.tcp!.checksum, plain.tcp!.checksum, 'the same partial sum as without translation');
    });

    it('a malformed option list is walked no further and never traps', () => {
      const h = natSession(flavour);
      setConnx(h, 0, { seqIn: IN_DELTA, seqOut: OUT_DELTA, ts: TS_DELTA, flags: abi.CONNXF_SEQ | abi.CONNXF_TS });
      // SACK claiming 40 bytes in a 4-byte option area, then a timestamp option cut short
      for (const opts of [[5, 40, 0, 0], [1, 1, 8, 10], [5, 1, 0, 0], [8, 10, 0, 0]]) {
        const pkt = tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'A', seq: 1, ack: 2, options: opts });
        const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, pkt), 8);
        assert.equal(r.verdict, abi.VERDICT_FORWARD);
        const ip = decodeFrame(r.out, true).ip!;
        assert.equal(ip.tcp!.seq, 1 + IN_DELTA);
        assert.equal(ip.tcp!.ack, u32(2 - OUT_DELTA));
        assert.deepEqual([...ip.tcp!.options!], opts, 'options left as they were');
        assert.ok(allChecksumsOk(ip));
      }
    });
  });
}
