// Session sync through the core: what one director's event ring says, another director's
// importSession turns into a session that carries the connection's packets, both directions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { type EventView, eventView } from '../../src/dataplane/tables.js';
import {
  CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, RIPS, RS_MACS, VIP, realServerEntry,
} from './harness.js';
import { allChecksumsOk, decodeFrame, ethernet, tcpPacket, udpPacket } from '../oracle/packet.js';

const fromClient = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt);
const fromServer = (pkt: Uint8Array, rs = 0) => ethernet(DEV1_MAC, RS_MACS[rs], pkt);

function director(flavour: 'release' | 'debug', forwarding: 'nat' | 'fullnat'): CoreHarness {
  const h = new CoreHarness(flavour).standard();
  h.tables.setOptions(abi.OPT_EVENTS);
  h.service(0, { forwarding }, [realServerEntry(0), realServerEntry(1)]);
  h.service(1, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(2, { port: 5353 })], 2);
  return h;
}

function events(h: CoreHarness): EventView[] {
  const out: EventView[] = [];
  h.tables.drainEvents((raw) => out.push(eventView(raw)));
  return out;
}

for (const flavour of FLAVOURS) {
  describe(`session sync (${flavour})`, () => {
    it('a NAT session created on the master carries the reply and the client on the backup', () => {
      const master = director(flavour, 'nat');
      const backup = director(flavour, 'nat');
      const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'S' });
      const m = decodeFrame(master.one(fromClient(syn), 1000).out, true).ip!;
      const [created] = events(master);
      assert.equal(created.type, abi.EVT_CREATED);
      assert.equal(backup.tables.importSession(created.raw, 2000), abi.SYNC_CREATED);
      assert.equal(backup.tables.sessionCount(), 1);

      // the server's SYN-ACK reaches the backup first (after a takeover): SNAT to the VIP, to the
      // client's MAC the master had learnt
      const rs = RIPS.indexOf(m.dst);
      const sa = tcpPacket({ src: m.dst, dst: CIP }, { sport: 8080, dport: 40000, flags: 'SA' });
      const o = backup.one(fromServer(sa, rs), 2001, { dev: 1 });
      assert.equal(o.verdict, abi.VERDICT_FORWARD, `reason ${o.reason}`);
      const g = decodeFrame(o.out, true);
      assert.equal(g.dstMac, CLIENT_MAC);
      assert.equal(g.ip!.src, VIP);
      assert.equal(g.ip!.tcp!.sport, 80);
      assert.ok(allChecksumsOk(g.ip!));
      // the client's next segment is not a SYN, yet it reaches the same real server
      const ack = tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'A' });
      const i = backup.one(fromClient(ack), 2002);
      assert.equal(i.verdict, abi.VERDICT_FORWARD, `reason ${i.reason}`);
      assert.equal(decodeFrame(i.out, true).ip!.dst, m.dst);
    });

    it('state changes on the master move the backup session to the same state', () => {
      const master = director(flavour, 'nat');
      const backup = director(flavour, 'nat');
      master.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 40001, dport: 80, flags: 'S' })), 10);
      master.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 40001, dport: 80, flags: 'A' })), 11);
      const evs = events(master);
      assert.deepEqual(evs.map((e) => e.type), [abi.EVT_CREATED, abi.EVT_STATE_CHANGED]);
      assert.equal(backup.tables.importSession(evs[0].raw, 20), abi.SYNC_CREATED);
      assert.equal(backup.sessions(20)[0].state, abi.TCP_S_SYN_RECV);
      assert.equal(backup.tables.importSession(evs[1].raw, 21), abi.SYNC_UPDATED);
      const s = backup.sessions(21)[0];
      assert.equal(s.state, abi.TCP_S_ESTABLISHED);
      assert.ok(s.expiresIn > 800_000, `established timer ${s.expiresIn} ms`);
      // active/inactive counters follow, as IPVS's do for synced connections
      const rs = s.realServer;
      assert.equal(backup.rsField(rs, abi.RS_ACTIVE), 1);
      assert.equal(backup.rsField(rs, abi.RS_INACTIVE), 0);
      // the backup itself emits nothing: a sync must not echo back
      assert.equal(events(backup).length, 0);
    });

    it('a Full-NAT session keeps its LIP:port on the backup, and the port is taken there', () => {
      const master = director(flavour, 'fullnat');
      const backup = director(flavour, 'fullnat');
      const m = decodeFrame(master.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 41000, dport: 80, flags: 'S' })), 5).out, true).ip!;
      const [created] = events(master);
      assert.equal(backup.tables.importSession(created.raw, 6), abi.SYNC_CREATED);
      const reply = tcpPacket({ src: m.dst, dst: m.src }, { sport: 8080, dport: m.tcp!.sport, flags: 'SA' });
      const o = backup.one(fromServer(reply, RIPS.indexOf(m.dst)), 7, { dev: 1 });
      assert.equal(o.verdict, abi.VERDICT_FORWARD, `reason ${o.reason}`);
      const g = decodeFrame(o.out, true).ip!;
      assert.deepEqual([g.src, g.dst, g.tcp!.sport, g.tcp!.dport], [VIP, CIP, 80, 41000]);
      assert.ok(allChecksumsOk(g));
      // another client's session claiming the same LIP:port is refused, not double-booked
      const other = created.raw.slice();
      new DataView(other.buffer).setUint32(abi.EVT_CIP, CoreHarness.wire('10.0.1.77'), true);
      assert.equal(backup.tables.importSession(other, 8), abi.SYNC_CONFLICT);
      assert.ok(LIPS.includes(m.src));
    });

    it('UDP sessions sync too', () => {
      const master = director(flavour, 'nat');
      const backup = director(flavour, 'nat');
      master.one(fromClient(udpPacket({ src: CIP, dst: VIP }, { sport: 5000, dport: 53, payload: new Uint8Array(4) })),
        1);
      const [created] = events(master);
      assert.equal(backup.tables.importSession(created.raw, 2), abi.SYNC_CREATED);
      const answer = udpPacket({ src: RIPS[2], dst: CIP }, { sport: 5353, dport: 5000, payload: new Uint8Array(9) });
      const o = backup.one(fromServer(answer, 2), 3, { dev: 1 });
      assert.equal(o.verdict, abi.VERDICT_FORWARD, `reason ${o.reason}`);
      assert.equal(decodeFrame(o.out, true).ip!.src, VIP);
    });

    it('exports the live connections for a bulk sync, which a fresh backup imports whole', () => {
      const master = director(flavour, 'nat');
      for (let k = 0; k < 10; k++) {
        master.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 42000 + k, dport: 80, flags: 'S' })), 100);
      }
      const all = master.tables.exportSessions(0, 100, 200);
      assert.equal(all.records.length, 10);
      assert.equal(all.next, null);
      // in pieces: `next` continues where the previous call stopped
      const first = master.tables.exportSessions(0, 4, 200);
      assert.equal(first.records.length, 4);
      const rest = master.tables.exportSessions(first.next!, 100, 200);
      assert.equal(first.records.length + rest.records.length, 10);
      const backup = director(flavour, 'nat');
      for (const r of all.records) assert.equal(backup.tables.importSession(r, 300), abi.SYNC_CREATED);
      assert.equal(backup.tables.sessionCount(), 10);
      // SYN_RECV lasts 60 s: past it nothing is exported
      assert.equal(master.tables.exportSessions(0, 100, 100 + 61_000).records.length, 0);
    });

    it('persistence templates sync: a persistent client\'s next connection on the backup meets the same server', () => {
      const persistent = () => {
        const h = new CoreHarness(flavour).standard();
        h.tables.setOptions(abi.OPT_EVENTS);
        h.service(0, { forwarding: 'nat', persistence: 300, persistencePrefix: 24 }, [realServerEntry(0), realServerEntry(1)]);
        return h;
      };
      const master = persistent();
      const backup = persistent();
      // another network first, so the master's rr gives our client the second server
      master.one(fromClient(tcpPacket({ src: '10.0.9.1', dst: VIP }, { sport: 1000, dport: 80, flags: 'S' })), 1);
      const m = decodeFrame(master.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 43000, dport: 80, flags: 'S' })), 2).out, true).ip!;
      assert.equal(m.dst, RIPS[1]);
      const evs = events(master);
      assert.deepEqual(evs.map((e) => e.type), [abi.EVT_TEMPLATE_CREATED, abi.EVT_CREATED, abi.EVT_TEMPLATE_CREATED,
        abi.EVT_CREATED]);
      for (const e of evs.slice(2)) assert.equal(backup.tables.importSession(e.raw, 10), abi.SYNC_CREATED);
      const tmpl = backup.tables.sessions(10, 0, 10).items.find((x) => x.template)!;
      assert.equal(tmpl.rip, RIPS[1]);
      // the synced connection is linked to its template: the template's CONN_LIP counts it
      const base = backup.layout.conns.base;
      const rec = [0, 1].find((i) => backup.bytes[base + i * abi.CONN_SIZE + abi.CONN_FLAGS] & abi.CONNF_TEMPLATE)!;
      assert.equal(backup.view.getUint32(base + rec * abi.CONN_SIZE + abi.CONN_LIP, true), 1, 'controls one connection');
      // a new connection from the same /24 on the backup: its rr would say RIPS[0], the template says RIPS[1]
      const n = backup.one(fromClient(tcpPacket({ src: '10.0.1.77', dst: VIP }, { sport: 44000, dport: 80, flags: 'S' })), 11);
      assert.equal(n.verdict, abi.VERDICT_FORWARD, `reason ${n.reason}`);
      assert.equal(decodeFrame(n.out, true).ip!.dst, RIPS[1]);
      // and the bulk export carries templates as well
      const bulk = master.tables.exportSessions(0, 100, 20).records.map((r) => eventView(r).type);
      assert.deepEqual(bulk.filter((t) => t === abi.EVT_TEMPLATE_CREATED).length, 2);
      // a template whose client address is not masked is refused
      const bad = evs[2].raw.slice();
      bad[abi.EVT_CIP + 3] = 9;
      assert.equal(persistent().tables.importSession(bad, 10), abi.SYNC_BAD);
    });

    it('refuses records naming no live service or real server, and survives random ones', () => {
      const master = director(flavour, 'nat');
      master.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 40002, dport: 80, flags: 'S' })), 1);
      const [created] = events(master);
      const backup = new CoreHarness(flavour).standard();
      backup.service(0, { forwarding: 'nat' }, [realServerEntry(5)], 5);
      assert.equal(backup.tables.importSession(created.raw, 2), abi.SYNC_BAD, 'real server index 0 is not in use here');
      assert.equal(backup.tables.importSession(created.raw.subarray(0, 20), 2), abi.SYNC_BAD);
      let seed = 12345;
      const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) & 0xff;
      const valid = director(flavour, 'nat');
      for (let k = 0; k < 2000; k++) {
        const rec = created.raw.slice();
        // mutate a few bytes of a valid record, or all of them
        const n = k % 10 === 0 ? abi.EVT_SIZE : 1 + (k % 4);
        for (let j = 0; j < n; j++) rec[n === abi.EVT_SIZE ? j : rand() % abi.EVT_SIZE] = rand();
        const r = valid.tables.importSession(rec, 100 + k);
        assert.ok(r >= abi.SYNC_CREATED && r <= abi.SYNC_NO_CONNX, `result ${r}`);
      }
      assert.ok(valid.tables.sessionCount() <= 1024);
    });
  });
}
