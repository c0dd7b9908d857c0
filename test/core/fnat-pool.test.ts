// Full-NAT LIP:lport tuples (fnat_pool.ts): unique per (LIP, real server, port) so the pool grows
// with the servers; exhaustion and busy pools are named drops; a tuple is held past its
// connection until the quarantine is over, except for the client tuple that held it, which gets
// its own LIP:lport back when it reuses its port (the stall of issue 8).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, RIPS, RS_MACS, VIP, realServerEntry } from './harness.js';
import { allChecksumsOk, decodeFrame, ethernet, tcpPacket, udpPacket } from '../oracle/packet.js';

const S = 1000;
const Q = 60 * S; // the default quarantine
const inTcp = (sport: number, flags: string, src = CIP) =>
  ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src, dst: VIP }, { sport, dport: 80, flags }));
const syn = (sport: number, src = CIP) => inTcp(sport, 'S', src);
/** a real server's segment to a LIP:lport */
const fromRs = (rs: number, lip: string, lport: number, flags: string) =>
  ethernet(DEV1_MAC, RS_MACS[rs], tcpPacket({ src: RIPS[rs], dst: lip }, { sport: 8080, dport: lport, flags }));

interface Tuple { lip: string; lport: number; rip: string }
/** tupleOf: where the core sent a client's packet (LIP:lport -> RIP), checksums verified */
function tupleOf(r: { verdict: number; reason: number; out: Uint8Array }): Tuple {
  assert.equal(r.verdict, abi.VERDICT_FORWARD, `dropped: reason ${abi.DROP_REASON_NAMES[r.reason]}`);
  const ip = decodeFrame(r.out, true).ip!;
  assert.ok(allChecksumsOk(ip), 'checksums');
  return { lip: ip.src, lport: (ip.tcp ?? ip.udp)!.sport, rip: ip.dst };
}

/** closeByServer runs a whole connection whose server closes first: the session ends in TIME_WAIT */
function closeByServer(h: CoreHarness, sport: number, rs: number, t: Tuple, now: number): void {
  h.one(fromRs(rs, t.lip, t.lport, 'SA'), now, { dev: 1 });
  h.one(inTcp(sport, 'A'), now);
  h.one(fromRs(rs, t.lip, t.lport, 'FA'), now, { dev: 1 });
  h.one(inTcp(sport, 'FA'), now);
  h.one(fromRs(rs, t.lip, t.lport, 'A'), now, { dev: 1 });
}

const rsIndexOf = (rip: string) => RIPS.indexOf(rip);
const stat = (h: CoreHarness, s: number) => h.tables.stat(s);

for (const flavour of FLAVOURS) {
  describe(`Full-NAT tuples (${flavour})`, () => {
    it('hands out unique LIP:lport pairs per server until that server\'s share is exhausted', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([
        { address: LIPS[0], portMin: 5000, portMax: 5009 }, { address: LIPS[1], portMin: 6000, portMax: 6004 },
      ]);
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      const pairs = new Set<string>();
      for (let i = 0; i < 15; i++) {
        const t = tupleOf(h.one(syn(100 + i), 1));
        pairs.add(`${t.lip}:${t.lport}`);
        assert.ok(t.lip === LIPS[0] ? t.lport >= 5000 && t.lport <= 5009 : t.lport >= 6000 && t.lport <= 6004, `${t.lip}:${t.lport} in range`);
      }
      assert.equal(pairs.size, 15);
      assert.equal(h.tables.lipUsage(0).used, 10);
      assert.equal(h.tables.lipUsage(1).used, 5);
      assert.equal(h.rsField(0, abi.RS_FNAT_HELD), 15);
      const r = h.one(syn(999), 1);
      assert.equal(r.reason, abi.DROP_POOL_EXHAUSTED);
      assert.equal(h.drops(abi.DROP_POOL_EXHAUSTED), 1n);
      assert.equal(h.tables.sessionCount(), 15, 'the failed attempt left no record behind');
    });

    it('the same LIP:lport pairs serve a second server: the pool grows with the servers', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 5000, portMax: 5007 }]);
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0), realServerEntry(1)]);
      h.setPool(0, [0]);
      const seen = new Map<string, Set<number>>();
      for (let i = 0; i < 16; i++) {
        const t = tupleOf(h.one(syn(200 + i), 1));
        if (!seen.has(t.rip)) seen.set(t.rip, new Set());
        assert.ok(!seen.get(t.rip)!.has(t.lport), `${t.lip}:${t.lport} twice toward ${t.rip}`);
        seen.get(t.rip)!.add(t.lport);
      }
      // rr: 8 each, and every port of the one LIP is used toward both servers
      assert.deepEqual([...seen.values()].map((s) => s.size), [8, 8]);
      assert.deepEqual([...seen.get(RIPS[0])!].sort(), [...seen.get(RIPS[1])!].sort());
      assert.equal(h.tables.lipUsage(0).used, 16);
      assert.equal(h.one(syn(999), 1).reason, abi.DROP_POOL_EXHAUSTED);
      // replies find their session by (RIP, LIP:lport): the same lport to two servers is two sessions
      const rs0 = h.one(fromRs(0, LIPS[0], 5000, 'SA'), 2, { dev: 1 });
      const rs1 = h.one(fromRs(1, LIPS[0], 5000, 'SA'), 2, { dev: 1 });
      const d0 = decodeFrame(rs0.out, true).ip!;
      const d1 = decodeFrame(rs1.out, true).ip!;
      assert.equal(d0.dst, CIP);
      assert.notEqual(d0.tcp!.dport, d1.tcp!.dport, 'two different clients behind one LIP:lport');
    });

    it('a tuple is held for the quarantine after its last packet, then handed out again', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 5000, portMax: 5000 }]);
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      h.setPool(0, [0]);
      const t = tupleOf(h.one(syn(300), 0));
      h.one(fromRs(0, t.lip, t.lport, 'SA'), 1, { dev: 1 });
      h.one(inTcp(300, 'A'), 2);
      // the client resets: the session ends at CLOSE's own 10 s, the tuple stays held for the quarantine
      h.one(inTcp(300, 'R'), 1 * S);
      assert.equal(abi.TCP_STATE_NAMES[h.sessions()[0].state], 'CLOSE');
      assert.equal(h.sessions(1 * S)[0].expiresIn, 10 * S);
      assert.equal(h.core.sweep(0, 100, 1 * S + 10 * S), 1, 'the connection ends at the CLOSE timeout');
      assert.equal(h.sessions(1 * S + 10 * S).length, 0);
      assert.equal(stat(h, abi.STAT_FNAT_QUARANTINED), 1n);
      assert.equal(h.one(syn(301, '10.0.1.11'), 20 * S).reason, abi.DROP_POOL_EXHAUSTED, 'not for another client');
      assert.equal(h.core.sweep(0, 100, 1 * S + Q - 1), 0);
      assert.equal(h.core.sweep(0, 100, 1 * S + Q), 1);
      assert.equal(h.tables.lipUsage(0).used, 0);
      assert.equal(h.rsField(0, abi.RS_FNAT_HELD), 0);
      assert.deepEqual(tupleOf(h.one(syn(301, '10.0.1.11'), 1 * S + Q)), t, 'free again after the quarantine');
    });

    it('the quarantine follows director.fullnat.quarantine; 0 lets IPVS timeouts alone decide', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 5000, portMax: 5000 }]);
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      h.setPool(0, [0]);
      h.tables.setQuarantine(0);
      const t = tupleOf(h.one(syn(310), 0));
      h.one(fromRs(0, t.lip, t.lport, 'SA'), 1, { dev: 1 });
      h.one(inTcp(310, 'A'), 1);
      h.one(inTcp(310, 'R'), 1);
      assert.equal(h.sessions(1)[0].expiresIn, 10 * S, 'CLOSE timeout');
      assert.equal(h.core.sweep(0, 100, 1 + 10 * S), 1);
      assert.equal(h.tables.sessionCount(), 0, 'no quarantine: the tuple goes with its session');
      assert.deepEqual(tupleOf(h.one(syn(311, '10.0.1.11'), 1 + 10 * S)), t);
      // 120 s: the same CLOSE timeout for the session, the tuple held 120 s after the last packet
      h.tables.setQuarantine(120);
      h.one(fromRs(0, t.lip, t.lport, 'SA'), 2 + 10 * S, { dev: 1 });
      h.one(inTcp(311, 'A', '10.0.1.11'), 2 + 10 * S);
      h.one(inTcp(311, 'R', '10.0.1.11'), 2 + 10 * S);
      assert.equal(h.sessions(2 + 10 * S)[0].expiresIn, 10 * S);
      assert.equal(h.core.sweep(0, 100, 2 + 20 * S), 1);
      assert.equal(h.one(syn(312, '10.0.1.12'), 2 + 10 * S + 120 * S - 1).reason, abi.DROP_POOL_EXHAUSTED);
      assert.deepEqual(tupleOf(h.one(syn(313, '10.0.1.12'), 2 + 10 * S + 120 * S)), t);
    });

    it('a client reusing its tuple toward the same server keeps its LIP:lport', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'fullnat', scheduler: 'sh' }, [realServerEntry(0), realServerEntry(1)]);
      const t = tupleOf(h.one(syn(400), 0));
      closeByServer(h, 400, rsIndexOf(t.rip), t, 10);
      assert.equal(abi.TCP_STATE_NAMES[h.sessions()[0].state], 'TIME_WAIT');
      // other clients meanwhile take other tuples
      for (let i = 0; i < 5; i++) assert.notDeepEqual(tupleOf(h.one(syn(401 + i), 20)), t);
      const again = tupleOf(h.one(syn(400), 1 * S));
      assert.deepEqual(again, t, 'the server sees the same 4-tuple: its TIME_WAIT accepts this client\'s new SYN');
      assert.equal(stat(h, abi.STAT_FNAT_REUSED), 1n);
      assert.equal(stat(h, abi.STAT_FNAT_QUARANTINED), 0n);
      assert.equal(h.tables.sessionCount(), 6, 'the old session is gone');
      assert.equal(h.rsField(0, abi.RS_FNAT_HELD) + h.rsField(1, abi.RS_FNAT_HELD), 6);
    });

    it('a reused tuple whose LIP changed its range since is quarantined, not handed to others', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 5000, portMax: 5000 }]);
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      h.setPool(0, [0]);
      const t1 = tupleOf(h.one(syn(450), 0));
      closeByServer(h, 450, 0, t1, 10);
      h.tables.setLips([{ address: LIPS[0], portMin: 5001, portMax: 5001 }]);
      const t2 = tupleOf(h.one(syn(450), 1 * S));
      assert.equal(t2.lport, 5001);
      assert.equal(stat(h, abi.STAT_FNAT_QUARANTINED), 1n);
      assert.equal(h.rsField(0, abi.RS_FNAT_HELD), 2, 'the old tuple is still held toward the server');
    });

    it('reusing toward another server keeps LIP:lport and quarantines the old server\'s tuple', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([
        { address: LIPS[0], portMin: 5000, portMax: 5001 }, { address: LIPS[1], portMin: 1, portMax: 0 },
      ]);
      h.service(0, { forwarding: 'fullnat', scheduler: 'rr' }, [realServerEntry(0), realServerEntry(1)]);
      h.setPool(0, [0]);
      const t1 = tupleOf(h.one(syn(500), 0));
      closeByServer(h, 500, rsIndexOf(t1.rip), t1, 10);
      const t2 = tupleOf(h.one(syn(500), 1 * S));
      assert.notEqual(t2.rip, t1.rip, 'rr moved the client to the other server');
      assert.equal(`${t2.lip}:${t2.lport}`, `${t1.lip}:${t1.lport}`, 'with the same LIP:lport');
      assert.equal(stat(h, abi.STAT_FNAT_QUARANTINED), 1n);
      assert.equal(stat(h, abi.STAT_FNAT_REUSED), 1n);
      // the connection count and the server counters saw one connection end and one begin
      assert.equal(h.sessions(1 * S).filter((s) => !s.template).length, 1, 'the quarantined tuple is no connection');
      assert.equal(h.rsField(rsIndexOf(t1.rip), abi.RS_INACTIVE) + h.rsField(rsIndexOf(t1.rip), abi.RS_ACTIVE), 0);
      assert.equal(h.rsField(rsIndexOf(t1.rip), abi.RS_FNAT_HELD), 1, 'but the old server\'s tuple is held');
      // nothing from the old server passes through the quarantined tuple
      const stray = h.one(fromRs(rsIndexOf(t1.rip), t1.lip, t1.lport, 'A'), 2 * S, { dev: 1 });
      assert.equal(stray.reason, abi.DROP_NO_SESSION);
      // another client toward the old server gets the other port, not the quarantined one
      const t3 = tupleOf(h.one(syn(501, '10.0.1.12'), 3 * S));
      assert.equal(t3.rip, t1.rip);
      assert.notEqual(t3.lport, t1.lport);
      tupleOf(h.one(syn(502, '10.0.1.12'), 3 * S)); // rr: this one to the other server
      // the client itself comes back to the old server and takes its own tuple back
      closeByServer(h, 500, rsIndexOf(t2.rip), t2, 4 * S);
      const t4 = tupleOf(h.one(syn(500), 5 * S));
      assert.equal(t4.rip, t1.rip);
      assert.deepEqual(t4, t1);
      assert.equal(h.rsField(rsIndexOf(t1.rip), abi.RS_FNAT_HELD), 2);
    });

    it('a stranger gets a quarantined tuple only after the quarantine: exhaustion until then', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 5000, portMax: 5000 }]);
      h.service(0, { forwarding: 'fullnat', scheduler: 'rr' }, [realServerEntry(0), realServerEntry(1)]);
      h.setPool(0, [0]);
      const t1 = tupleOf(h.one(syn(600), 0));
      closeByServer(h, 600, rsIndexOf(t1.rip), t1, 10);
      const t2 = tupleOf(h.one(syn(600), 1 * S)); // moves to the other server, quarantines t1
      assert.notEqual(t2.rip, t1.rip);
      // strangers all go to the first server (the other is quiesced): its only tuple is quarantined
      h.setRsField(rsIndexOf(t2.rip), abi.RS_WEIGHT, 0);
      h.tables.rebuildService(0);
      const r = h.one(syn(601, '10.0.1.13'), 2 * S);
      assert.equal(r.reason, abi.DROP_POOL_EXHAUSTED);
      assert.ok(stat(h, abi.STAT_FNAT_PROBE_BUSY) >= 1n);
      assert.equal(h.core.sweep(0, 100, 1 * S + Q - 1), 0);
      assert.equal(h.one(syn(602, '10.0.1.13'), 1 * S + Q - 1).reason, abi.DROP_POOL_EXHAUSTED);
      const t3 = tupleOf(h.one(syn(603, '10.0.1.13'), 1 * S + Q));
      assert.deepEqual(t3, t1);
    });

    it('a full run of busy tuples is a named drop, not a silent one, while the pool has room', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 1000, portMax: 1199 }]);
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      h.setPool(0, [0]);
      for (let i = 0; i < abi.FNAT_PROBES; i++) tupleOf(h.one(syn(700 + i), 0));
      // wind the cursor back over the busy run, as after a wrap of the port range
      h.view.setUint32(h.layout.lips.base + abi.LIP_CURSOR, 1000, true);
      const r = h.one(syn(999), 1);
      assert.equal(r.reason, abi.DROP_FNAT_BUSY);
      assert.equal(h.drops(abi.DROP_FNAT_BUSY), 1n);
      assert.equal(abi.DROP_REASON_NAMES[abi.DROP_FNAT_BUSY], 'fnat_tuple_busy');
      // the cursor moved past the run: the next connection finds a free tuple at once
      assert.equal(tupleOf(h.one(syn(998), 2)).lport, 1000 + abi.FNAT_PROBES);
    });

    it('a service without a pool cannot carry Full-NAT (counted, no crash)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      h.setPool(0, []);
      assert.equal(h.one(syn(1), 1).reason, abi.DROP_POOL_EXHAUSTED);
    });

    it('UDP takes tuples the same way, without the TCP quarantine', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 7000, portMax: 7000 }]);
      h.service(0, { forwarding: 'fullnat', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 53 })]);
      h.setPool(0, [0]);
      const udp = (sport: number) => ethernet(DEV0_MAC, CLIENT_MAC,
        udpPacket({ src: CIP, dst: VIP }, { sport, dport: 53, payload: new Uint8Array(4) }));
      assert.equal(tupleOf(h.one(udp(1), 0)).lport, 7000);
      assert.equal(h.one(udp(2), 1).reason, abi.DROP_POOL_EXHAUSTED);
      assert.equal(h.sessions(1)[0].expiresIn, 300 * S - 1);
    });

    it('a removed server\'s slot is reused only once no tuple names it', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'fullnat', scheduler: 'rr' }, [realServerEntry(0), realServerEntry(1)]);
      const t1 = tupleOf(h.one(syn(800), 0));
      closeByServer(h, 800, rsIndexOf(t1.rip), t1, 10);
      tupleOf(h.one(syn(800), 1 * S)); // quarantines t1 toward its server
      const old = rsIndexOf(t1.rip);
      h.tables.markRemoved(old);
      assert.equal(h.tables.rsIdle(old), false, 'the quarantined tuple still names it');
      h.core.sweep(0, 100, 2 * S);
      assert.equal(h.tables.rsIdle(old), true, 'a removed server\'s tuples are released by the sweep');
    });
  });
}
