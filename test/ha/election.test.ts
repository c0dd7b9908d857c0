// The election and the sync datagrams, with a fake clock: two directors' state machines wired to
// each other through a link that can be cut.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { Election, type ElectionOptions, type HaState, type Timers } from '../../src/ha/election.js';
import { SESSIONS_PER_DATAGRAM, TYPE_ADVERT, TYPE_SESSIONS, decode, encodeAdvert, encodeSessions } from '../../src/ha/protocol.js';

/** FakeClock runs timers in time order when advanced */
class FakeClock implements Timers {
  now = 0;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clear(h: unknown): void {
    this.#timers.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.#timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
}

interface Node { e: Election; log: [number, HaState, string][]; linkUp: () => boolean }

/** pair builds two directors whose adverts reach each other while the link is up */
function pair(clock: FakeClock, a: Partial<ElectionOptions>, b: Partial<ElectionOptions>) {
  let up = true;
  const mk = (o: Partial<ElectionOptions>, self: string): Node => {
    const log: Node['log'] = [];
    const n: Node = { e: null as unknown as Election, log, linkUp: () => up };
    n.e = new Election({ priority: 100, preempt: true, advertIntervalMs: 1000, initialState: 'backup', self, ...o }, {
      advertise: (p) => { if (up) queueMicrotaskLike(() => peerOf(n).e.onAdvert(p, self)); },
      changed: (s, why) => log.push([clock.now, s, why]),
    }, clock);
    return n;
  };
  const A = mk(a, '10.0.3.1');
  const B = mk(b, '10.0.3.2');
  const peerOf = (n: Node) => (n === A ? B : A);
  // adverts are delivered at once (the fake link has no delay)
  const queueMicrotaskLike = (fn: () => void) => fn();
  return { A, B, cut: () => { up = false; }, heal: () => { up = true; } };
}

describe('election', () => {
  it('the higher priority becomes master; the other stays backup while adverts flow', () => {
    const clock = new FakeClock();
    const { A, B } = pair(clock, { priority: 150 }, { priority: 100 });
    A.e.start();
    B.e.start();
    clock.advance(10_000);
    assert.equal(A.e.state, 'master');
    assert.equal(B.e.state, 'backup');
    // A took over after its own master-down time: 3 s + (256-150)/256 s
    assert.equal(A.log[1][0], 3000 + Math.round(106 * 1000 / 256));
  });

  it('a backup takes over 3 intervals + skew after the master goes silent', () => {
    const clock = new FakeClock();
    const { A, B, cut } = pair(clock, { priority: 150, initialState: 'master' }, { priority: 100 });
    A.e.start();
    B.e.start();
    clock.advance(5000);
    assert.equal(B.e.state, 'backup');
    cut();
    const cutAt = clock.now;
    clock.advance(10_000);
    assert.equal(B.e.state, 'master');
    const took = B.log.find((l) => l[1] === 'master')![0] - cutAt;
    // the last advert came up to one interval before the cut
    assert.ok(took <= 3000 + Math.round(156 * 1000 / 256) && took > 2000, `took over after ${took} ms`);
  });

  it('preemption: a returning higher priority takes the role back only with preempt on', () => {
    for (const preempt of [true, false]) {
      const clock = new FakeClock();
      const { A, B } = pair(clock, { priority: 150, preempt }, { priority: 100, preempt });
      A.e.start();
      B.e.start();
      clock.advance(5000);
      assert.equal(A.e.state, 'master');
      A.e.stop();
      clock.advance(2000);
      assert.equal(B.e.state, 'master');
      A.e.start(); // restarted, as a backup
      clock.advance(10_000);
      assert.equal(A.e.state, preempt ? 'master' : 'backup', `preempt ${preempt}`);
      assert.equal(B.e.state, preempt ? 'backup' : 'master', `preempt ${preempt}`);
    }
  });

  it('a split brain heals to one master when the link comes back', () => {
    const clock = new FakeClock();
    const { A, B, cut, heal } = pair(clock, { priority: 150, initialState: 'master' }, { priority: 100 });
    A.e.start();
    B.e.start();
    clock.advance(2000);
    cut();
    clock.advance(5000);
    assert.deepEqual([A.e.state, B.e.state], ['master', 'master']);
    heal();
    clock.advance(3000);
    assert.deepEqual([A.e.state, B.e.state], ['master', 'backup']);
  });

  it('a backup with preempt off does not take over from a lower-priority master', () => {
    const clock = new FakeClock();
    const { A, B } = pair(clock, { priority: 100, initialState: 'master', preempt: false }, { priority: 200, preempt: false });
    A.e.start();
    B.e.start();
    clock.advance(20_000);
    assert.equal(A.e.state, 'master');
    assert.equal(B.e.state, 'backup');
  });

  it('equal priorities: the higher address wins, and only one master remains', () => {
    const clock = new FakeClock();
    const { A, B } = pair(clock, { initialState: 'master' }, { initialState: 'master' });
    A.e.start();
    B.e.start();
    clock.advance(5000);
    assert.equal(A.e.state, 'backup');
    assert.equal(B.e.state, 'master');
  });

  it('a master that stops resigns: the backup takes over after the skew alone', () => {
    const clock = new FakeClock();
    const { A, B } = pair(clock, { priority: 150, initialState: 'master' }, { priority: 100 });
    A.e.start();
    B.e.start();
    clock.advance(2500);
    const at = clock.now;
    A.e.stop();
    clock.advance(2000);
    assert.equal(B.e.state, 'master');
    assert.equal(B.log.find((l) => l[1] === 'master')![0] - at, Math.round(156 * 1000 / 256));
  });
});

describe('sync datagrams', () => {
  it('round-trips adverts and session records, split to fit a datagram', () => {
    const a = decode(encodeAdvert(7, 150));
    assert.deepEqual(a, { type: TYPE_ADVERT, group: 7, priority: 150, records: [] });
    const records = Array.from({ length: SESSIONS_PER_DATAGRAM + 3 }, (_, i) => new Uint8Array(abi.EVT_SIZE).fill(i));
    const grams = encodeSessions(7, 150, records);
    assert.equal(grams.length, 2);
    assert.ok(grams.every((g) => g.length <= 1400));
    const back = grams.flatMap((g) => {
      const m = decode(g);
      assert.ok(!('error' in m));
      assert.equal(m.type, TYPE_SESSIONS);
      return m.records;
    });
    assert.deepEqual(back, records);
  });

  it('rejects what is not a well-formed datagram of ours', () => {
    const good = encodeSessions(1, 100, [new Uint8Array(abi.EVT_SIZE)])[0];
    const cases: Uint8Array[] = [
      new Uint8Array(3), Buffer.from('GET / HTTP/1.1\r\n\r\n'), good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.alloc(1)]), Buffer.from(good).fill(9, 4, 5), Buffer.from(good).fill(0, 8, 10),
    ];
    for (const c of cases) assert.ok('error' in decode(c), `accepted ${Buffer.from(c).toString('hex').slice(0, 40)}`);
  });
});
