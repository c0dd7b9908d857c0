// What the directors of a cluster must agree on without talking: the Maglev table is a function
// of the servers' identities, not of the order they were configured or added in (nor of the
// table indices they got), and a flow that ECMP moves to another director continues there in
// the middle (no SYN) when its service accepts mid-flow segments (DR and TUN only).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { parseConfig } from '../../src/config/load.js';
import { TableApplier } from '../../src/director/apply.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DIP, FLAVOURS, RIPS, RS_MACS, VIP, realServerEntry } from './harness.js';
import { stringify } from 'yaml';
import { allChecksumsOk, decodeFrame, ethernet, tcpPacket } from '../oracle/packet.js';

const wire = CoreHarness.wire;
const fromClient = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt);
const SERVERS = [
  { address: '10.0.2.31', port: 80, weight: 1 }, { address: '10.0.2.12', port: 80, weight: 2 },
  { address: '10.0.2.12', port: 8080, weight: 1 }, { address: '10.0.2.200', port: 80, weight: 3 },
  { address: '10.0.2.7', port: 80, weight: 1 }, { address: '10.0.3.1', port: 80, weight: 1 },
];

/** a director's configuration with the servers in the given order */
function config(servers: typeof SERVERS, service: Record<string, unknown> = {}): string {
  return stringify({
    director: { devices: [{ name: 'wlvs0', kind: 'tun', addresses: ['10.0.2.253/24'] }] },
    services: [{
      name: 'web', vip: VIP, port: 80, scheduler: 'mh', forwarding: 'tun', accept_mid_flow: true,
      health_check: { type: 'none' }, real_servers: servers, ...service,
    }],
  });
}

/** a director built the way `wlvs run` builds it: configuration -> applier -> tables */
function director(flavour: 'release' | 'debug', rsBase = 0) {
  const h = new CoreHarness(flavour, { schedSize: 65537, realServers: 64 }).standard({ l3: true });
  const applier = new TableApplier(h.tables, { route: () => ({ device: 1, mac: '00:00:00:00:00:00', neighbour: '0.0.0.0' }) });
  // occupy some indices first, so the two directors give the same servers different indices
  if (rsBase) applier.apply(parseConfig(config(SERVERS.map((s, i) => ({ ...s, address: `10.9.9.${i + 1}` })).slice(0, rsBase))));
  return { h, applier };
}

/** who (address:port) the director's Maglev table picks for each of `n` clients */
function picks(d: ReturnType<typeof director>, n: number): string[] {
  const byIndex = new Map<number, string>();
  for (const v of d.applier.view()) for (const r of v.realServers) if (r.index !== null) byIndex.set(r.index, `${r.address}:${r.port}`);
  const svc = d.applier.serviceIndex('web')!;
  return Array.from({ length: n }, (_, i) => {
    const rs = d.h.core.pickRealServer(svc, wire(`10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`), i & 0xffff, wire(VIP));
    return byIndex.get(rs) ?? `none(${rs})`;
  });
}

const permute = <T>(a: T[], seed: number): T[] => {
  const out = [...a];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};

for (const flavour of FLAVOURS) {
  describe(`cluster: one Maglev table on every director (${flavour})`, () => {
    it('the same servers in any order, at any indices, give the same table', () => {
      const first = director(flavour);
      first.applier.apply(parseConfig(config(SERVERS)));
      const reference = picks(first, 20_000);
      // every server gets a share in proportion to its weight (a table that is not a constant)
      const share = new Map<string, number>();
      for (const p of reference) share.set(p, (share.get(p) ?? 0) + 1);
      assert.equal(share.size, SERVERS.length, [...share.keys()].join(' '));
      assert.ok(share.get('10.0.2.200:80')! > 2.4 * share.get('10.0.2.31:80')!, JSON.stringify([...share]));
      for (let seed = 1; seed <= 6; seed++) {
        const d = director(flavour, seed % 3 ? seed : 0);
        d.applier.apply(parseConfig(config(permute(SERVERS, seed))));
        assert.deepEqual(picks(d, 20_000), reference, `permutation ${seed}`);
      }
    });

    it('servers added one by one by reloads give the table a director built at once', () => {
      const all = director(flavour);
      all.applier.apply(parseConfig(config(SERVERS)));
      const stepwise = director(flavour, 2);
      const order = permute(SERVERS, 99);
      for (let k = 1; k <= order.length; k++) stepwise.applier.apply(parseConfig(config(order.slice(0, k))));
      assert.deepEqual(picks(stepwise, 20_000), picks(all, 20_000));
      // and a server removed then added back lands where it was
      stepwise.applier.apply(parseConfig(config(order.filter((s) => s.address !== '10.0.2.7'))));
      stepwise.applier.apply(parseConfig(config(order)));
      assert.deepEqual(picks(stepwise, 20_000), picks(all, 20_000));
    });
  });

  describe(`cluster: mid-flow segments of a moved flow (${flavour})`, () => {
    const ack = (sport: number, flags = 'A', payload = 200) =>
      tcpPacket({ src: CIP, dst: VIP },
        { sport, dport: 80, flags, seq: 1_000_000, ack: 5_000, payload: new Uint8Array(payload).fill(7) });
    const dr = (midFlow: boolean, forwarding: 'dr' | 'tun' | 'nat' = 'dr', scheduler: 'mh' | 'rr' = 'mh') => {
      const h = new CoreHarness(flavour, { schedSize: 257 }).standard();
      const servers = [0, 1, 2, 3].map((i) => realServerEntry(i, { port: 0 }));
      h.service(0, { forwarding, scheduler, midFlow, port: 80 }, servers);
      return h;
    };

    it('an ACK without a session goes to the server the SYN went to on another director (DR)', () => {
      for (const sport of [40000, 40001, 40002, 40003, 40004, 40005]) {
        const first = dr(true);
        const syn = first.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport, dport: 80, flags: 'S' })), 1);
        const second = dr(true);
        const pkt = ack(sport);
        const r = second.one(fromClient(pkt), 5);
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        const f = decodeFrame(r.out, true);
        assert.equal(f.dstMac, decodeFrame(syn.out, true).dstMac, 'the same server as the SYN on the first director');
        assert.ok(RS_MACS.slice(0, 4).includes(f.dstMac!));
        assert.deepEqual(f.ip!.bytes, pkt, 'DR: the IP packet is untouched');
        const [s] = second.sessions(5);
        assert.equal(s.state, abi.TCP_S_ESTABLISHED, 'a flow met in the middle is established');
        assert.equal(second.tables.rsConnections(s.realServer).active, 1);
        // the next segments hit the session
        const again = second.one(fromClient(ack(sport, 'A', 10)), 6);
        assert.equal(decodeFrame(again.out, true).dstMac, f.dstMac);
        assert.equal(second.tables.stat(abi.STAT_CONN_CREATED), 1n);
      }
    });

    it('TUN: the moved flow is encapsulated to the same server, checksums intact', () => {
      const first = dr(true, 'tun');
      const syn = first.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 41000, dport: 80, flags: 'S' })), 1);
      const second = dr(true, 'tun');
      const pkt = ack(41000, 'PA');
      const r = second.one(fromClient(pkt), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const outer = decodeFrame(r.out, true).ip!;
      assert.equal(outer.proto, 4);
      assert.equal(outer.src, DIP);
      assert.equal(outer.dst, decodeFrame(syn.out, true).ip!.dst);
      assert.ok(RIPS.slice(0, 4).includes(outer.dst));
      assert.deepEqual(outer.inner!.bytes, pkt);
      assert.ok(allChecksumsOk(outer));
    });

    it('a FIN or RST of a moved flow is forwarded too, into a closing session', () => {
      const h = dr(true);
      assert.equal(h.one(fromClient(ack(42000, 'FA', 0)), 1).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.one(fromClient(ack(42001, 'R', 0)), 1).verdict, abi.VERDICT_FORWARD);
      const states = h.sessions(1).map((s) => s.state).sort();
      assert.deepEqual(states, [abi.TCP_S_CLOSE, abi.TCP_S_CLOSE]);
    });

    it('without the option, or for NAT, a segment without a session is dropped as before', () => {
      for (const [h, why] of [[dr(false), 'option off'], [dr(true, 'nat'), 'nat']] as const) {
        const r = h.one(fromClient(ack(43000)), 1);
        assert.equal(r.verdict, abi.VERDICT_DROP, why);
        assert.equal(r.reason, abi.DROP_NO_SESSION, why);
        assert.equal(h.sessions(1).length, 0, why);
        // a SYN still opens the connection
        assert.equal(h.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 43001, dport: 80, flags: 'S' })), 2).verdict,
          abi.VERDICT_FORWARD, why);
      }
    });
  });

  describe(`cluster: configuration rules (${flavour})`, () => {
    it('accept_mid_flow needs mh and dr or tun', () => {
      assert.throws(() => parseConfig(config(SERVERS, { scheduler: 'rr' })), /accept_mid_flow: needs scheduler mh/);
      assert.throws(() => parseConfig(config(SERVERS, { forwarding: 'nat' })), /only dr and tun flows can continue/);
      assert.equal(parseConfig(config(SERVERS)).services[0].acceptMidFlow, true);
    });
  });
}
