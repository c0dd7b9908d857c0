// election.ts — who of two directors holds the VIPs, decided as VRRP (RFC 5798 §6.4) decides it:
// the master advertises every interval; a backup that hears nothing for three intervals plus a
// skew (shorter for a higher priority) takes over; a higher priority preempts a lower one (if
// preempt is on); equal priorities are broken by the higher address; a master that stops
// cleanly advertises priority 0 so its backup takes over after the skew alone.

export type HaState = 'backup' | 'master' | 'stopped';

export interface ElectionOptions {
  priority: number;
  preempt: boolean;
  advertIntervalMs: number;
  initialState: 'master' | 'backup';
  /** this director's address, for breaking ties */
  self: string;
}

export interface ElectionHooks {
  /** send an advertisement with this priority (0: resigning) */
  advertise(priority: number): void;
  /** the role changed from `previous`; `why` is for the log */
  changed(state: HaState, why: string, previous: HaState): void;
}

/** Timers are injected so the state machine can be tested without waiting. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** addressOrder compares dotted quads numerically */
function addressOrder(a: string, b: string): number {
  const n = (s: string) => s.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
  return n(a) - n(b);
}

export class Election {
  #o: ElectionOptions;
  #hooks: ElectionHooks;
  #timers: Timers;
  #state: HaState = 'stopped';
  #timer: unknown = null;
  /** when the state last changed (ms since epoch) and how many times */
  since = 0;
  transitions = 0;

  constructor(o: ElectionOptions, hooks: ElectionHooks, timers: Timers = realTimers) {
    this.#o = o;
    this.#hooks = hooks;
    this.#timers = timers;
  }

  get state(): HaState {
    return this.#state;
  }

  /** skew: (256 - priority) / 256 of an interval, so a higher priority wins a race */
  get skewMs(): number {
    return Math.round(((256 - this.#o.priority) * this.#o.advertIntervalMs) / 256);
  }

  get masterDownMs(): number {
    return 3 * this.#o.advertIntervalMs + this.skewMs;
  }

  start(): void {
    if (this.#o.initialState === 'master') this.#becomeMaster('configured as master');
    else this.#becomeBackup('starting', this.masterDownMs);
  }

  /** onAdvert takes an advertisement heard from the peer */
  onAdvert(priority: number, from: string): void {
    if (this.#state === 'stopped') return;
    if (this.#state === 'backup') {
      if (priority === 0) {
        // the master resigned: take over after the skew, not three intervals
        this.#arm(this.skewMs);
      } else if (!this.#o.preempt || priority >= this.#o.priority) {
        this.#arm(this.masterDownMs);
      }
      // a lower priority master with preempt on: ignore it, the timer makes us master
      return;
    }
    if (priority === 0) {
      // the peer resigned while we are master: assert ourselves at once
      this.#hooks.advertise(this.#o.priority);
      return;
    }
    const peerWins = priority > this.#o.priority || (priority === this.#o.priority && addressOrder(from, this.#o.self) > 0);
    if (peerWins) this.#becomeBackup(`peer ${from} advertises priority ${priority}`, this.masterDownMs);
    else this.#hooks.advertise(this.#o.priority);
  }

  /** stop resigns (a master advertises priority 0) and stops every timer */
  stop(): void {
    if (this.#state === 'master') this.#hooks.advertise(0);
    this.#clear();
    this.#state = 'stopped';
  }

  #becomeMaster(why: string): void {
    this.#set('master', why);
    this.#hooks.advertise(this.#o.priority);
    const tick = () => {
      this.#hooks.advertise(this.#o.priority);
      this.#timer = this.#timers.set(tick, this.#o.advertIntervalMs);
    };
    this.#clear();
    this.#timer = this.#timers.set(tick, this.#o.advertIntervalMs);
  }

  #becomeBackup(why: string, waitMs: number): void {
    this.#set('backup', why);
    this.#arm(waitMs);
  }

  #arm(ms: number): void {
    this.#clear();
    this.#timer = this.#timers.set(() => this.#becomeMaster('no advertisement from the master'), ms);
  }

  #clear(): void {
    if (this.#timer !== null) this.#timers.clear(this.#timer);
    this.#timer = null;
  }

  #set(state: HaState, why: string): void {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.since = Date.now();
    this.transitions++;
    this.#hooks.changed(state, why, previous);
  }
}
