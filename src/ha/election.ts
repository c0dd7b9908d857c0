// election.ts — the VRRP state machine of one virtual router, RFC 5798 §6.4 (version 3) and
// RFC 3768 §6.4 (version 2): who holds the addresses, and when that changes. It knows nothing
// of packets: vrrp.ts hands it advertisements that passed every check, and it asks for
// advertisements to be sent. Timers are injected, so every transition is tested with a fake
// clock (test/ha/election.test.ts).
//
//   Initialize ── priority 255 (address owner) ───────────────────────────────► Master
//       └──────── otherwise: wait Master_Down_Interval (or, as keepalived's `state MASTER`,
//                 one interval) ─────────────────────────────────────────────► Backup
//   Backup ── Master_Down_Timer fires ──────────────────────────────────────► Master
//   Master ── advert with a higher priority (or equal and a higher address) ─► Backup
//   Master ── stop: advertise priority 0 (the backup takes over after its skew) ► stopped
import { ipv4ToNumber } from '../model/address.js';

export type HaState = 'backup' | 'master' | 'stopped';

export interface ElectionOptions {
  /** 1..255; 255 is the address owner (RFC 5798 §5.2.4) */
  priority: number;
  preempt: boolean;
  /** keepalived's preempt_delay: a lower-priority master is left in place this long after it is first heard */
  preemptDelayMs?: number;
  /** Advertisement_Interval, as configured */
  advertIntervalMs: number;
  /** 3 (RFC 5798) or 2 (RFC 3768): they compute the skew differently */
  version?: 2 | 3;
  /**
   * 'master': take the role unless another master speaks within one interval (keepalived's
   * `state MASTER`); 'backup': wait Master_Down_Interval first. Priority 255 is master at once.
   */
  initialState: 'master' | 'backup';
  /** this router's primary address: breaks a tie of priorities (RFC 5798 §6.4.3) */
  self: string;
}

export interface ElectionHooks {
  /** send an advertisement with this priority (0: resigning) */
  advertise(priority: number): void;
  /** the role changed from `previous`; `why` is for the log */
  changed(state: HaState, why: string, previous: HaState): void;
}

/** An advertisement that passed every check of vrrp.ts. */
export interface HeardAdvert {
  priority: number;
  /** the Max Advertise Interval it carries (version 3; version 2 carries the configured one) */
  intervalMs: number;
  /** its IP source: the sender's primary address */
  from: string;
}

/** Timers are injected so the state machine can be tested without waiting. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  /** milliseconds, for the preemption delay (default Date.now) */
  now?(): number;
}

const realTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

export class Election {
  #o: Required<ElectionOptions>;
  #hooks: ElectionHooks;
  #timers: Timers;
  #state: HaState = 'stopped';
  #timer: unknown = null;
  /** Master_Adver_Interval: the master's, as learnt from its adverts (RFC 5798 §6.1) */
  #masterIntervalMs: number;
  /** when a lower-priority master was first heard while preempt_delay holds us back */
  #preemptFrom: number | null = null;
  /** the master we last accepted an advertisement from, and its priority */
  masterAddress: string | null = null;
  masterPriority = 0;
  /** when the state last changed (ms since epoch) and how many times */
  since = 0;
  transitions = 0;

  constructor(o: ElectionOptions, hooks: ElectionHooks, timers: Timers = realTimers) {
    this.#o = { preemptDelayMs: 0, version: 3, ...o };
    this.#hooks = hooks;
    this.#timers = timers;
    this.#masterIntervalMs = o.advertIntervalMs;
  }

  get state(): HaState {
    return this.#state;
  }

  get priority(): number {
    return this.#o.priority;
  }

  get masterIntervalMs(): number {
    return this.#masterIntervalMs;
  }

  /**
   * Skew_Time: version 3, ((256 - Priority) * Master_Adver_Interval) / 256 (RFC 5798 §6.1);
   * version 2, (256 - Priority) / 256 seconds (RFC 3768 §6.1).
   */
  get skewMs(): number {
    return this.#skew(256 - this.#o.priority);
  }

  /** Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time */
  get masterDownMs(): number {
    return 3 * this.#masterIntervalMs + this.skewMs;
  }

  #skew(n: number): number {
    const unit = this.#o.version === 3 ? this.#masterIntervalMs : 1000;
    return Math.round((n * unit) / 256);
  }

  start(): void {
    this.#masterIntervalMs = this.#o.advertIntervalMs;
    if (this.#o.priority === 255) this.#becomeMaster('address owner (priority 255)');
    else if (this.#o.initialState === 'master') this.#becomeBackup('starting as master unless one speaks', this.#masterIntervalMs + this.#skew(1));
    else this.#becomeBackup('starting', this.masterDownMs);
  }

  /** onAdvert takes an advertisement that passed every check (RFC 5798 §6.4.2, §6.4.3). */
  onAdvert(a: HeardAdvert): void {
    if (this.#state === 'stopped') return;
    if (this.#state === 'backup') {
      if (a.priority === 0) {
        // the master resigned: take over after the skew, not the whole Master_Down_Interval
        this.#arm(this.skewMs);
        return;
      }
      if (!this.#o.preempt || a.priority >= this.#o.priority || this.#delayingPreemption()) {
        if (a.priority >= this.#o.priority) this.#preemptFrom = null;
        this.#accept(a);
        this.#arm(this.masterDownMs);
      }
      // else a lower priority with preemption: discarded, the Master_Down_Timer makes us master
      return;
    }
    if (a.priority === 0) {
      // the other one resigned while we are master: assert ourselves at once
      this.#advertiseAndRearm();
      return;
    }
    const wins = a.priority > this.#o.priority ||
      (a.priority === this.#o.priority && ipv4ToNumber(a.from) > ipv4ToNumber(this.#o.self));
    if (wins) {
      this.#accept(a);
      this.#becomeBackup(`${a.from} advertises priority ${a.priority}`, this.masterDownMs);
    } else {
      // RFC 5798 discards it; keepalived answers with an advertisement ("forcing new election")
      // so a lower-priority router that became master by mistake hears us at once
      this.#hooks.advertise(this.#o.priority);
    }
  }

  /**
   * setPriority changes this router's priority (a reload): a master advertises the new one at
   * once, so a backup with a higher one preempts it after its Master_Down_Interval.
   */
  setPriority(priority: number): void {
    if (priority === this.#o.priority) return;
    this.#o.priority = priority;
    if (this.#state === 'master') this.#advertiseAndRearm();
  }

  /** setPreempt changes preemption (a reload); it applies from the next advertisement. */
  setPreempt(preempt: boolean, delayMs: number): void {
    this.#o.preempt = preempt;
    this.#o.preemptDelayMs = delayMs;
    this.#preemptFrom = null;
  }

  /** stop resigns (a master advertises priority 0, RFC 5798 §6.4.3) and stops every timer */
  stop(): void {
    if (this.#state === 'master') this.#hooks.advertise(0);
    this.#clear();
    this.#set('stopped', 'stopping');
  }

  #delayingPreemption(): boolean {
    if (!this.#o.preemptDelayMs) return false;
    const now = this.#timers.now?.() ?? Date.now();
    this.#preemptFrom ??= now;
    return now - this.#preemptFrom < this.#o.preemptDelayMs;
  }

  #accept(a: HeardAdvert): void {
    this.masterAddress = a.from;
    this.masterPriority = a.priority;
    // version 3 backups adopt the master's interval (RFC 5798 §6.4.2); version 2 checked it equals ours
    if (this.#o.version === 3 && a.intervalMs > 0) this.#masterIntervalMs = a.intervalMs;
  }

  #becomeMaster(why: string): void {
    this.#masterIntervalMs = this.#o.advertIntervalMs;
    this.masterAddress = this.#o.self;
    this.masterPriority = this.#o.priority;
    this.#preemptFrom = null;
    // advertise first: a demoted master drops the addresses before our gratuitous ARP (keepalived does the same)
    this.#advertiseAndRearm();
    this.#set('master', why);
  }

  #advertiseAndRearm(): void {
    this.#hooks.advertise(this.#o.priority);
    this.#clear();
    const tick = () => {
      this.#hooks.advertise(this.#o.priority);
      this.#timer = this.#timers.set(tick, this.#o.advertIntervalMs);
    };
    this.#timer = this.#timers.set(tick, this.#o.advertIntervalMs);
  }

  #becomeBackup(why: string, waitMs: number): void {
    this.#set('backup', why);
    this.#arm(waitMs);
  }

  #arm(ms: number): void {
    this.#clear();
    this.#timer = this.#timers.set(() => this.#becomeMaster('no advertisement from a master'), ms);
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
