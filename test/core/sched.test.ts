// Schedulers: distributions and weights, the IPVS wrr order against an independent oracle,
// connection-count schedulers, hashing stability, Maglev's minimal disruption, and the rules
// every scheduler shares (weight 0, removed, unresolved, overloaded, none available).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, FLAVOURS, VIP, realServerEntry } from './harness.js';
import { ethernet, tcpPacket } from '../oracle/packet.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../../src/model/spec.js';

const wire = CoreHarness.wire;
const VIPW = wire('10.0.1.100');
const clientIp = (i: number) => wire(`10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`);

function setup(flavour: 'release' | 'debug', scheduler: SchedulerName, weights: number[], extra: Record<string, unknown> = {},
  caps: Record<string, number> = {}): CoreHarness {
  const h = new CoreHarness(flavour, { schedSize: 65537, ...caps }).standard();
  h.service(0, { scheduler, ...extra }, weights.map((w, i) => realServerEntry(i, { weight: w, address: `10.0.2.${11 + i}` })));
  return h;
}

function counts(h: CoreHarness, n: number, key: (i: number) => [number, number] = (i) => [clientIp(i),
  i & 0xffff]): number[] {
  const c: number[] = [];
  for (let i = 0; i < n; i++) {
    const [cip, cport] = key(i);
    const rs = h.core.pickRealServer(0, cip, cport, VIPW);
    c[rs] = (c[rs] ?? 0) + 1;
  }
  return c;
}

/** the IPVS wrr sequence, computed independently: cw falls by gcd per wrap from max - (gcd - 1) */
function wrrOracle(weights: number[], picks: number): number[] {
  const g = weights.filter((w) => w > 0).reduce((a, b) => { while (b) [a, b] = [b, a % b]; return a; }, 0);
  const mw = Math.max(...weights) - (g - 1);
  let cw = mw;
  let k = 0;
  const out: number[] = [];
  while (out.length < picks) {
    if (k >= weights.length) { k = 0; cw -= g; if (cw <= 0) cw = mw; }
    if (weights[k] > 0 && weights[k] >= cw) out.push(k);
    k++;
  }
  return out;
}

for (const flavour of FLAVOURS) {
  describe(`schedulers (${flavour})`, () => {
    it('rr cycles through every server in order', () => {
      const h = setup(flavour, 'rr', [1, 1, 1]);
      const seq = Array.from({ length: 9 }, (_, i) => h.core.pickRealServer(0, clientIp(i), 1, VIPW));
      assert.deepEqual(seq, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    });

    it('wrr follows the IPVS interleaving exactly (weights 4, 3, 2 and 6, 4, 2)', () => {
      for (const weights of [[4, 3, 2], [6, 4, 2], [1, 5, 1, 3]]) {
        const h = setup(flavour, 'wrr', weights);
        const n = weights.reduce((a, b) => a + b) * 3;
        const seq = Array.from({ length: n }, (_, i) => h.core.pickRealServer(0, clientIp(i), 1, VIPW));
        assert.deepEqual(seq, wrrOracle(weights, n), `weights ${weights}`);
      }
      assert.deepEqual(wrrOracle([4, 3, 2], 9), [0, 0, 1, 0, 1, 2, 0, 1, 2], 'the oracle agrees with IPVS documentation');
    });

    it('lc, wlc, sed and nq pick by connection counts and weights', () => {
      const state = (h: CoreHarness, counts: [number, number][]) => counts.forEach(([a, i], k) => {
        h.setRsField(k, abi.RS_ACTIVE, a);
        h.setRsField(k, abi.RS_INACTIVE, i);
      });
      const pick = (h: CoreHarness) => h.core.pickRealServer(0, clientIp(1), 1, VIPW);
      let h = setup(flavour, 'lc', [1, 1, 1]);
      state(h, [[2, 0], [1, 300], [1, 5]]);
      assert.equal(pick(h), 2, 'lc: 1*256+5 is least');
      h = setup(flavour, 'wlc', [1, 3, 1]);
      state(h, [[1, 0], [2, 0], [1, 10]]);
      assert.equal(pick(h), 1, 'wlc: 512/3 < 256/1');
      h = setup(flavour, 'sed', [1, 2, 5]);
      state(h, [[0, 0], [1, 0], [4, 0]]);
      assert.equal(pick(h), 0, 'sed: 1/1, 2/2, 5/5 tie: the first wins');
      state(h, [[1, 0], [1, 0], [3, 0]]);
      assert.equal(pick(h), 2, 'sed: 2/1, 2/2, 4/5: the last is least');
      state(h, [[0, 0], [0, 0], [2, 900]]);
      assert.equal(pick(h), 1, 'sed: 1/1, 1/2, 3/5: the second; inactive connections do not count');
    });

    it('nq sends to an idle server first, otherwise behaves like sed', () => {
      const h = setup(flavour, 'nq', [1, 10, 1]);
      h.setRsField(0, abi.RS_ACTIVE, 3);
      h.setRsField(1, abi.RS_ACTIVE, 1);
      h.setRsField(2, abi.RS_ACTIVE, 0);
      assert.equal(h.core.pickRealServer(0, clientIp(1), 1, VIPW), 2);
      h.setRsField(2, abi.RS_ACTIVE, 5);
      assert.equal(h.core.pickRealServer(0, clientIp(1), 1, VIPW), 1, '(1+1)/10 is the shortest expected delay');
    });

    for (const s of ['sh', 'mh'] as const) {
      it(`${s}: the same client always gets the same server; shares follow weights`, () => {
        const h = setup(flavour, s, [1, 2, 1]);
        for (let i = 0; i < 200; i++) {
          const a = h.core.pickRealServer(0, clientIp(i * 7), 1000 + i, VIPW);
          const b = h.core.pickRealServer(0, clientIp(i * 7), 2000 + i, VIPW);
          assert.equal(a, b, 'source port ignored without sh-port');
        }
        const c = counts(h, 40000, (i) => [clientIp(i * 2654435761 >>> 0), 1]);
        const total = c.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(c[1] / total - 0.5) < 0.08, `server 1 (weight 2) got ${(c[1] / total).toFixed(3)}`);
        assert.ok(Math.abs(c[0] / total - 0.25) < 0.08, `server 0 got ${(c[0] / total).toFixed(3)}`);
      });
    }

    it('sh-port (hash_port) spreads one client over servers by source port', () => {
      const h = setup(flavour, 'sh', [1, 1, 1], { hashPort: true });
      const seen = new Set(Array.from({ length: 64 }, (_, p) => h.core.pickRealServer(0, clientIp(5), 1000 + p, VIPW)));
      assert.ok(seen.size > 1);
    });

    it('dh hashes the destination address', () => {
      const h = setup(flavour, 'dh', [1, 1, 1]);
      const byDst = (d: number) => h.core.pickRealServer(0, clientIp(d), 1, wire(`10.9.${d & 255}.1`));
      for (let d = 0; d < 50; d++) {
        assert.equal(byDst(d), h.core.pickRealServer(0, clientIp(d + 1000), 9, wire(`10.9.${d & 255}.1`)));
      }
      assert.ok(new Set(Array.from({ length: 64 }, (_, d) => byDst(d))).size > 1);
    });

    it('mh: removing one of five servers remaps only its own keys (minimal disruption)', () => {
      const h = setup(flavour, 'mh', [1, 1, 1, 1, 1], {}, { realServers: 32 });
      const keys = Array.from({ length: 20000 }, (_, i) => clientIp((i * 2654435761) >>> 0));
      const before = keys.map((k) => h.core.pickRealServer(0, k, 1, VIPW));
      const share = before.filter((r) => r === 2).length / keys.length;
      assert.ok(Math.abs(share - 0.2) < 0.05, `even share ${share}`);
      h.tables.setWeight(2, 0);
      h.tables.rebuildService(0);
      const after = keys.map((k) => h.core.pickRealServer(0, k, 1, VIPW));
      let moved = 0;
      let othersMoved = 0;
      for (let i = 0; i < keys.length; i++) {
        if (before[i] !== after[i]) moved++;
        if (before[i] !== 2 && before[i] !== after[i]) othersMoved++;
        assert.notEqual(after[i], 2);
      }
      // Maglev is near-minimal, not perfect: a few entries of other servers shift (paper §5.3)
      assert.ok(othersMoved / keys.length < 0.03, `keys of other servers moved: ${othersMoved}`);
      assert.ok(moved / keys.length < 0.25, `moved ${moved}`);
    });

    for (const s of SCHEDULER_NAMES) {
      it(`${s}: never picks weight 0, removed, unresolved or overloaded servers; none left = NO_RS`, () => {
        const h = setup(flavour, s, [1, 1, 1, 1, 1], { fallback: true });
        h.tables.setWeight(0, 0);
        h.tables.markRemoved(1);
        h.tables.setNextHop(2, null);
        h.tables.rebuildService(0);
        h.setRsField(3, abi.RS_UPPER, 2);
        h.setRsField(3, abi.RS_INACTIVE, 2);
        for (let i = 0; i < 300; i++) {
          const rs = h.core.pickRealServer(0, clientIp(i * 31), i, wire(`10.9.${i & 255}.1`));
          assert.equal(rs, 4, `${s} pick ${i}: ${rs}`);
        }
        h.tables.setWeight(4, 0);
        h.tables.rebuildService(0);
        assert.equal(h.core.pickRealServer(0, clientIp(1), 1, VIPW), abi.NO_RS);
      });
    }

    it('sh without fallback refuses a client whose server became overloaded; with fallback moves it', () => {
      for (const fallback of [false, true]) {
        const h = setup(flavour, 'sh', [1, 1], { fallback });
        const cip = clientIp(77);
        const first = h.core.pickRealServer(0, cip, 1, VIPW);
        h.setRsField(first, abi.RS_UPPER, 1);
        h.setRsField(first, abi.RS_INACTIVE, 1);
        const again = h.core.pickRealServer(0, cip, 1, VIPW);
        assert.equal(again, fallback ? 1 - first : abi.NO_RS);
      }
    });

    it('a reweight takes effect at the rebuild', () => {
      const h = setup(flavour, 'wrr', [1, 1]);
      h.tables.setWeight(1, 3);
      h.tables.rebuildService(0);
      const c = counts(h, 400);
      assert.deepEqual([c[0], c[1]], [100, 300]);
    });

    it('sessions created by process() land where the scheduler says (wrr 1:2)', () => {
      const h = setup(flavour, 'wrr', [1, 2]);
      const frames = Array.from({ length: 60 }, (_, i) => ethernet(DEV0_MAC, CLIENT_MAC,
        tcpPacket({ src: CIP, dst: VIP }, { sport: 5000 + i, dport: 80, flags: 'S' })));
      h.run(frames, 1);
      assert.equal(h.tables.rsCounters(0).conns, 20n);
      assert.equal(h.tables.rsCounters(1).conns, 40n);
      assert.equal(h.rsField(1, abi.RS_INACTIVE), 40);
    });
  });
}
