// runner.ts — runs every target's checks on its own interval and reports only transitions:
// up -> down after `fall` consecutive failures, down -> up after `rise` consecutive successes
// (keepalived's retry / seesaw's Retries). First checks are spread over the interval so a
// restart does not probe every server at once; each probe is bounded by its timeout through an
// AbortSignal, so a hung probe never delays another target or the data path.
import type { HealthType } from '../model/spec.js';
import type { Checker, Result, Target } from './checker.js';
import { CHECKERS } from './index.js';

export type HealthState = 'up' | 'down';

export interface Transition { target: Target; from: HealthState; to: HealthState; result: Result }

export interface TargetStatus {
  state: HealthState;
  okRun: number;
  failRun: number;
  checks: number;
  last: Result | null;
  /** wall-clock ms of the last transition and the result that caused it; null until one happens */
  changedAt: number | null;
  reason: string | null;
}

export interface RunnerOptions {
  checkers?: Partial<Record<HealthType, Checker>>;
  /** 0..1; spreads the first checks (tests pass a constant) */
  random?: () => number;
}

interface Entry { target: Target; status: TargetStatus; timer: NodeJS.Timeout | null; running: boolean; gen: number }

/** HealthRunner keeps one timer per target; call setTargets() whenever the set changes. */
export class HealthRunner {
  #entries = new Map<string, Entry>();
  #checkers: Record<HealthType, Checker>;
  #random: () => number;
  #onTransition: (t: Transition) => void;
  #stopped = false;

  constructor(onTransition: (t: Transition) => void, opts: RunnerOptions = {}) {
    this.#onTransition = onTransition;
    this.#checkers = { ...CHECKERS, ...opts.checkers };
    this.#random = opts.random ?? Math.random;
  }

  /**
   * setTargets makes the checked set equal `targets`. New targets start in `initial` state;
   * a target whose check changed keeps its state and restarts its schedule.
   */
  setTargets(targets: Target[], initial: HealthState): void {
    const wanted = new Map(targets.map((t) => [t.id, t]));
    for (const [id, e] of this.#entries) {
      if (!wanted.has(id)) {
        this.#cancel(e);
        this.#entries.delete(id);
      }
    }
    for (const t of targets) {
      const e = this.#entries.get(t.id);
      if (e && JSON.stringify(e.target) === JSON.stringify(t)) continue;
      if (e) this.#cancel(e);
      const status: TargetStatus = e?.status ?? {
        state: t.check.type === 'none' ? 'up' : initial, okRun: 0, failRun: 0, checks: 0, last: null, changedAt: null, reason: null,
      };
      const entry: Entry = { target: t, status, timer: null, running: false, gen: (e?.gen ?? 0) + 1 };
      this.#entries.set(t.id, entry);
      if (t.check.type !== 'none') this.#schedule(entry, this.#random() * t.check.interval * 1000);
      else if (status.state === 'down') this.#transition(entry, 'up', { ok: true, message: 'not checked', durationMs: 0 });
    }
  }

  status(id: string): TargetStatus | undefined {
    return this.#entries.get(id)?.status;
  }

  state(id: string): HealthState | undefined {
    return this.#entries.get(id)?.status.state;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** runOnce checks a target now and applies the result (tests and `wlvs` on demand). */
  async runOnce(id: string): Promise<Result | undefined> {
    const e = this.#entries.get(id);
    if (!e) return undefined;
    return this.#check(e);
  }

  stop(): void {
    this.#stopped = true;
    for (const e of this.#entries.values()) this.#cancel(e);
  }

  #cancel(e: Entry): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    e.gen++;
  }

  #schedule(e: Entry, delayMs: number): void {
    if (this.#stopped) return;
    const gen = e.gen;
    e.timer = setTimeout(async () => {
      e.timer = null;
      if (gen !== e.gen) return;
      await this.#check(e);
      if (gen === e.gen) this.#schedule(e, e.target.check.interval * 1000);
    }, delayMs);
    e.timer.unref();
  }

  async #check(e: Entry): Promise<Result> {
    const t = e.target;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), t.check.timeout * 1000);
    let result: Result;
    try {
      result = await this.#checkers[t.check.type](t, ctl.signal);
    } catch (err) {
      result = { ok: false, message: (err as Error).message, durationMs: 0 };
    } finally {
      clearTimeout(timer);
    }
    if (this.#entries.get(t.id) !== e) return result;
    const s = e.status;
    s.checks++;
    s.last = result;
    if (result.ok) {
      s.okRun++;
      s.failRun = 0;
      if (s.state === 'down' && s.okRun >= t.check.rise) this.#transition(e, 'up', result);
    } else {
      s.failRun++;
      s.okRun = 0;
      if (s.state === 'up' && s.failRun >= t.check.fall) this.#transition(e, 'down', result);
    }
    return result;
  }

  #transition(e: Entry, to: HealthState, result: Result): void {
    const from = e.status.state;
    e.status.state = to;
    e.status.changedAt = Date.now();
    e.status.reason = result.message;
    this.#onTransition({ target: e.target, from, to, result });
  }
}
