// The VRRP state machine with a fake clock, one test per transition of RFC 5798 §6.4 (and the
// version 2 skew of RFC 3768): routers wired to each other through a segment that can be cut,
// stepped without waiting, seesaw style.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Election, type ElectionOptions, type HaState, type Timers } from '../../src/ha/election.js';

/** FakeClock runs timers in time order when advanced */
export class FakeClock implements Timers {
  t = 0;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clear(h: unknown): void {
    this.#timers.delete(h as number);
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.#timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

interface Router {
  e: Election;
  /** [time, state, why] of every transition */
  log: [number, HaState, string][];
  /** [time, priority] of every advertisement sent */
  sent: [number, number][];
  address: string;
}

/**
 * segment wires routers: an advertisement reaches every other router at once while the segment
 * is up (and the sender is not muted), carrying the sender's configured interval.
 */
function segment(clock: FakeClock, opts: Partial<ElectionOptions>[]) {
  let up = true;
  const muted = new Set<Router>();
  const routers: Router[] = opts.map((o, i) => {
    const address = `10.0.3.${i + 1}`;
    const r: Router = { e: null as unknown as Election, log: [], sent: [], address };
    const full: ElectionOptions = { priority: 100, preempt: true, advertIntervalMs: 1000, initialState: 'backup', self: address, ...o };
    r.e = new Election(full, {
      advertise: (p) => {
        r.sent.push([clock.t, p]);
        if (!up || muted.has(r)) return;
        const heard = { priority: p, intervalMs: full.advertIntervalMs, from: address };
        for (const other of routers) if (other !== r) other.e.onAdvert(heard);
      },
      changed: (s, why) => r.log.push([clock.t, s, why]),
    }, clock);
    return r;
  });
  return {
    routers, cut: () => { up = false; }, heal: () => { up = true; },
    mute: (r: Router) => muted.add(r), unmute: (r: Router) => muted.delete(r),
  };
}

const becameMaster = (r: Router) => r.log.filter((l) => l[1] === 'master').map((l) => l[0]);
/** skew for priority p and interval i, version 3 */
const skew = (p: number, i: number) => Math.round(((256 - p) * i) / 256);

describe('VRRP election (RFC 5798 §6.4)', () => {
  it('Initialize -> Backup, then Master after Master_Down_Interval when nobody speaks', () => {
    const clock = new FakeClock();
    const { routers: [a] } = segment(clock, [{ priority: 150 }]);
    a.e.start();
    assert.equal(a.e.state, 'backup');
    assert.equal(a.e.masterDownMs, 3000 + skew(150, 1000));
    clock.advance(10_000);
    assert.deepEqual(becameMaster(a), [3000 + skew(150, 1000)]);
    // a master advertises every Advertisement_Interval
    assert.deepEqual(a.sent.slice(0, 3).map((s) => s[0]), [3414, 4414, 5414]);
  });

  it('Initialize -> Master at once for the address owner (priority 255)', () => {
    const clock = new FakeClock();
    const { routers: [owner, b] } = segment(clock, [{ priority: 255 }, { priority: 254 }]);
    b.e.start();
    clock.advance(500);
    owner.e.start();
    assert.equal(owner.e.state, 'master');
    assert.deepEqual(owner.sent[0], [500, 255]);
    clock.advance(10_000);
    assert.equal(b.e.state, 'backup');
  });

  it('`state master` waits one interval for a master before taking the role (keepalived)', () => {
    const clock = new FakeClock();
    const { routers: [a, b] } = segment(clock, [{ priority: 200 }, { priority: 100, initialState: 'master' }]);
    a.e.start();
    clock.advance(5000);
    assert.equal(a.e.state, 'master');
    b.e.start();
    clock.advance(5000);
    assert.equal(b.e.state, 'backup', 'a master spoke within the interval');
    assert.deepEqual(becameMaster(b), []);
    const clock2 = new FakeClock();
    const { routers: [alone] } = segment(clock2, [{ priority: 100, initialState: 'master' }]);
    alone.e.start();
    clock2.advance(5000);
    assert.deepEqual(becameMaster(alone), [1000 + Math.round(1000 / 256)]);
  });

  it('Backup -> Master when the Master_Down_Timer fires after the master goes silent', () => {
    const clock = new FakeClock();
    const { routers: [a, b], cut } = segment(clock, [{ priority: 150 }, { priority: 100 }]);
    a.e.start();
    b.e.start();
    clock.advance(5000);
    assert.deepEqual([a.e.state, b.e.state], ['master', 'backup']);
    cut();
    const last = a.sent.at(-1)![0];
    clock.advance(10_000);
    assert.deepEqual(becameMaster(b), [last + 3000 + skew(100, 1000)]);
  });

  it('Master -> Backup on an advertisement with a higher priority', () => {
    const clock = new FakeClock();
    const { routers: [a, b], mute, unmute } = segment(clock, [{ priority: 100 }, { priority: 200 }]);
    mute(b);
    a.e.start();
    b.e.start();
    clock.advance(6000);
    // both master while b's advertisements do not reach a
    assert.deepEqual([a.e.state, b.e.state], ['master', 'master']);
    unmute(b);
    clock.advance(1000);
    assert.deepEqual([a.e.state, b.e.state], ['backup', 'master']);
    assert.match(a.log.at(-1)![2], /10\.0\.3\.2 advertises priority 200/);
  });

  it('Master -> Backup on an equal priority from a higher address; the lower one stays', () => {
    const clock = new FakeClock();
    const { routers: [a, b], mute, unmute } = segment(clock, [{}, {}]);
    mute(a);
    mute(b);
    a.e.start();
    b.e.start();
    clock.advance(5000);
    assert.deepEqual([a.e.state, b.e.state], ['master', 'master']);
    unmute(a);
    unmute(b);
    clock.advance(2000);
    // a Backup accepts an equal priority; only two Masters compare addresses (RFC 5798 §6.4.3)
    assert.deepEqual([a.e.state, b.e.state], ['backup', 'master']);
  });

  it('a master hearing a lower priority stays master and answers at once (keepalived forces a new election)', () => {
    const clock = new FakeClock();
    const { routers: [a] } = segment(clock, [{ priority: 200 }]);
    a.e.start();
    clock.advance(5300);
    const n = a.sent.length;
    a.e.onAdvert({ priority: 100, intervalMs: 1000, from: '10.0.3.9' });
    assert.deepEqual(a.sent.slice(n), [[clock.t, 200]]);
    assert.equal(a.e.state, 'master');
  });

  it('priority 0: the backup takes over after Skew_Time; a master hearing it advertises at once', () => {
    const clock = new FakeClock();
    const { routers: [a, b] } = segment(clock, [{ priority: 150 }, { priority: 100 }]);
    a.e.start();
    b.e.start();
    clock.advance(5500);
    const at = clock.t;
    a.e.stop();
    assert.deepEqual(a.sent.at(-1), [at, 0], 'a stopping master resigns with priority 0');
    clock.advance(3000);
    assert.deepEqual(becameMaster(b), [at + skew(100, 1000)]);
    // now b is master; a priority 0 from someone else makes it advertise immediately
    const n = b.sent.length;
    b.e.onAdvert({ priority: 0, intervalMs: 1000, from: '10.0.3.9' });
    assert.deepEqual(b.sent.slice(n), [[clock.t, 100]]);
    assert.equal(b.e.state, 'master');
  });

  it('preempt on: a higher-priority backup discards a lower master\'s adverts and takes over', () => {
    const clock = new FakeClock();
    const { routers: [a, b] } = segment(clock, [{ priority: 100 }, { priority: 200 }]);
    a.e.start();
    clock.advance(5000);
    assert.equal(a.e.state, 'master');
    b.e.start();
    clock.advance(10_000);
    assert.deepEqual([a.e.state, b.e.state], ['backup', 'master']);
    // it waited its own Master_Down_Interval, the lower master's adverts notwithstanding
    assert.deepEqual(becameMaster(b), [5000 + 3000 + skew(200, 1000)]);
  });

  it('preempt off: a higher-priority backup leaves a lower master in place', () => {
    const clock = new FakeClock();
    const { routers: [a, b] } = segment(clock, [{ priority: 100 }, { priority: 200, preempt: false }]);
    a.e.start();
    clock.advance(5000);
    b.e.start();
    clock.advance(20_000);
    assert.deepEqual([a.e.state, b.e.state], ['master', 'backup']);
    // ... until the master goes: then the backup takes over as usual
    a.e.stop();
    clock.advance(2000);
    assert.equal(b.e.state, 'master');
  });

  it('preempt_delay holds a higher-priority backup back for the delay, then it preempts', () => {
    const clock = new FakeClock();
    const { routers: [a, b] } = segment(clock, [{ priority: 100 }, { priority: 200, preemptDelayMs: 10_000 }]);
    a.e.start();
    clock.advance(5000);
    b.e.start();
    const startedAt = clock.t;
    clock.advance(9000);
    assert.equal(b.e.state, 'backup');
    clock.advance(10_000);
    assert.equal(b.e.state, 'master');
    const took = becameMaster(b)[0] - startedAt;
    // the first lower advert comes within an interval of starting and opens the 10 s delay; the
    // Master_Down_Interval then runs from the last one accepted, an interval before it ends
    assert.ok(took > 10_000 - 1000 + 3000 && took <= 10_000 + 3000 + skew(200, 1000), `took ${took} ms`);
  });

  it('a version 3 backup adopts the master\'s interval (Master_Down_Interval and skew follow it)', () => {
    const clock = new FakeClock();
    const { routers: [a, b], cut } = segment(clock, [
      { priority: 150, advertIntervalMs: 300 }, { priority: 100, advertIntervalMs: 1000 }]);
    a.e.start();
    b.e.start();
    clock.advance(5000);
    assert.equal(b.e.state, 'backup');
    assert.equal(b.e.masterIntervalMs, 300);
    assert.equal(b.e.masterDownMs, 900 + skew(100, 300));
    cut();
    const last = a.sent.at(-1)![0];
    clock.advance(5000);
    assert.deepEqual(becameMaster(b), [last + 900 + skew(100, 300)]);
    // as master it advertises at its own configured interval
    const own = b.sent.filter((s) => s[0] > becameMaster(b)[0]).slice(0, 2).map((s) => s[0]);
    assert.equal(own[1] - own[0], 1000);
    assert.equal(b.e.masterIntervalMs, 1000);
  });

  it('version 2: Skew_Time is (256 - priority) / 256 seconds whatever the interval', () => {
    const clock = new FakeClock();
    const { routers: [a] } = segment(clock, [{ priority: 100, advertIntervalMs: 3000, version: 2 }]);
    a.e.start();
    assert.equal(a.e.skewMs, Math.round(156 * 1000 / 256));
    assert.equal(a.e.masterDownMs, 9000 + Math.round(156 * 1000 / 256));
  });

  it('a priority change: a lowered master is preempted, a raised backup preempts', () => {
    const clock = new FakeClock();
    const { routers: [a, b] } = segment(clock, [{ priority: 150 }, { priority: 100 }]);
    a.e.start();
    b.e.start();
    clock.advance(5000);
    a.e.setPriority(50);
    assert.equal(a.sent.at(-1)![1], 50, 'the master advertises its new priority at once');
    clock.advance(6000);
    assert.deepEqual([a.e.state, b.e.state], ['backup', 'master']);
    a.e.setPriority(180);
    clock.advance(6000);
    assert.deepEqual([a.e.state, b.e.state], ['master', 'backup']);
  });

  it('a split brain heals to one master when the segment comes back', () => {
    const clock = new FakeClock();
    const { routers: [a, b], cut, heal } = segment(clock, [{ priority: 150 }, { priority: 100 }]);
    a.e.start();
    b.e.start();
    clock.advance(5000);
    cut();
    clock.advance(5000);
    assert.deepEqual([a.e.state, b.e.state], ['master', 'master']);
    heal();
    clock.advance(3000);
    assert.deepEqual([a.e.state, b.e.state], ['master', 'backup']);
  });

  it('three routers: the highest priority is master, the next takes over when it goes', () => {
    const clock = new FakeClock();
    const { routers: [a, b, c] } = segment(clock, [{ priority: 100 }, { priority: 200 }, { priority: 150 }]);
    for (const r of [a, b, c]) r.e.start();
    clock.advance(6000);
    assert.deepEqual([a.e.state, b.e.state, c.e.state], ['backup', 'master', 'backup']);
    b.e.stop();
    clock.advance(3000);
    assert.deepEqual([a.e.state, c.e.state], ['backup', 'master']);
  });
});
