// syn-guard.ts — the host's half of the SYN-flood defence: it writes the embryonic budget and the
// SYN proxy's settings into the data path, rotates the SYN-cookie keys every period (the previous
// period's stay valid, so a cookie lives one to two periods, as Linux's minute counter gives it),
// switches auto-mode SYN proxies on above the configured SYN rate and off again after the hold
// time, logs every change of protection state, and reports it (view) for the API and metrics.
// The data path switches an auto-mode proxy on by itself under pressure (embryonic budget full,
// table fill): that reaction takes no host round trip; the host only adds the rate trigger.
// Directors that share a sync key (a failover pair, a cluster) derive the cookie keys from it
// and number the periods by the wall clock, so a cookie one director sent is valid on every
// other: a client whose ACK reaches another director than its SYN (takeover, an ECMP change)
// gets in. The keys never travel: each is HKDF(sync key, period), and a director that learns
// one period's keys learns nothing of the next.
import { hkdfSync, randomBytes } from 'node:crypto';
import * as abi from '../dataplane/abi.js';
import type { Tables } from '../dataplane/tables.js';
import type { Logger } from '../log.js';
import type { ServiceSpec, SynFloodSpec, SynProxyMode } from '../model/spec.js';

/** off; auto (armed, no trigger); auto-on (a trigger fired); forced (syn_proxy: on) */
export type ProtectionState = 'off' | 'auto' | 'auto-on' | 'forced';

export interface ServiceProtection {
  service: string;
  mode: SynProxyMode;
  state: ProtectionState;
  /** what switched it on: rate (host), embryonic or fill (data path); null when not on by a trigger */
  reason: 'rate' | 'embryonic' | 'fill' | null;
  /** SYNs per second to the service over the last sampling interval */
  synRate: number;
}

export interface SynFloodView {
  embryonic: { count: number; max: number };
  /** SYNs that found no session, cookies sent / verified / refused, embryonic sessions evicted */
  syns: number;
  cookies: { sent: number; valid: number; invalid: number };
  evicted: number;
  /** proxy ACKs to real servers not sent for want of an emit slot (the client's data completed those) */
  emitFull: number;
  cookiePeriod: number;
  /** shared: derived from the sync key, the same on every director that has it; local: drawn at random */
  cookieKeys: 'shared' | 'local';
  services: ServiceProtection[];
}

export interface GuardedService { service: ServiceSpec; index: number }

export interface SynGuardOptions {
  tables: Tables;
  log: Logger;
  /** the services and their table indices, as the applier has them now */
  services: () => GuardedService[];
  /** cookie key material (tests pass a deterministic one) */
  random?: (n: number) => Uint8Array;
  /** the sync link's key: derive the cookie keys from it instead of drawing them */
  sharedSecret?: Uint8Array | null;
  /** wall clock in ms (the periods of shared keys follow it) */
  wallClock?: () => number;
}

/** the HKDF salt of cookie keys: a sync key used for anything else derives other keys */
const COOKIE_KEY_SALT = 'wlvs syn-cookie keys v1';

/** sharedCookieKeys: the keys of period `count` every director with `secret` derives */
export function sharedCookieKeys(secret: Uint8Array, count: number): Uint8Array {
  const info = Buffer.alloc(4);
  info.writeUInt32BE(count >>> 0);
  return new Uint8Array(hkdfSync('sha256', secret, COOKIE_KEY_SALT, info, abi.COOKIE_KEYS_SIZE));
}

interface Sample { syns: bigint; at: number; rate: number; lastTrigger: number | null; state: ProtectionState; reason: ServiceProtection['reason'] }

/** SynGuard runs beside a director; call apply() with each spec, tick() often, rotate() every period. */
export class SynGuard {
  #tables: Tables;
  #log: Logger;
  #services: () => GuardedService[];
  #random: (n: number) => Uint8Array;
  #spec: SynFloodSpec | null = null;
  #count = 0;
  #samples = new Map<string, Sample>();
  #secret: Uint8Array | null;
  #wall: () => number;
  #rotatedAt: number | null = null;

  constructor(o: SynGuardOptions) {
    this.#tables = o.tables;
    this.#log = o.log;
    this.#services = o.services;
    this.#random = o.random ?? ((n) => randomBytes(n));
    this.#secret = o.sharedSecret ?? null;
    this.#wall = o.wallClock ?? Date.now;
    // the period counter starts at a random point, as DPVS's does: cookies of an earlier run are
    // not valid in this one (shared keys start at the wall clock's period, in apply())
    this.#count = new DataView(this.#random(4).buffer).getUint32(0, true) >>> 8;
    this.#tables.setCookieKeys(this.#count - 1, this.#random(abi.COOKIE_KEYS_SIZE));
    this.#tables.setCookieKeys(this.#count, this.#random(abi.COOKIE_KEYS_SIZE));
  }

  /** the period the wall clock is in, for shared keys */
  #wallPeriod(): number {
    const period = Math.max(1, this.#spec?.secretPeriod ?? 60);
    return Math.floor(this.#wall() / 1000 / period) >>> 0;
  }

  /** installs the shared keys of period `count` and the one before it, and makes it current */
  #installShared(count: number): void {
    const prev = (count - 1) >>> 0;
    this.#tables.setCookieKeys(prev, sharedCookieKeys(this.#secret!, prev));
    this.#tables.setCookieKeys(count, sharedCookieKeys(this.#secret!, count));
    this.#count = count;
  }

  /** apply writes the data-path settings of `spec`; `defaultMss` applies when it names none. */
  apply(spec: SynFloodSpec, defaultMss: number): void {
    this.#spec = spec;
    if (this.#secret) this.#installShared(this.#wallPeriod());
    const cap = this.#tables.layout.connCap;
    this.#tables.setSynFlood({
      embryonicMax: Math.max(1, Math.floor(spec.embryonicShare * cap)),
      synRecvPressureS: spec.pressureTimeout,
      proxyFillRecords: spec.tableFill > 0 ? Math.max(1, Math.ceil(spec.tableFill * cap)) : 0,
      mss: spec.mss ?? defaultMss,
      wscale: spec.wscale,
    });
  }

  /**
   * rotate starts the next period with fresh local keys; the previous period's keys stay. Shared
   * keys turn with the wall clock instead (clock()).
   */
  rotate(): void {
    this.#count = (this.#count + 1) >>> 0;
    this.#tables.setCookieKeys(this.#count, this.#random(abi.COOKIE_KEYS_SIZE));
  }

  /**
   * clock: call it every second (`mono`: a monotonic ms clock). Local keys rotate one period
   * after the last rotation; shared keys follow the wall clock's period, so every director with
   * the key turns at the same moment (give or take their clocks' skew: a cookie sent within the
   * skew of a turn by the director ahead is refused by the one behind).
   */
  clock(mono: number): void {
    if (this.#secret) {
      const now = this.#wallPeriod();
      if (now !== this.#count) this.#installShared(now);
      return;
    }
    if (this.#rotatedAt === null) this.#rotatedAt = mono;
    if (mono - this.#rotatedAt < (this.#spec?.secretPeriod ?? 60) * 1000) return;
    this.#rotatedAt = mono;
    this.rotate();
  }

  get cookiePeriod(): number {
    return this.#count;
  }

  /** tick samples every service's SYN rate at `now` (ms) and sets the auto-mode proxies. */
  tick(now: number): void {
    const spec = this.#spec;
    if (!spec) return;
    const seen = new Set<string>();
    const { count: embryonic, max } = this.#tables.embryonic();
    const fill = spec.tableFill > 0 ? Math.max(1, Math.ceil(spec.tableFill * this.#tables.layout.connCap)) : 0;
    const coreReason = embryonic >= max ? 'embryonic' : fill && this.#tables.sessionCount() >= fill ? 'fill' : null;
    for (const { service: s, index } of this.#services()) {
      seen.add(s.name);
      const syns = this.#tables.serviceSyns(index);
      let p = this.#samples.get(s.name);
      if (!p) {
        p = { syns, at: now, rate: 0, lastTrigger: null, state: 'off', reason: null };
        this.#samples.set(s.name, p);
      } else if (now > p.at) {
        p.rate = Number(syns - p.syns) / ((now - p.at) / 1000);
        p.syns = syns;
        p.at = now;
      }
      let state: ProtectionState;
      let reason: ServiceProtection['reason'] = null;
      if (s.synProxy === 'off') {
        state = 'off';
      } else if (s.synProxy === 'on') {
        state = 'forced';
      } else {
        const rateHigh = spec.synRate > 0 && p.rate >= spec.synRate;
        if (rateHigh) p.lastTrigger = now;
        const held = p.lastTrigger !== null && now - p.lastTrigger < spec.hold * 1000;
        this.#tables.setSynProxyOn(index, held);
        if (held) reason = 'rate';
        else if (coreReason) reason = coreReason;
        state = reason ? 'auto-on' : 'auto';
      }
      if (state !== p.state || (state === 'auto-on' && reason !== p.reason)) {
        const level = state === 'auto-on' ? 'warn' : 'info';
        this.#log[level]({
          event: 'syn_protection', service: s.name, from: p.state, to: state, reason, syn_rate: Math.round(p.rate),
          embryonic, embryonic_max: max,
        }, `SYN protection of ${s.name}: ${state}${reason ? ` (${reason})` : ''}`);
        p.state = state;
        p.reason = reason;
      }
    }
    for (const k of this.#samples.keys()) if (!seen.has(k)) this.#samples.delete(k);
  }

  /** view reports the defence's counters and every service's protection state. */
  view(): SynFloodView {
    const t = this.#tables;
    const num = (i: number) => Number(t.stat(i));
    return {
      embryonic: t.embryonic(),
      syns: num(abi.STAT_SYN_RECEIVED),
      cookies: {
        sent: num(abi.STAT_COOKIES_SENT), valid: num(abi.STAT_COOKIES_OK), invalid: num(abi.STAT_COOKIES_FAILED),
      },
      evicted: num(abi.STAT_EMBRYONIC_EVICTED),
      emitFull: num(abi.STAT_EMIT_FULL),
      cookiePeriod: this.#count,
      cookieKeys: this.#secret ? 'shared' : 'local',
      services: this.#services().map(({ service: s }) => {
        const p = this.#samples.get(s.name);
        return {
          service: s.name, mode: s.synProxy, state: p?.state ?? (s.synProxy === 'on' ? 'forced' : s.synProxy === 'auto' ? 'auto' : 'off'),
          reason: p?.reason ?? null, synRate: Math.round(p?.rate ?? 0),
        };
      }),
    };
  }
}
