// vrrp.ts — one virtual router's advertisements on the wire: what this director sends (to
// 224.0.0.18 or each unicast peer, from its device address, TTL 255, with the configured
// version, checksum and authentication) and which received ones reach the election. Receipt
// follows RFC 5798 §7.1 and RFC 3768 §7.1 in the order keepalived's vrrp_check_packet applies
// them, and drops what keepalived drops: a wrong TTL on multicast, version, type, length or
// checksum; another VRID; a v2 authentication type, password or interval that differs from
// ours; an address list whose count or members differ from ours; multicast where unicast is
// configured and the reverse. Each drop is counted by reason and logged (at most once a minute
// per reason and sender, where keepalived logs each one). With `auth: hmac` (wlvs peers only)
// an advertisement must also carry a valid auth.ts trailer; keepalived's would not, and is
// dropped as unauthenticated.
import type { Logger } from '../log.js';
import { ipv4ToNumber } from '../model/address.js';
import type { VrrpSpec } from '../model/spec.js';
import { type Authenticator, TRAILER_SIZE } from './auth.js';
import type { HeardAdvert } from './election.js';
import {
  AUTH_NONE, AUTH_PASS, type Advert, IPPROTO_VRRP, VRRP_GROUP, VRRP_GROUP_MAC, VRRP_TTL, decodeAdvert, encodeAdvert,
  intervalMs, parseIpv4Frame, passwordData, virtualMac, vrrpFrame,
} from './vrrp-packet.js';

export const DROP_REASONS = [
  'malformed', 'own', 'ttl', 'version', 'type', 'length', 'checksum', 'vrid', 'cast', 'unicast_source',
  'auth_type', 'auth', 'interval', 'addresses', 'unauthenticated', 'replayed', 'stale',
] as const;
export type VrrpDropReason = typeof DROP_REASONS[number];

const LOG_EVERY_MS = 60_000;

/** What the endpoint needs of the director. */
export interface VrrpIo {
  log: Logger;
  /** the VRRP device's MAC and first address (the advertisements' source) */
  self(): { mac: string; address: string };
  /** the addresses that move with the master role, in advertisement order */
  addresses(): string[];
  /** the MAC of a unicast peer, null while unresolved (the director asks for it) */
  peerMac(address: string): string | null;
  send(frame: Uint8Array): void;
  now(): number;
}

export interface VrrpStats {
  sent: number;
  received: number;
  /** advertisements that could not be sent (a unicast peer's MAC unresolved) */
  unsent: number;
  dropped: Record<VrrpDropReason, number>;
}

/** VrrpEndpoint builds and checks the advertisements of one virtual router. */
export class VrrpEndpoint {
  readonly stats: VrrpStats = {
    sent: 0, received: 0, unsent: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<VrrpDropReason, number>,
  };
  #spec: VrrpSpec;
  #vrid: number;
  #intervalMs: number;
  #auth: Authenticator | null;
  #io: VrrpIo;
  #id = 0;
  #logged = new Map<string, { at: number; count: number }>();

  constructor(spec: VrrpSpec, vrid: number, advertIntervalMs: number, auth: Authenticator | null, io: VrrpIo) {
    if (spec.auth === 'hmac' && !auth) throw new TypeError('auth hmac needs an Authenticator');
    this.#spec = spec;
    this.#vrid = vrid;
    this.#intervalMs = advertIntervalMs;
    this.#auth = auth;
    this.#io = io;
  }

  /** the source MAC of advertisements: the virtual router's when configured (RFC 5798 §7.3) */
  get sourceMac(): string {
    return this.#spec.virtualMac ? virtualMac(this.#vrid) : this.#io.self().mac;
  }

  #advert(priority: number): Advert {
    const v2 = this.#spec.version === 2;
    return {
      version: this.#spec.version, vrid: this.#vrid, priority, addresses: this.#io.addresses(),
      interval: v2 ? Math.round(this.#intervalMs / 1000) : Math.round(this.#intervalMs / 10),
      authType: v2 && this.#spec.auth === 'pass' ? AUTH_PASS : AUTH_NONE,
      authData: v2 && this.#spec.auth === 'pass' ? passwordData(this.#spec.password ?? '') : new Uint8Array(8),
    };
  }

  /** advertise sends one advertisement with `priority` to the group or to every unicast peer. */
  advertise(priority: number): void {
    const self = this.#io.self();
    const targets = this.#spec.unicastPeers.length
      ? this.#spec.unicastPeers.map((p) => ({ dst: p, mac: this.#io.peerMac(p) }))
      : [{ dst: VRRP_GROUP, mac: VRRP_GROUP_MAC as string | null }];
    const advert = this.#advert(priority);
    for (const t of targets) {
      if (!t.mac) {
        this.stats.unsent++;
        continue;
      }
      const ends = { src: self.address, dst: t.dst };
      const msg = encodeAdvert(advert, ends, this.#spec.checksum);
      const payload = this.#auth && this.#spec.auth === 'hmac' ? Buffer.concat([msg, this.#auth.seal('vrrp', context(ends), msg)]) : msg;
      const id = ++this.#id;
      this.#io.send(vrrpFrame({ srcMac: this.sourceMac, dstMac: t.mac, src: self.address, dst: t.dst, id, payload }));
      this.stats.sent++;
    }
  }

  /**
   * receive checks a frame the core handed to the host as VRRP; the advertisement for the
   * election, or null when it was dropped (counted) or is not VRRP at all.
   */
  receive(frame: Uint8Array): HeardAdvert | null {
    const f = parseIpv4Frame(frame);
    if (!f || f.proto !== IPPROTO_VRRP) return this.#drop('malformed', f?.src ?? '?');
    const self = this.#io.self();
    if (f.src === self.address) return this.#drop('own', f.src);
    const multicast = f.dst === VRRP_GROUP;
    // RFC 5798 §7.1: MUST verify TTL 255; keepalived does not for unicast (peers may be routed)
    if (multicast && f.ttl !== VRRP_TTL) return this.#drop('ttl', f.src, `TTL ${f.ttl}, expected 255`);
    const p = f.payload;
    if (p.length >= 2 && p[1] !== this.#vrid) return this.#drop('vrid', f.src, `VRID ${p[1]}, ours is ${this.#vrid}`);
    const d = decodeAdvert(p, { src: f.src, dst: f.dst }, this.#spec.checksum);
    if ('error' in d) return this.#drop(d.error, f.src);
    const a = d.advert;
    if (a.version !== this.#spec.version) return this.#drop('version', f.src, `version ${a.version}, ours is ${this.#spec.version}`);
    const msg = p.subarray(0, p.length - d.trailer.length);
    if (this.#spec.auth === 'hmac') {
      if (d.trailer.length !== TRAILER_SIZE) return this.#drop('unauthenticated', f.src, 'no wlvs authentication trailer');
      const r = this.#auth!.open('vrrp', f.src, context({ src: f.src, dst: f.dst }), msg, d.trailer);
      if (r !== 'ok') return this.#drop(r, f.src);
    } else if (d.trailer.length) {
      return this.#drop('length', f.src, `${d.trailer.length} bytes after the advertisement`);
    }
    if (multicast === this.#spec.unicastPeers.length > 0) {
      return this.#drop('cast', f.src, multicast ? 'multicast, but unicast peers are configured' : 'unicast, but no unicast peers are configured');
    }
    if (!multicast && !this.#spec.unicastPeers.includes(f.src)) return this.#drop('unicast_source', f.src, 'not a unicast peer');
    if (a.version === 2) {
      const want = this.#spec.auth === 'pass' ? AUTH_PASS : AUTH_NONE;
      if (a.authType !== want) return this.#drop('auth_type', f.src, `authentication type ${a.authType}, expected ${want}`);
      if (want === AUTH_PASS && !Buffer.from(a.authData).equals(Buffer.from(passwordData(this.#spec.password ?? '')))) {
        return this.#drop('auth', f.src, 'wrong password');
      }
      // RFC 3768 §7.1: MUST verify the interval is ours, or two masters may run at once
      if (intervalMs(2, a.interval) !== Math.round(this.#intervalMs / 1000) * 1000) {
        return this.#drop('interval', f.src, `advertisement interval ${a.interval} s, ours is ${this.#intervalMs / 1000} s`);
      }
    }
    const ours = this.#io.addresses();
    if (a.addresses.length !== ours.length || ours.some((x) => !a.addresses.includes(x))) {
      return this.#drop('addresses', f.src, `addresses [${a.addresses.join(', ')}], ours are [${ours.join(', ')}]`);
    }
    this.stats.received++;
    return { priority: a.priority, intervalMs: intervalMs(a.version, a.interval), from: f.src };
  }

  #drop(reason: VrrpDropReason, from: string, detail?: string): null {
    this.stats.dropped[reason]++;
    if (reason === 'own') return null;
    const key = `${reason}/${from}`;
    const now = this.#io.now();
    const l = this.#logged.get(key);
    if (l && now - l.at < LOG_EVERY_MS) {
      l.count++;
      return null;
    }
    this.#logged.set(key, { at: now, count: 0 });
    this.#io.log.info({ event: 'vrrp_dropped', reason, from, detail, since_last_log: l?.count ?? 0 },
      `VRRP advertisement from ${from} ignored: ${detail ?? reason}`);
    return null;
  }
}

/** what the HMAC of an advertisement binds it to besides its bytes: its source and destination */
function context(ends: { src: string; dst: string }): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, ipv4ToNumber(ends.src));
  dv.setUint32(4, ipv4ToNumber(ends.dst));
  return b;
}
