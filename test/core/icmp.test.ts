// ICMP errors that concern a session are relayed to the right side with the quoted datagram
// rewritten; unrelated errors and echo are handled as the contract says.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RS_MACS, VIP, realServerEntry,
} from './harness.js';
import { allChecksumsOk, decodeFrame, ethernet, icmpPacket, tcpPacket } from '../oracle/packet.js';

const ROUTER = '10.0.1.254';

function setup(flavour: 'release' | 'debug', forwarding: 'nat' | 'fullnat' | 'dr') {
  const h = new CoreHarness(flavour).standard();
  h.service(0, { forwarding }, [realServerEntry(0, forwarding === 'dr' ? { port: 0 } : {})]);
  const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 43000, dport: 80, flags: 'S' });
  const fwd = decodeFrame(h.one(ethernet(DEV0_MAC, CLIENT_MAC, syn), 1).out, true).ip!;
  return { h, fwd };
}

for (const flavour of FLAVOURS) {
  describe(`ICMP error relay (${flavour})`, () => {
    for (const mode of ['nat', 'fullnat'] as const) {
      it(`${mode}: an error from the RS side about the forwarded packet reaches the client, quote rewritten`, () => {
        const { h, fwd } = setup(flavour, mode);
        // the RS (or a router near it) complains about the packet it received: fwd.src -> fwd.dst
        const err = icmpPacket({ src: RIPS[0], dst: fwd.src }, { type: 3, code: 4, rest: 1400,
          payload: fwd.bytes.subarray(0, fwd.ihl + 8) });
        const r = h.one(ethernet(DEV1_MAC, RS_MACS[0], err), 2, { dev: 1 });
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        assert.equal(r.outDev, 0);
        const f = decodeFrame(r.out, true);
        assert.equal(f.dstMac, CLIENT_MAC);
        const ip = f.ip!;
        assert.equal(ip.src, VIP);
        assert.equal(ip.dst, CIP);
        const q = ip.icmp!.quoted!;
        assert.equal(q.src, CIP, 'the quote reads as the client sent it');
        assert.equal(q.dst, VIP);
        assert.equal(q.tcp!.sport, 43000);
        assert.equal(q.tcp!.dport, 80);
        assert.ok(q.headerChecksumOk);
        assert.ok(allChecksumsOk(ip));
        assert.equal(h.tables.stat(abi.STAT_ICMP_RELAYED), 1n);
      });

      it(`${mode}: an error from the client side about our reply reaches the RS, quote rewritten`, () => {
        const { h, fwd } = setup(flavour, mode);
        // what the client received from us: VIP:80 -> CIP:43000
        const reply = tcpPacket({ src: VIP, dst: CIP }, { sport: 80, dport: 43000, flags: 'SA' });
        const err = icmpPacket({ src: ROUTER, dst: VIP }, { type: 11, code: 0, payload: reply.subarray(0, 28) });
        const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, err), 3);
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        assert.equal(r.outDev, 1);
        const ip = decodeFrame(r.out, true).ip!;
        assert.equal(ip.dst, RIPS[0]);
        assert.equal(ip.src, mode === 'fullnat' ? fwd.src : ROUTER);
        const q = ip.icmp!.quoted!;
        // it must read as what the RS sent: RIP:rport -> (CIP|LIP):port
        assert.equal(q.src, RIPS[0]);
        assert.equal(q.tcp!.sport, 8080);
        assert.equal(q.dst, fwd.src);
        assert.equal(q.tcp!.dport, fwd.tcp!.sport);
        assert.ok(allChecksumsOk(ip));
      });
    }

    it('dr: an error about a reply the RS sent directly is forwarded to that RS unchanged', () => {
      const { h } = setup(flavour, 'dr');
      const reply = tcpPacket({ src: VIP, dst: CIP }, { sport: 80, dport: 43000, flags: 'SA' });
      const err = icmpPacket({ src: ROUTER, dst: VIP }, { type: 3, code: 4, rest: 1280, payload: reply.subarray(0,
        28) });
      const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, err), 3);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      const f = decodeFrame(r.out, true);
      assert.equal(f.dstMac, RS_MACS[0]);
      assert.deepEqual(f.ip!.bytes, err);
    });

    it('drops an error that relates to no session (counted)', () => {
      const { h } = setup(flavour, 'nat');
      const stranger = tcpPacket({ src: VIP, dst: '10.0.1.77' }, { sport: 80, dport: 1, flags: 'SA' });
      const err = icmpPacket({ src: ROUTER, dst: VIP }, { type: 3, code: 1, payload: stranger.subarray(0, 28) });
      const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, err), 3);
      assert.equal(r.reason, abi.DROP_ICMP_UNRELATED);
      assert.equal(h.drops(abi.DROP_ICMP_UNRELATED), 1n);
    });

    it('hands echo requests to owned addresses to the host', () => {
      const { h } = setup(flavour, 'nat');
      const echo = icmpPacket({ src: CIP, dst: VIP }, { type: 8, code: 0, rest: 0x00010001 });
      assert.equal(h.one(ethernet(DEV0_MAC, CLIENT_MAC, echo), 3).verdict, abi.VERDICT_HOST);
    });

    it('drops a truncated quote as malformed', () => {
      const { h } = setup(flavour, 'nat');
      const err = icmpPacket({ src: ROUTER, dst: VIP }, { type: 3, code: 1, payload: new Uint8Array([0x45, 0, 0,
        20]) });
      assert.equal(h.one(ethernet(DEV0_MAC, CLIENT_MAC, err), 3).reason, abi.DROP_MALFORMED);
    });
  });
}
