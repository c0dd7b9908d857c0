// Sessions: TCP states and timeouts on a synthetic clock, expiry by the sweep, a full table,
// persistence templates, quiescing and removing real servers, events and counters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RS_MACS, VIP, realServerEntry,
} from './harness.js';
import { decodeFrame, ethernet, tcpPacket, udpPacket } from '../oracle/packet.js';
import { TCP_STATE_NAMES } from '../../src/dataplane/abi.js';
import { type EventView, eventView } from '../../src/dataplane/tables.js';

const S = 1000; // ms
const inTcp = (sport: number, flags: string, src = CIP) =>
  ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src, dst: VIP }, { sport, dport: 80, flags }));
const outTcp = (rs: number, dport: number, flags: string) =>
  ethernet(DEV1_MAC, RS_MACS[rs], tcpPacket({ src: RIPS[rs], dst: CIP }, { sport: 8080, dport, flags }));
const state = (h: CoreHarness) => TCP_STATE_NAMES[h.sessions()[0]?.state ?? 0];

for (const flavour of FLAVOURS) {
  describe(`TCP state machine and timeouts (${flavour})`, () => {
    it('follows a NAT handshake and close through IPVS states with their timeouts', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      let t = 0;
      h.one(inTcp(1000, 'S'), t);
      assert.equal(state(h), 'SYN_RECV');
      assert.equal(h.sessions(t)[0].expiresIn, 60 * S);
      assert.equal(h.rsField(0, abi.RS_INACTIVE), 1);
      h.one(outTcp(0, 1000, 'SA'), (t += 10), { dev: 1 });
      assert.equal(state(h), 'SYN_RECV');
      h.one(inTcp(1000, 'A'), (t += 10));
      assert.equal(state(h), 'ESTABLISHED');
      assert.equal(h.sessions(t)[0].expiresIn, 900 * S);
      assert.equal(h.rsField(0, abi.RS_ACTIVE), 1);
      assert.equal(h.rsField(0, abi.RS_INACTIVE), 0);
      h.one(inTcp(1000, 'FA'), (t += 10));
      assert.equal(state(h), 'CLOSE_WAIT');
      h.one(outTcp(0, 1000, 'FA'), (t += 10), { dev: 1 });
      assert.equal(state(h), 'TIME_WAIT');
      assert.equal(h.sessions(t)[0].expiresIn, 120 * S);
      assert.equal(h.rsField(0, abi.RS_ACTIVE), 0);
      assert.equal(h.rsField(0, abi.RS_INACTIVE), 1);
      // expiry by the sweep, on time and not before
      assert.equal(h.core.sweep(0, 100, t + 119 * S), 0);
      assert.equal(h.core.sweep(0, 100, t + 120 * S), 1);
      assert.equal(h.tables.sessionCount(), 0);
      assert.equal(h.rsField(0, abi.RS_INACTIVE), 0);
    });

    it('a RST closes the session: CLOSE, expired after 10 s', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      h.one(inTcp(1001, 'S'), 0);
      h.one(inTcp(1001, 'A'), 5);
      h.one(outTcp(0, 1001, 'R'), 10, { dev: 1 });
      assert.equal(state(h), 'CLOSE');
      assert.equal(h.core.sweep(0, 100, 10 + 9999), 0);
      assert.equal(h.core.sweep(0, 100, 10 + 10 * S), 1);
    });

    it('DR sees only the client half: input-only transitions', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'dr' }, [realServerEntry(0, { port: 0 })]);
      h.one(inTcp(1002, 'S'), 0);
      h.one(inTcp(1002, 'A'), 1);
      assert.equal(state(h), 'ESTABLISHED');
      h.one(inTcp(1002, 'FA'), 2);
      assert.equal(state(h), 'FIN_WAIT');
      assert.equal(h.sessions(2)[0].expiresIn, 120 * S);
    });

    it('honours timeouts set by the host (ipvsadm --set)', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setTimeouts({ established: 5, udp: 7 });
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      h.service(1, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(1)], 1);
      h.one(inTcp(1003, 'S'), 0);
      h.one(inTcp(1003, 'A'), 0);
      h.one(ethernet(DEV0_MAC, CLIENT_MAC, udpPacket({ src: CIP, dst: VIP }, { sport: 5, dport: 53 })), 0);
      const byProto = new Map(h.sessions(0).map((s) => [s.protocol, s.expiresIn]));
      assert.equal(byProto.get(6), 5 * S);
      assert.equal(byProto.get(17), 7 * S);
    });

    it('does not create a TCP session without SYN, unless sloppy', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      assert.equal(h.one(inTcp(1004, 'A'), 0).reason, abi.DROP_NO_SESSION);
      h.tables.setOptions(abi.OPT_SLOPPY_TCP | abi.OPT_EVENTS);
      assert.equal(h.one(inTcp(1004, 'A'), 0).verdict, abi.VERDICT_FORWARD);
    });

    it('a stale session is never used, even before the sweep reaches it', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(0), realServerEntry(1)]);
      const q = ethernet(DEV0_MAC, CLIENT_MAC, udpPacket({ src: CIP, dst: VIP }, { sport: 6, dport: 53 }));
      const first = decodeFrame(h.one(q, 0).out, true).ip!.dst;
      assert.equal(decodeFrame(h.one(q, 299 * S).out, true).ip!.dst, first, 'refreshed, same server');
      // 300 s after the last packet: a new session, scheduled again (rr moves on)
      const later = decodeFrame(h.one(q, 299 * S + 300 * S).out, true).ip!.dst;
      assert.notEqual(later, first);
      assert.equal(h.tables.sessionCount(), 1);
      assert.equal(h.tables.stat(abi.STAT_CONN_EXPIRED), 1n);
    });

    it('a new SYN on a TIME_WAIT session reuses the tuple (rescheduled)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      h.one(inTcp(1005, 'S'), 0);
      h.one(inTcp(1005, 'A'), 0);
      h.one(inTcp(1005, 'FA'), 0);
      h.one(outTcp(0, 1005, 'FA'), 0, { dev: 1 });
      assert.equal(state(h), 'TIME_WAIT');
      assert.equal(h.one(inTcp(1005, 'S'), 1).verdict, abi.VERDICT_FORWARD);
      assert.equal(state(h), 'SYN_RECV');
      assert.equal(h.tables.sessionCount(), 1);
    });
  });

  describe(`table limits (${flavour})`, () => {
    it('a full table drops new flows with a counter and never disturbs established ones', () => {
      const h = new CoreHarness(flavour, { sessions: 16 }).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      // established sessions fill the table (embryonic ones would be evicted: synflood.test.ts)
      for (let i = 0; i < 16; i++) {
        assert.equal(h.one(inTcp(2000 + i, 'S'), 0).verdict, abi.VERDICT_FORWARD);
        assert.equal(h.one(outTcp(0, 2000 + i, 'SA'), 0, { dev: 1 }).verdict, abi.VERDICT_FORWARD);
        assert.equal(h.one(inTcp(2000 + i, 'A'), 0).verdict, abi.VERDICT_FORWARD);
      }
      const r = h.one(inTcp(3000, 'S'), 0);
      assert.equal(r.verdict, abi.VERDICT_DROP);
      assert.equal(r.reason, abi.DROP_TABLE_FULL);
      assert.equal(h.drops(abi.DROP_TABLE_FULL), 1n);
      for (let i = 0; i < 16; i++) {
        assert.equal(h.one(outTcp(0, 2000 + i, 'A'), 1, { dev: 1 }).verdict, abi.VERDICT_FORWARD);
        assert.equal(h.one(inTcp(2000 + i, 'A'), 1).verdict, abi.VERDICT_FORWARD);
      }
      assert.equal(h.tables.stat(abi.STAT_EMBRYONIC_EVICTED), 0n);
      // expiry frees room again
      h.core.sweep(0, 1000, 1 + 900 * S);
      assert.equal(h.tables.sessionCount(), 0);
      assert.equal(h.one(inTcp(3000, 'S'), 2 + 900 * S).verdict, abi.VERDICT_FORWARD);
    });

    it('the index survives heavy churn (backward-shift deletion keeps every key findable)', () => {
      const h = new CoreHarness(flavour, { sessions: 256 }).standard();
      h.service(0, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(0)]);
      const live = new Map<number, number>();
      let rng = 12345;
      const rand = () => (rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32;
      let now = 0;
      for (let round = 0; round < 3000; round++) {
        now += 10;
        const port = 1 + Math.floor(rand() * 400);
        const pkt = ethernet(DEV0_MAC, CLIENT_MAC, udpPacket({ src: CIP, dst: VIP }, { sport: port, dport: 53 }));
        const r = h.one(pkt, now);
        if (r.verdict === abi.VERDICT_FORWARD) live.set(port, now);
        if (round % 7 === 0) h.core.sweep(0, 50, now);
        // every live flow's reply must still find its session
        if (round % 500 === 499) {
          for (const [p, seen] of live) {
            if (now - seen >= 300 * S) continue;
            const reply = ethernet(DEV1_MAC, RS_MACS[0], udpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080,
              dport: p }));
            assert.equal(h.one(reply, now, { dev: 1 }).verdict, abi.VERDICT_FORWARD, `reply to port ${p}`);
          }
        }
      }
      assert.ok(h.tables.sessionCount() <= 256);
    });
  });

  describe(`persistence (${flavour})`, () => {
    it('pins a client network to one server (-p 300 -M 255.255.255.0) across ports', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', persistence: 300, persistencePrefix: 24 }, [0, 1, 2].map((i) => realServerEntry(i)));
      const dst = (src: string, sport: number) => decodeFrame(h.one(inTcp(sport, 'S', src), 0).out, true).ip!.dst;
      const a = dst('10.0.1.10', 1);
      for (let p = 2; p < 12; p++) assert.equal(dst('10.0.1.10', p), a);
      assert.equal(dst('10.0.1.99', 50), a, 'same /24, same server');
      assert.equal(h.rsField(RIPS.indexOf(a), abi.RS_PERSIST), 1);
      const templates = h.sessions().filter((s) => s.template);
      assert.equal(templates.length, 1);
      assert.equal(templates[0].client, '10.0.1.0');
    });

    it('a template outlives its timeout while it controls connections, then expires', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', persistence: 10, persistencePrefix: 32 }, [realServerEntry(0), realServerEntry(1)]);
      h.one(inTcp(1, 'S'), 0);
      h.one(inTcp(1, 'A'), 0);
      h.core.sweep(0, 100, 20 * S);
      assert.equal(h.sessions(20 * S).filter((s) => s.template).length, 1, 'kept: a connection depends on it');
      h.core.sweep(0, 100, 900 * S + 1);
      assert.equal(h.tables.sessionCount(), 0, 'connection gone, template gone');
      assert.equal(h.rsField(0, abi.RS_PERSIST) + h.rsField(1, abi.RS_PERSIST), 0);
    });

    it('a quiesced server loses its persistent clients for new connections', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', persistence: 300 }, [realServerEntry(0), realServerEntry(1)]);
      const first = decodeFrame(h.one(inTcp(1, 'S'), 0).out, true).ip!.dst;
      const k = RIPS.indexOf(first);
      h.tables.setWeight(k, 0);
      h.tables.rebuildService(0);
      const next = decodeFrame(h.one(inTcp(2, 'S'), 1).out, true).ip!.dst;
      assert.notEqual(next, first);
      // the existing connection still flows to the quiesced server
      assert.equal(decodeFrame(h.one(inTcp(1, 'A'), 2).out, true).ip!.dst, first);
    });
  });

  describe(`real-server changes (${flavour})`, () => {
    it('weight 0: no new connections, existing ones continue', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0), realServerEntry(1)]);
      const seen = [1, 2].map((p) => decodeFrame(h.one(inTcp(p, 'S'), 0).out, true).ip!.dst);
      assert.deepEqual(new Set(seen), new Set([RIPS[0], RIPS[1]]));
      h.tables.setWeight(0, 0);
      h.tables.rebuildService(0);
      for (let p = 10; p < 20; p++) assert.equal(decodeFrame(h.one(inTcp(p, 'S'), 1).out, true).ip!.dst, RIPS[1]);
      const p0 = seen.indexOf(RIPS[0]) + 1;
      assert.equal(decodeFrame(h.one(inTcp(p0, 'A'), 2).out, true).ip!.dst, RIPS[0]);
    });

    it('a removed server: its sessions are dropped and expired, others untouched', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0), realServerEntry(1)]);
      const seen = [1, 2].map((p) => decodeFrame(h.one(inTcp(p, 'S'), 0).out, true).ip!.dst);
      h.tables.markRemoved(0);
      h.setDestinations(0, [1]);
      const p0 = seen.indexOf(RIPS[0]) + 1;
      const p1 = seen.indexOf(RIPS[1]) + 1;
      assert.equal(h.one(inTcp(p0, 'A'), 1).reason, abi.DROP_NO_SESSION, 'its session is gone; a non-SYN is not rescheduled');
      assert.equal(h.one(inTcp(p1, 'A'), 1).verdict, abi.VERDICT_FORWARD);
      h.core.sweep(0, 100, 2);
      assert.ok(h.tables.rsIdle(0));
    });

    it('sorry server answers when every real server is down', () => {
      const h = new CoreHarness(flavour).standard();
      const ids = h.service(0, { forwarding: 'nat' }, [realServerEntry(0, { weight: 0 })]);
      assert.equal(h.one(inTcp(1, 'S'), 0).reason, abi.DROP_NO_RS);
      h.tables.setRealServer(5, realServerEntry(3, { service: 0 }));
      h.tables.setService(0, { vip: VIP, port: 80, protocol: 'tcp', scheduler: 'rr', forwarding: 'nat', persistence: 0,
        persistencePrefix: 32, hashPort: false, fallback: false, sorry: 5, tunnelSource: null, synProxy: 'off' });
      h.setDestinations(0, ids);
      const r = h.one(inTcp(2, 'S'), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      assert.equal(decodeFrame(r.out, true).ip!.dst, RIPS[3]);
    });
  });

  describe(`events and counters (${flavour})`, () => {
    it('writes created/expired events and per-service/per-RS counters', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      h.one(inTcp(9, 'S'), 0);
      h.one(outTcp(0, 9, 'SA'), 0, { dev: 1 });
      h.core.sweep(0, 10, 61 * S);
      const events: EventView[] = [];
      h.tables.drainEvents((raw) => events.push(eventView(raw)));
      assert.deepEqual(events.map((e) => e.type), [abi.EVT_CREATED, abi.EVT_EXPIRED]);
      assert.equal(events[0].client, CIP);
      assert.equal(events[0].clientPort, 9);
      assert.equal(events[0].rip, RIPS[0]);
      assert.equal(events[0].rport, 8080);
      const svc = h.tables.serviceCounters(0);
      assert.equal(svc.conns, 1n);
      assert.equal(svc.inPackets, 1n);
      assert.equal(svc.outPackets, 1n);
      assert.equal(svc.inBytes, 40n);
      assert.equal(h.tables.rsCounters(0).outBytes, 40n);
      assert.equal(h.tables.drainEvents(() => undefined), 0, 'drained');
    });

    it('a full event ring drops events and counts them, never overwrites', () => {
      const h = new CoreHarness(flavour, { events: 16 }).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      for (let i = 0; i < 20; i++) h.one(inTcp(100 + i, 'S'), 0);
      assert.equal(h.tables.stat(abi.STAT_EVENTS_LOST), 4n);
      const ports: number[] = [];
      h.tables.drainEvents((raw) => ports.push(eventView(raw).clientPort));
      assert.deepEqual(ports, Array.from({ length: 16 }, (_, i) => 100 + i));
    });
  });
}
