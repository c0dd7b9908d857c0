// The embryonic budget (assembly/embryonic.ts): a spoofed SYN flood takes at most its share of
// the table, the oldest embryonic sessions go first, established ones never, a legitimate
// handshake survives a flood for about budget / rate, and the count stays exact through expiry.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RS_MACS, VIP, realServerEntry } from './harness.js';
import { ethernet, tcpPacket, udpPacket } from '../oracle/packet.js';

const S = 1000;
const inTcp = (sport: number, flags: string, src = CIP) =>
  ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src, dst: VIP }, { sport, dport: 80, flags }));
const outTcp = (dport: number, flags: string, dst = CIP) =>
  ethernet(DEV1_MAC, RS_MACS[0], tcpPacket({ src: RIPS[0], dst }, { sport: 8080, dport, flags }));
/** a spoofed source: 198.18.0.0/15 (RFC 2544 benchmarking) */
const spoof = (i: number) => `198.18.${(i >> 8) & 255}.${i & 255}`;

function director(flavour: (typeof FLAVOURS)[number], sessions: number, budget: number, pressure = 0,
  workers = 1): CoreHarness {
  const h = new CoreHarness(flavour, { sessions, workers }).standard();
  h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
  h.tables.setSynFlood({ embryonicMax: budget, synRecvPressureS: pressure, proxyFillRecords: 0, mss: 1460, wscale: 7 });
  return h;
}

function establish(h: CoreHarness, sport: number, now = 0): void {
  assert.equal(h.one(inTcp(sport, 'S'), now).verdict, abi.VERDICT_FORWARD);
  assert.equal(h.one(outTcp(sport, 'SA'), now, { dev: 1 }).verdict, abi.VERDICT_FORWARD);
  assert.equal(h.one(inTcp(sport, 'A'), now).verdict, abi.VERDICT_FORWARD);
}

const embryonicPorts = (h: CoreHarness) => h.sessions().filter((s) => abi.TCP_STATE_NAMES[s.state] === 'SYN_RECV').map((s) => s.clientPort).sort((a, b) => a - b);

for (const flavour of FLAVOURS) {
  describe(`embryonic budget (${flavour})`, () => {
    it('at the budget a new SYN evicts the oldest embryonic session, in creation order', () => {
      const h = director(flavour, 64, 4);
      for (let p = 1; p <= 4; p++) h.one(inTcp(p, 'S'), 0);
      assert.deepEqual(embryonicPorts(h), [1, 2, 3, 4]);
      for (let p = 5; p <= 10; p++) {
        assert.equal(h.one(inTcp(p, 'S'), p).verdict, abi.VERDICT_FORWARD);
        assert.deepEqual(embryonicPorts(h), [p - 3, p - 2, p - 1, p], `after SYN ${p}`);
      }
      assert.equal(h.tables.embryonic().count, 4);
      assert.equal(h.tables.stat(abi.STAT_EMBRYONIC_EVICTED), 6n);
      // an evicted client's ACK finds nothing; a kept one completes
      assert.equal(h.one(inTcp(1, 'A'), 11).reason, abi.DROP_NO_SESSION);
      assert.equal(h.one(outTcp(10, 'SA'), 11, { dev: 1 }).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.one(inTcp(10, 'A'), 11).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.tables.embryonic().count, 3);
    });

    it('with two lanes the oldest still goes first, whichever lane made it and whichever evicts', () => {
      // one hand for the table: a hand per lane would take the session another lane just placed
      const h = director(flavour, 64, 4, 0, 2);
      const lanes = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0];
      lanes.forEach((lane, i) => {
        const p = i + 1;
        assert.equal(h.one(inTcp(p, 'S'), p, { lane }).verdict, abi.VERDICT_FORWARD);
        const kept = Array.from({ length: p }, (_, k) => k + 1).slice(-4);
        assert.deepEqual(embryonicPorts(h), kept, `after SYN ${p} on lane ${lane}`);
      });
      assert.equal(h.tables.stat(abi.STAT_EMBRYONIC_EVICTED), BigInt(lanes.length - 4));
    });

    it('never evicts an established session: a full table evicts embryonic ones, then drops', () => {
      const h = director(flavour, 16, 16);
      for (let p = 1; p <= 12; p++) establish(h, p);
      for (let p = 100; p < 104; p++) h.one(inTcp(p, 'S'), 1);
      assert.equal(h.tables.sessionCount(), 16);
      // the table is full: each flood SYN takes an embryonic session's record
      for (let i = 0; i < 50; i++) assert.equal(h.one(inTcp(1000 + i, 'S', spoof(i)), 2).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.tables.stat(abi.STAT_EMBRYONIC_EVICTED), 50n);
      for (let p = 1; p <= 12; p++) assert.equal(h.one(inTcp(p, 'A'), 3).verdict, abi.VERDICT_FORWARD, `established ${p} untouched`);
      // established everywhere: nothing left to evict
      const h2 = director(flavour, 16, 16);
      for (let p = 1; p <= 16; p++) establish(h2, p);
      assert.equal(h2.one(inTcp(99, 'S'), 1).reason, abi.DROP_TABLE_FULL);
      assert.equal(h2.tables.stat(abi.STAT_EMBRYONIC_EVICTED), 0n);
    });

    it('a UDP flow in a full table takes an embryonic record too, never an established one', () => {
      const h = new CoreHarness(flavour, { sessions: 16 }).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      h.service(1, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(1)], 1);
      for (let p = 1; p <= 15; p++) establish(h, p);
      h.one(inTcp(500, 'S'), 0);
      assert.equal(h.tables.sessionCount(), 16);
      const dns = ethernet(DEV0_MAC, CLIENT_MAC, udpPacket({ src: CIP, dst: VIP }, { sport: 5353, dport: 53 }));
      assert.equal(h.one(dns, 1).verdict, abi.VERDICT_FORWARD);
      assert.deepEqual(embryonicPorts(h), []);
      assert.equal(h.tables.stat(abi.STAT_EMBRYONIC_EVICTED), 1n);
      for (let p = 1; p <= 15; p++) assert.equal(h.one(inTcp(p, 'A'), 2).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.one(inTcp(501, 'S'), 2).reason, abi.DROP_TABLE_FULL);
    });

    it('the hand looks at a bounded number of records, and keeps its progress', () => {
      const h = director(flavour, 256, 1);
      for (let p = 1; p <= 100; p++) establish(h, p);
      assert.equal(h.one(inTcp(1000, 'S'), 1).verdict, abi.VERDICT_FORWARD);
      // the one embryonic record is number 100; the hand starts at 0 and looks at 64 a time
      const r = h.one(inTcp(1001, 'S'), 2);
      assert.equal(r.verdict, abi.VERDICT_DROP);
      assert.equal(r.reason, abi.DROP_EMBRYONIC_LIMIT);
      assert.equal(h.one(inTcp(1002, 'S'), 3).verdict, abi.VERDICT_FORWARD, 'the next call goes on from 64 and finds it');
      assert.deepEqual(embryonicPorts(h), [1002]);
    });

    it('a legitimate handshake survives a flood of `budget` SYNs between its SYN and its ACK', () => {
      const budget = 256;
      const h = director(flavour, 4096, budget);
      let n = 0;
      const flood = (k: number, now: number) => {
        for (let i = 0; i < k; i += 32) {
          h.run(Array.from({ length: Math.min(32, k - i) }, () => { n++; return inTcp(1024 + (n % 60000), 'S', spoof(n)); }), now);
        }
      };
      flood(3000, 0);
      assert.equal(h.tables.embryonic().count, budget, 'the flood holds exactly its budget');
      // our client: SYN, then budget - 1 flood SYNs before the server's SYN-ACK and its ACK
      assert.equal(h.one(inTcp(40000, 'S'), 1).verdict, abi.VERDICT_FORWARD);
      flood(budget - 1, 1);
      assert.equal(h.one(outTcp(40000, 'SA'), 2, { dev: 1 }).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.one(inTcp(40000, 'A'), 2).verdict, abi.VERDICT_FORWARD);
      assert.equal(abi.TCP_STATE_NAMES[h.sessions().find((s) => s.clientPort === 40000)!.state], 'ESTABLISHED');
      // and it stays: a flood goes on around it
      flood(5000, 3);
      assert.equal(h.one(inTcp(40000, 'PA'), 4).verdict, abi.VERDICT_FORWARD);
      // one SYN more than the budget in between, and the oldest (ours) is the one that goes
      assert.equal(h.one(inTcp(40001, 'S'), 5).verdict, abi.VERDICT_FORWARD);
      flood(budget, 5);
      assert.equal(h.one(inTcp(40001, 'A'), 6).reason, abi.DROP_NO_SESSION);
    });

    it('under pressure SYN_RECV sessions get the short timeout, and the count follows expiry', () => {
      const h = director(flavour, 256, 8, 3);
      h.one(inTcp(1, 'S'), 0);
      assert.equal(Math.round(h.sessions(0)[0].expiresIn / S), 60, 'below half the budget: the normal 60 s');
      for (let p = 2; p <= 5; p++) h.one(inTcp(p, 'S'), 0);
      // the fourth one brings the budget to half: it and later ones get 3 s
      const timers = h.sessions(0).map((x) => [x.clientPort, Math.round(x.expiresIn / S)]).sort((a, b) => a[0] - b[0]);
      assert.deepEqual(timers, [[1, 60], [2, 60], [3, 60], [4, 3], [5, 3]]);
      h.core.sweep(0, 256, 4 * S);
      assert.deepEqual(embryonicPorts(h), [1, 2, 3]);
      assert.equal(h.tables.embryonic().count, 3);
      h.core.sweep(0, 256, 61 * S);
      assert.equal(h.tables.embryonic().count, 0);
      assert.equal(h.tables.sessionCount(), 0);
    });

    it('the count is exact through random churn (state changes, RSTs, expiry, eviction)', () => {
      const h = director(flavour, 512, 40, 2);
      let rng = 99;
      const rand = (k: number) => Math.floor(((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32) * k);
      let now = 0;
      for (let i = 0; i < 4000; i++) {
        now += rand(50);
        const p = 1 + rand(300);
        const what = rand(5);
        if (what === 0) h.one(outTcp(p, 'SA'), now, { dev: 1 });
        else if (what === 1) h.one(inTcp(p, 'A'), now);
        else if (what === 2) h.one(inTcp(p, rand(2) ? 'R' : 'FA'), now);
        else h.one(inTcp(p, 'S'), now);
        if (i % 50 === 0) h.core.sweep(0, 64, now);
        if (i % 500 === 0) {
          const real = h.sessions(now).filter((s) => abi.TCP_STATE_NAMES[s.state] === 'SYN_RECV').length;
          assert.equal(h.tables.embryonic().count, real, `round ${i}`);
          assert.ok(real <= 40);
        }
      }
    });
  });
}
