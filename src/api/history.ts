// history.ts — the dashboard's memory of the last minutes: every `intervalMs` the API process
// samples the control plane's counters (services, real servers, drops, sessions) into a ring of
// `capacity` samples and answers rates between neighbours. The data path pays nothing: it reads
// counters the core keeps anyway, once a second, like a Prometheus scrape.
import type { ControlPlane, Counters } from '../director/control-plane.js';
import { realServerKey } from '../model/spec.js';

export interface CounterSet { conns: number; inpkts: number; outpkts: number; inbytes: number; outbytes: number }

export interface Rates { cps: number; inpps: number; outpps: number; inbps: number; outbps: number }

interface Sample {
  /** wall-clock ms */
  t: number;
  /** by service name, and by "service/address:port" */
  counters: Map<string, CounterSet>;
  drops: Record<string, number>;
  received: number;
  dropped: number;
  sessions: number;
}

export const numbers = (c: Counters): CounterSet => ({
  conns: Number(c.conns), inpkts: Number(c.inPackets), outpkts: Number(c.outPackets),
  inbytes: Number(c.inBytes), outbytes: Number(c.outBytes),
});

export const ZERO_RATES: Rates = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };

/**
 * ratesBetween: per-second rates between two counter sets `dt` seconds apart (bytes per second,
 * as ipvsadm --rate's InBPS); a counter that went back (a reload reused its slot) gives 0.
 */
export function ratesBetween(a: CounterSet, b: CounterSet, dt: number): Rates {
  const r = (x: number, y: number) => (dt > 0 && y >= x ? (y - x) / dt : 0);
  return {
    cps: r(a.conns, b.conns), inpps: r(a.inpkts, b.inpkts), outpps: r(a.outpkts, b.outpkts),
    inbps: r(a.inbytes, b.inbytes), outbps: r(a.outbytes, b.outbytes),
  };
}

/** The time series the dashboard draws: one value per sample after the first, per series. */
export interface Series {
  interval_s: number;
  /** seconds since the epoch of each point */
  t: number[];
  services: Record<string, { cps: number[]; inbps: number[]; outbps: number[]; inpps: number[]; outpps: number[] }>;
  /** drops per second by reason: only reasons that dropped something in the window */
  drops: Record<string, number[]>;
  received_pps: number[];
  sessions: number[];
}

/** History keeps the last `capacity` samples of the counters the dashboard shows. */
export class History {
  readonly intervalMs: number;
  readonly capacity: number;
  #cp: ControlPlane;
  #ring: Sample[] = [];
  #timer: NodeJS.Timeout | null = null;
  #listeners: (() => void)[] = [];

  constructor(cp: ControlPlane, opts: { intervalMs?: number; capacity?: number } = {}) {
    this.#cp = cp;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.capacity = opts.capacity ?? 300;
  }

  /** start samples now and every interval; `onSample` listeners run after each */
  start(): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  onSample(fn: () => void): () => void {
    this.#listeners.push(fn);
    return () => { this.#listeners = this.#listeners.filter((f) => f !== fn); };
  }

  /** sample reads the counters once (`now` for tests) */
  sample(now = Date.now()): void {
    const counters = new Map<string, CounterSet>();
    for (const s of this.#cp.services()) {
      counters.set(s.spec.name, numbers(s.counters));
      for (const r of s.realServers) if (r.counters) counters.set(`${s.spec.name}/${realServerKey(r)}`, numbers(r.counters));
    }
    const t = this.#cp.totals();
    const drops: Record<string, number> = {};
    for (const [k, v] of Object.entries(t.drops)) drops[k] = Number(v);
    const sessions = this.#cp.sessionTable().count;
    this.#ring.push({ t: now, counters, drops, received: Number(t.received), dropped: Number(t.dropped), sessions });
    if (this.#ring.length > this.capacity) this.#ring.shift();
    for (const fn of this.#listeners) fn();
  }

  /** the rates of `key` (a service name, or "service/address:port") over the last interval */
  rates(key: string): Rates {
    const [a, b] = this.#ring.slice(-2);
    const x = a?.counters.get(key);
    const y = b?.counters.get(key);
    return x && y ? ratesBetween(x, y, (b.t - a.t) / 1000) : ZERO_RATES;
  }

  /** drops per second by reason over the last interval */
  dropRates(): Record<string, number> {
    const [a, b] = this.#ring.slice(-2);
    const out: Record<string, number> = {};
    if (!a || !b) return out;
    for (const [k, v] of Object.entries(b.drops)) out[k] = Math.max(0, (v - (a.drops[k] ?? 0)) / ((b.t - a.t) / 1000));
    return out;
  }

  get lastSampleAt(): number | null {
    return this.#ring.at(-1)?.t ?? null;
  }

  /** series of the points newer than `sinceMs` (all kept ones by default) */
  series(sinceMs = 0): Series {
    const out: Series = {
      interval_s: this.intervalMs / 1000, t: [], services: {}, drops: {}, received_pps: [], sessions: [],
    };
    const names = this.#cp.services().map((s) => s.spec.name);
    for (const n of names) out.services[n] = { cps: [], inbps: [], outbps: [], inpps: [], outpps: [] };
    const points = this.#ring.map((b, i) => [this.#ring[i - 1], b] as const).slice(1).filter(([, b]) => b.t > sinceMs);
    const reasons = new Set<string>();
    for (const [a, b] of points) {
      for (const [k, v] of Object.entries(b.drops)) if (v > (a.drops[k] ?? 0)) reasons.add(k);
    }
    for (const r of reasons) out.drops[r] = [];
    for (const [a, b] of points) {
      const dt = (b.t - a.t) / 1000;
      out.t.push(b.t / 1000);
      for (const n of names) {
        const x = a.counters.get(n);
        const y = b.counters.get(n);
        const r = x && y ? ratesBetween(x, y, dt) : ZERO_RATES;
        const s = out.services[n];
        for (const k of ['cps', 'inbps', 'outbps', 'inpps', 'outpps'] as const) s[k].push(r[k]);
      }
      for (const r of reasons) out.drops[r].push(Math.max(0, (b.drops[r] - (a.drops[r] ?? 0)) / dt));
      out.received_pps.push(Math.max(0, (b.received - a.received) / dt));
      out.sessions.push(b.sessions);
    }
    return out;
  }
}
