// Pass 2's look-ahead at the schedulers (assembly/sched/peek.ts): the server it predicts for each
// new connection of a batch, asked in frame order before the batch runs, must be the server pass
// 3 then gives that connection (read from the rewritten frame), for every scheduler, with a
// history of established and half-open connections behind the counting ones. A wrong prediction
// costs only speed (the reply slot pass 2c loads is not the one pass 3 uses), so only this test
// sees one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { CLIENT_MAC, CoreHarness, DEV0_MAC, FLAVOURS, VIP, realServerEntry } from './harness.js';
import { ethernet, tcpPacket, udpPacket } from '../oracle/packet.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../../src/model/spec.js';

const wire = CoreHarness.wire;
const clientIp = (i: number) => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
const swap16 = (p: number) => ((p & 0xff) << 8) | (p >>> 8);
const toDirector = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt);
const syn = (i: number, flags = 'S') => toDirector(tcpPacket({ src: clientIp(i), dst: VIP },
  { sport: 1024 + (i % 60000), dport: 80, flags, seq: 1000, ack: flags === 'A' ? 1 : 0 }));
/** the real server a forwarded NAT frame went to: its destination address is 10.0.2.(11 + index) */
const serverOf = (out: Uint8Array) => out[14 + 19] - 11;

const WEIGHTS: Partial<Record<SchedulerName, number[]>> = {
  wrr: [4, 3, 2, 1], wlc: [1, 3, 1, 2], sed: [2, 1, 1, 3], nq: [2, 1, 1, 3],
};

/**
 * predictionsHold: after 37 connections (half-open, or 19 of them then established), three
 * batches of 100 SYNs from new clients each get, connection by connection, the predicted server
 */
function predictionsHold(flavour: (typeof FLAVOURS)[number], scheduler: SchedulerName, established: boolean): void {
  const h = new CoreHarness(flavour, { slotCount: 128 }).standard();
  const weights = WEIGHTS[scheduler] ?? [1, 1, 1, 1];
  h.service(0, { forwarding: 'nat', scheduler, hashPort: scheduler !== 'dh' },
    weights.map((weight, i) => realServerEntry(i, { weight })));
  const history = Array.from({ length: 37 }, (_, i) => i);
  h.run(history.map((i) => syn(i)), 5);
  if (established) h.run(history.filter((i) => i % 2 === 0).map((i) => syn(i, 'A')), 6);
  for (let round = 0; round < 3; round++) {
    const clients = Array.from({ length: 100 }, (_, k) => 1000 + round * 100 + k);
    const predicted = clients.map((i, k) => h.core.peekRealServer(0, wire(clientIp(i)), swap16(1024 + (i % 60000)),
      wire(VIP), k === 0 ? 1 : 0));
    const results = h.run(clients.map((i) => syn(i)), 10 + round);
    assert.ok(results.every((r) => r.verdict === abi.VERDICT_FORWARD));
    assert.deepEqual(predicted, results.map((r) => serverOf(r.out)), `round ${round}, established ${established}`);
  }
}

for (const flavour of FLAVOURS) {
  describe(`pass 2's look-ahead at the schedulers (${flavour})`, () => {
    for (const scheduler of SCHEDULER_NAMES) {
      it(`${scheduler}: every new connection of a batch gets the server predicted for it`, () => {
        // half-open history only, and with established connections (active ones outweigh any
        // number of half-open ones in lc and wlc, which then pick one server for a whole batch)
        for (const established of [false, true]) predictionsHold(flavour, scheduler, established);
      });
    }

    it('follows one service a batch: another service gets no prediction until the next batch', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', scheduler: 'rr' }, [0, 1].map((i) => realServerEntry(i)));
      h.service(1, { forwarding: 'nat', scheduler: 'rr', port: 81 }, [2, 3].map((i) => realServerEntry(i)), 2);
      const peek = (svc: number, reset: number) => h.core.peekRealServer(svc, wire(clientIp(1)), 1, wire(VIP), reset);
      assert.deepEqual([peek(0, 1), peek(0, 0), peek(1, 0), peek(0, 0)], [0, 1, abi.NO_RS, 0]);
      assert.deepEqual([peek(1, 1), peek(1, 0)], [2, 3]);
    });

    it('UDP: a new flow is predicted as a SYN is, and the prediction follows the datagrams that create sessions', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', scheduler: 'wlc', protocol: 'udp', port: 53 },
        [0, 1, 2].map((i) => realServerEntry(i, { port: 53 })));
      const dgram = (i: number) => toDirector(udpPacket({ src: clientIp(i), dst: VIP }, { sport: 5000 + i, dport: 53,
        payload: new Uint8Array(8) }));
      const clients = Array.from({ length: 30 }, (_, k) => k);
      const predicted = clients.map((i, k) => h.core.peekRealServer(0, wire(clientIp(i)), swap16(5000 + i), wire(VIP),
        k === 0 ? 1 : 0));
      const results = h.run(clients.map(dgram), 5);
      assert.deepEqual(predicted, results.map((r) => serverOf(r.out)));
    });
  });
}
