// Session sync of IPv6 sessions: the event's IPv6 part carries the record's addresses, and the
// backup's importSession makes a session that carries replies and the client, for NAT66,
// Full-NAT 6->6, NAT64 and persistence templates; a record that names the wrong family is refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { type EventView, eventView } from '../../src/dataplane/tables.js';
import { decode, encodeSessions } from '../../src/ha/protocol.js';
import { parseConfig } from '../../src/config/load.js';
import { TableApplier } from '../../src/director/apply.js';
import {
  CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, LIPS6, RIPS, RIPS6, RS_MACS, VIP6, realServerEntry,
  realServerEntry6,
} from './harness.js';
import {
  allChecksumsOk, allChecksumsOk6, decodeFrame, decodeFrame6, ethernet, tcp6Packet, tcpPacket,
} from '../oracle/packet.js';

const fromClient6 = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt, 0x86dd);

function director(flavour: 'release' | 'debug', mode: 'nat' | 'fullnat' | 'nat64', persistence = 0): CoreHarness {
  const h = new CoreHarness(flavour).standard();
  h.tables.setOptions(abi.OPT_EVENTS);
  const rs = mode === 'nat64' ? [realServerEntry(0), realServerEntry(1)] : [realServerEntry6(0), realServerEntry6(1)];
  h.service(0, { vip: VIP6, forwarding: mode === 'nat64' ? 'fullnat' : mode, persistence, persistencePrefix: 64 }, rs);
  return h;
}

function events(h: CoreHarness): EventView[] {
  const out: EventView[] = [];
  h.tables.drainEvents((raw) => out.push(eventView(raw)));
  return out;
}

for (const flavour of FLAVOURS) {
  describe(`IPv6 session sync (${flavour})`, () => {
    for (const mode of ['nat', 'fullnat', 'nat64'] as const) {
      it(`${mode}: a session from the master carries the reply and the client on the backup`, () => {
        const master = director(flavour, mode);
        const backup = director(flavour, mode);
        const syn = tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 40000, dport: 80, flags: 'S' });
        const out = master.one(fromClient6(syn), 1000).out;
        const [created] = events(master);
        assert.equal(created.type, abi.EVT_CREATED);
        assert.equal(created.client, CIP6);
        assert.equal(created.vip, VIP6);
        assert.equal(backup.tables.importSession(created.raw, 2000), abi.SYNC_CREATED);
        assert.equal(backup.tables.importSession(created.raw, 2000), abi.SYNC_UPDATED, 'a second copy updates');
        const [s] = backup.sessions(2000);
        assert.equal(s.client, CIP6);
        let reply: Uint8Array;
        let rs: number;
        if (mode === 'nat64') {
          const m = decodeFrame(out, true).ip!;
          assert.ok(LIPS.includes(m.src));
          rs = RIPS.indexOf(m.dst);
          assert.equal(s.lip, m.src);
          reply = ethernet(DEV1_MAC, RS_MACS[rs], tcpPacket({ src: m.dst, dst: m.src }, { sport: 8080, dport: m.tcp!.sport, flags: 'SA' }));
        } else {
          const m = decodeFrame6(out, true).ip6!;
          rs = RIPS6.indexOf(m.dst);
          if (mode === 'fullnat') assert.ok(LIPS6.includes(m.src) && s.lip === m.src);
          reply = ethernet(DEV1_MAC, RS_MACS[rs], tcp6Packet({ src: m.dst, dst: m.src }, { sport: 8080, dport: m.tcp!.sport, flags: 'SA' }), 0x86dd);
        }
        const o = backup.one(reply, 2001, { dev: 1 });
        assert.equal(o.verdict, abi.VERDICT_FORWARD, `reason ${o.reason}`);
        const g = decodeFrame6(o.out, true);
        assert.equal(g.dstMac, CLIENT_MAC);
        assert.equal(g.ip6!.src, VIP6);
        assert.equal(g.ip6!.dst, CIP6);
        assert.ok(allChecksumsOk6(g.ip6!));
        const ack = tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 40000, dport: 80, flags: 'A' });
        const i = backup.one(fromClient6(ack), 2002);
        assert.equal(i.verdict, abi.VERDICT_FORWARD, `reason ${i.reason}`);
        if (mode === 'nat64') assert.ok(allChecksumsOk(decodeFrame(i.out, true).ip!));
        else assert.equal(decodeFrame6(i.out, true).ip6!.dst, RIPS6[rs]);
      });
    }

    it('a persistence template travels too: the backup sends the client network\'s next connection to its server', () => {
      const master = director(flavour, 'nat', 300);
      const backup = director(flavour, 'nat', 300);
      const first = decodeFrame6(master.one(fromClient6(tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 1, dport: 80, flags: 'S' })), 1).out, true).ip6!;
      const evs = events(master);
      const tmpl = evs.find((e) => e.type === abi.EVT_TEMPLATE_CREATED)!;
      assert.ok(tmpl, 'template event');
      assert.equal(tmpl.client, '2001:db8:1::', 'the client network, masked to /64');
      for (const e of evs) assert.equal(backup.tables.importSession(e.raw, 2), abi.SYNC_CREATED);
      for (let k = 0; k < 5; k++) {
        const other = tcp6Packet({ src: `2001:db8:1::${(0x50 + k).toString(16)}`, dst: VIP6 }, { sport: 100 + k, dport: 80, flags: 'S' });
        assert.equal(decodeFrame6(backup.one(fromClient6(other), 3).out, true).ip6!.dst, first.dst);
      }
    });

    it('over the sync link: the record travels whole (128 B, reserved tail zero) and imports on a second core', () => {
      const master = director(flavour, 'fullnat');
      master.one(fromClient6(tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 40100, dport: 80, flags: 'S' })), 1);
      const ack = tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 40100, dport: 80, flags: 'A' });
      const toServer = decodeFrame6(master.one(fromClient6(ack), 2).out, true).ip6!;
      const [created] = events(master);
      assert.equal(created.raw.length, abi.EVT_SIZE);
      assert.equal(abi.EVT_SIZE, 128);
      assert.ok(created.raw.subarray(abi.EVT_LIP6 + 16).every((b) => b === 0), 'bytes 112..127 are reserved, zero');
      // the datagram a director sends (ha/protocol.ts), decoded as its peer does
      const [datagram] = encodeSessions(1, 100, [created.raw]);
      const msg = decode(datagram);
      assert.ok(!('error' in msg), JSON.stringify(msg));
      assert.deepEqual(msg.records[0], created.raw);
      // and a bulk export of the master's table (what a restarted peer asks for) says the same
      const bulk = master.tables.exportSessions(0, 16, 3).records.map(eventView);
      assert.deepEqual(bulk.map((e) => [e.client, e.vip, e.rip, e.lip, e.lport]),
        [[created.client, created.vip, created.rip, created.lip, created.lport]]);
      const backup = director(flavour, 'fullnat');
      assert.equal(backup.tables.importSession(msg.records[0], 10), abi.SYNC_CREATED);
      const again = decodeFrame6(backup.one(fromClient6(ack), 11).out, true).ip6!;
      assert.deepEqual([again.src, again.dst, again.tcp!.sport], [toServer.src, toServer.dst, toServer.tcp!.sport],
        'the backup rewrites the connection to the same LIP:lport and server');
    });

    it('between directors laid out differently: indices found from the record\'s IPv6 addresses', () => {
      // the same IPv6 Full-NAT service, but the backup also has other services and servers first:
      // service, server and LIP indices differ, and the director maps them as #importSynced does
      const yaml = (extra: boolean) => `director:
  devices: [ { name: wlvs0, kind: tap, addresses: [10.0.2.1/24, "${'2001:db8:2::1'}/64"] } ]
  fullnat: { local_addresses: [${extra ? '"2001:db8:2::209", ' : ''}"${LIPS6[0]}"] }
services:
${extra ? `  - { name: first, vip: "2001:db8:1::200", port: 80, forwarding: fullnat, health_check: { type: none },
      real_servers: [ { address: "${RIPS6[5]}" }, { address: "${RIPS6[6]}" } ] }
` : ''}  - { name: web6, vip: "${VIP6}", port: 80, forwarding: fullnat, health_check: { type: none },
      real_servers: [ { address: "${RIPS6[0]}", port: 8080 }, { address: "${RIPS6[1]}", port: 8080 } ] }
`;
      const side = (extra: boolean) => {
        // the services default to syn_proxy auto: a director lays out extension records for them
        const h = new CoreHarness(flavour, { connExt: true }).standard();
        const applier = new TableApplier(h.tables, { route: () => ({ device: 1, mac: RS_MACS[0], neighbour: '::' }) });
        applier.apply(parseConfig(yaml(extra)));
        // events feed session sync: a director with a peer has them on (the applier follows ha)
        h.tables.setOptions(abi.OPT_EVENTS);
        return { h, applier };
      };
      const a = side(false);
      const b = side(true);
      const r = a.h.one(fromClient6(tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 40200, dport: 80, flags: 'S' })), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const [e] = events(a.h);
      assert.equal(e.lip, LIPS6[0]);
      const idx = b.applier.syncIndices(e.vip, e.vport, e.protocol, e.rip, e.rport, e.lip)!;
      assert.ok(idx, 'the backup knows the service, server and LIP by their addresses');
      assert.notDeepEqual([idx.service, idx.realServer, idx.lip], [e.service, e.realServer, 0], 'other indices there');
      const rec = e.raw.slice();
      const v = new DataView(rec.buffer);
      v.setUint16(abi.EVT_SVC, idx.service, true);
      v.setUint16(abi.EVT_RS, idx.realServer, true);
      v.setUint16(abi.EVT_LIPIDX, idx.lip, true);
      assert.equal(b.h.tables.importSession(rec, 2), abi.SYNC_CREATED);
      const [s] = b.h.sessions(2);
      assert.deepEqual([s.client, s.vip, s.rip, s.lip, s.lport], [CIP6, VIP6, e.rip, LIPS6[0], e.lport]);
    });

    it('a record of the wrong family for its service is refused', () => {
      const master = director(flavour, 'nat');
      master.one(fromClient6(tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 2, dport: 80, flags: 'S' })), 1);
      const [created] = events(master);
      const v4 = new CoreHarness(flavour).standard();
      v4.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      assert.equal(v4.tables.importSession(created.raw, 2), abi.SYNC_BAD);
      const bad = created.raw.slice();
      bad[abi.EVT_RIP6 + 15] ^= 1;
      assert.equal(director(flavour, 'nat').tables.importSession(bad, 2), abi.SYNC_BAD, 'a server address that does not match');
    });
  });
}
