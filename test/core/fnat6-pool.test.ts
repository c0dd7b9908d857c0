// Full-NAT tuples of IPv6 clients (fnat_pool.ts): Full-NAT 6->6 takes IPv6 LIP:lport pairs unique
// per (LIP, real server, port) with the same quarantine as IPv4; NAT64 takes IPv4 ones, and the
// IPv4 tuple space is one: a tuple held by a NAT64 session is busy for an IPv4 client and back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, LIPS6, RIPS, RIPS6, RS_MACS, VIP, VIP6,
  realServerEntry, realServerEntry6,
} from './harness.js';
import { allChecksumsOk, allChecksumsOk6, decodeFrame, decodeFrame6, ethernet, tcp6Packet, tcpPacket } from '../oracle/packet.js';

const S = 1000;
const Q = 60 * S; // the default quarantine
const HOLE = { address: '0.0.0.0', portMin: 1, portMax: 0 };
const in6 = (sport: number, flags: string, src = CIP6) =>
  ethernet(DEV0_MAC, CLIENT_MAC, tcp6Packet({ src, dst: VIP6 }, { sport, dport: 80, flags }), 0x86dd);
const from6 = (rs: number, lip: string, lport: number, flags: string) =>
  ethernet(DEV1_MAC, RS_MACS[rs], tcp6Packet({ src: RIPS6[rs], dst: lip }, { sport: 8080, dport: lport, flags }),
    0x86dd);

interface Tuple { lip: string; lport: number; rip: string }
function tuple6(r: { verdict: number; reason: number; out: Uint8Array }): Tuple {
  assert.equal(r.verdict, abi.VERDICT_FORWARD, `dropped: reason ${abi.DROP_REASON_NAMES[r.reason]}`);
  const ip = decodeFrame6(r.out, true).ip6!;
  assert.ok(allChecksumsOk6(ip), 'checksums');
  return { lip: ip.src, lport: ip.tcp!.sport, rip: ip.dst };
}
function tuple4(r: { verdict: number; reason: number; out: Uint8Array }): Tuple {
  assert.equal(r.verdict, abi.VERDICT_FORWARD, `dropped: reason ${abi.DROP_REASON_NAMES[r.reason]}`);
  const ip = decodeFrame(r.out, true).ip!;
  assert.ok(allChecksumsOk(ip), 'checksums');
  return { lip: ip.src, lport: ip.tcp!.sport, rip: ip.dst };
}

/** closeByServer6 runs a whole IPv6 connection whose server closes first (TIME_WAIT) */
function closeByServer6(h: CoreHarness, sport: number, rs: number, t: Tuple, now: number): void {
  h.one(from6(rs, t.lip, t.lport, 'SA'), now, { dev: 1 });
  h.one(in6(sport, 'A'), now);
  h.one(from6(rs, t.lip, t.lport, 'FA'), now, { dev: 1 });
  h.one(in6(sport, 'FA'), now);
  h.one(from6(rs, t.lip, t.lport, 'A'), now, { dev: 1 });
}

for (const flavour of FLAVOURS) {
  describe(`Full-NAT tuples of IPv6 clients (${flavour})`, () => {
    it('6->6: the same IPv6 LIP:lport pairs serve each server once, then the pool is exhausted', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([HOLE, HOLE, { address: LIPS6[0], portMin: 5000, portMax: 5001 }, HOLE]);
      h.service(0, { vip: VIP6, forwarding: 'fullnat' }, [realServerEntry6(0), realServerEntry6(1)]);
      const seen = new Map<string, Set<number>>();
      for (let i = 0; i < 4; i++) {
        const t = tuple6(h.one(in6(100 + i, 'S'), 1));
        assert.equal(t.lip, LIPS6[0]);
        if (!seen.has(t.rip)) seen.set(t.rip, new Set());
        assert.ok(!seen.get(t.rip)!.has(t.lport), `${t.lport} twice toward ${t.rip}`);
        seen.get(t.rip)!.add(t.lport);
      }
      assert.deepEqual([...seen.values()].map((s) => s.size), [2, 2]);
      assert.equal(h.tables.lipUsage(2).used, 4);
      assert.equal(h.one(in6(999, 'S'), 1).reason, abi.DROP_POOL_EXHAUSTED);
      assert.equal(h.tables.sessionCount(), 4, 'the failed attempt left no record behind');
    });

    it('6->6: a client moving to another server quarantines its tuple; strangers wait for the quarantine', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([HOLE, HOLE, { address: LIPS6[0], portMin: 5000, portMax: 5000 }, HOLE]);
      h.service(0, { vip: VIP6, forwarding: 'fullnat', scheduler: 'rr' }, [realServerEntry6(0), realServerEntry6(1)]);
      const t1 = tuple6(h.one(in6(600, 'S'), 0));
      const rs1 = RIPS6.indexOf(t1.rip);
      closeByServer6(h, 600, rs1, t1, 10);
      const t2 = tuple6(h.one(in6(600, 'S'), 1 * S));
      assert.notEqual(t2.rip, t1.rip, 'rr moved the client to the other server');
      assert.equal(`${t2.lip}:${t2.lport}`, `${t1.lip}:${t1.lport}`, 'with the same LIP:lport');
      assert.equal(h.tables.stat(abi.STAT_FNAT_QUARANTINED), 1n);
      assert.equal(h.tables.stat(abi.STAT_FNAT_REUSED), 1n);
      assert.equal(h.rsField(rs1, abi.RS_FNAT_HELD), 1, 'the old server\'s tuple is held');
      // nothing from the old server passes through the quarantined tuple
      assert.equal(h.one(from6(rs1, t1.lip, t1.lport, 'A'), 2 * S, { dev: 1 }).reason, abi.DROP_NO_SESSION);
      // a stranger toward the old server: its only tuple is quarantined until Q after the last packet
      h.setRsField(RIPS6.indexOf(t2.rip), abi.RS_WEIGHT, 0);
      h.tables.rebuildService(0);
      assert.equal(h.one(in6(601, 'S', '2001:db8:1::11'), 2 * S).reason, abi.DROP_POOL_EXHAUSTED);
      assert.ok(h.tables.stat(abi.STAT_FNAT_PROBE_BUSY) >= 1n);
      assert.equal(h.one(in6(602, 'S', '2001:db8:1::11'), 1 * S + Q - 1).reason, abi.DROP_POOL_EXHAUSTED);
      assert.deepEqual(tuple6(h.one(in6(603, 'S', '2001:db8:1::11'), 1 * S + Q)), t1);
    });

    it('6->6: the session ends at its own timeout, its tuple held the quarantine after its last packet', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([HOLE, HOLE, { address: LIPS6[0], portMin: 5000, portMax: 5000 }, HOLE]);
      h.service(0, { vip: VIP6, forwarding: 'fullnat' }, [realServerEntry6(0)]);
      const t = tuple6(h.one(in6(700, 'S'), 0));
      h.one(from6(0, t.lip, t.lport, 'SA'), 1, { dev: 1 });
      h.one(in6(700, 'A'), 2);
      h.one(in6(700, 'R'), 1 * S);
      assert.equal(abi.TCP_STATE_NAMES[h.sessions()[0].state], 'CLOSE');
      assert.equal(h.sessions(1 * S)[0].expiresIn, 10 * S, 'the CLOSE timeout');
      assert.equal(h.core.sweep(0, 100, 11 * S), 1);
      assert.equal(h.sessions(11 * S).length, 0);
      assert.equal(h.one(in6(701, 'S', '2001:db8:1::11'), 12 * S).reason, abi.DROP_POOL_EXHAUSTED);
      assert.deepEqual(tuple6(h.one(in6(702, 'S', '2001:db8:1::11'), 1 * S + Q)), t);
    });

    it('NAT64 and IPv4 Full-NAT share the IPv4 tuples: one held by either is busy for the other', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 5000, portMax: 5000 }, HOLE, HOLE, HOLE]);
      // two services toward the same IPv4 server address: an IPv6 VIP (NAT64) and an IPv4 VIP
      h.service(0, { vip: VIP6, forwarding: 'fullnat' }, [realServerEntry(0)]);
      h.service(1, { forwarding: 'fullnat' }, [realServerEntry(0)], 1);
      h.setPool(0, [0]);
      h.setPool(1, [0]);
      const t64 = tuple4(h.one(in6(800, 'S'), 1));
      assert.deepEqual(t64, { lip: LIPS[0], lport: 5000, rip: RIPS[0] });
      const v4syn = ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport: 801, dport: 80, flags: 'S' }));
      const r = h.one(v4syn, 2);
      assert.equal(r.reason, abi.DROP_FNAT_BUSY, 'the NAT64 session holds LIP:5000 -> RIP:8080');
      // and the other way round once the NAT64 session is gone
      assert.equal(h.core.sweep(0, 100, 1 + Q + 121 * S), 1);
      const t4 = tuple4(h.one(v4syn, 2 + Q + 121 * S));
      assert.equal(t4.lport, 5000);
      assert.equal(h.one(in6(802, 'S'), 3 + Q + 121 * S).reason, abi.DROP_FNAT_BUSY, 'the IPv4 session holds it now');
    });
  });
}
