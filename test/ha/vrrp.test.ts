// What a VRRP endpoint sends and which advertisements it lets through to the election: every
// check of RFC 5798 §7.1 / RFC 3768 §7.1 as keepalived applies it, one drop reason each, and
// the HMAC trailer between wlvs peers (keepalived's plain advertisements fail it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../src/log.js';
import type { VrrpSpec } from '../../src/model/spec.js';
import { Authenticator } from '../../src/ha/auth.js';
import { VrrpEndpoint } from '../../src/ha/vrrp.js';
import {
  AUTH_NONE, AUTH_PASS, type Advert, VRRP_GROUP, VRRP_GROUP_MAC, decodeAdvert, encodeAdvert, parseIpv4Frame,
  passwordData, virtualMac, vrrpFrame,
} from '../../src/ha/vrrp-packet.js';

const ME = { mac: '02:00:00:00:0c:02', address: '10.99.1.2' };
const PEER = '10.99.1.4';
const PEER_MAC = '02:00:00:00:0c:04';
const ADDRS = ['10.99.1.100', '10.99.2.1'];
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

function endpoint(o: Partial<VrrpSpec> = {}, x: { intervalMs?: number; auth?: Authenticator } = {}) {
  const lines: Record<string, unknown>[] = [];
  const sent: Uint8Array[] = [];
  const info = (o: Record<string, unknown>) => lines.push(o);
  const log = { info, warn() {}, error() {}, debug() {} } as unknown as Logger;
  const spec: VrrpSpec = {
    version: 3, device: 'wlvs-ext', checksum: 'pseudo-header', unicastPeers: [], virtualMac: false, auth: 'none', password: null, ...o,
  };
  const e = new VrrpEndpoint(spec, 51, x.intervalMs ?? 300, x.auth ?? null, {
    log, self: () => ME, addresses: () => ADDRS, peerMac: (a) => (a === PEER ? PEER_MAC : null),
    send: (f) => sent.push(f), now: () => 0,
  });
  return { e, lines, sent };
}

const advert = (o: Partial<Advert> = {}): Advert => ({
  version: 3, vrid: 51, priority: 100, interval: 30, addresses: ADDRS, authType: AUTH_NONE,
  authData: new Uint8Array(8), ...o,
});

/** a frame from the peer; `mode` is the checksum the sender computed */
function from(a: Advert, o: { dst?: string; ttl?: number; src?: string; mode?: 'pseudo-header' | 'no-pseudo-header'; tail?: Uint8Array } = {}) {
  const src = o.src ?? PEER;
  const dst = o.dst ?? VRRP_GROUP;
  const msg = encodeAdvert(a, { src, dst }, o.mode ?? 'pseudo-header');
  const f = vrrpFrame({ srcMac: PEER_MAC, dstMac: dst === VRRP_GROUP ? VRRP_GROUP_MAC : ME.mac, src, dst, id: 1,
    payload: o.tail ? Buffer.concat([msg, o.tail]) : msg });
  if (o.ttl !== undefined) {
    f[22] = o.ttl;
    // the IP header checksum is not what the endpoint checks (the core did); keep it honest anyway
    f[24] = 0;
    f[25] = 0;
  }
  return f;
}

describe('VRRP endpoint: receipt', () => {
  it('lets a good advertisement through with its priority, interval and sender', () => {
    const { e } = endpoint();
    const heard = e.receive(from(advert({ priority: 200, interval: 100 })));
    assert.deepEqual(heard, { priority: 200, intervalMs: 1000, from: PEER });
    assert.equal(e.stats.received, 1);
  });

  const cases: [string, () => ReturnType<typeof endpoint>, () => Uint8Array, string][] = [
    ['TTL other than 255 on multicast', endpoint, () => from(advert(), { ttl: 254 }), 'ttl'],
    ['another VRID', endpoint, () => from(advert({ vrid: 52 })), 'vrid'],
    ['version 2 where 3 is configured', endpoint, () => from(advert({ version: 2, interval: 1 })), 'version'],
    ['a bad checksum (the other variant)', endpoint, () => from(advert(), { mode: 'no-pseudo-header' }), 'checksum'],
    ['bytes after the message (no HMAC configured)', endpoint, () => from(advert(), { tail: new Uint8Array(4) }), 'length'],
    ['one address too few', endpoint, () => from(advert({ addresses: ADDRS.slice(0, 1) })), 'addresses'],
    ['one address too many', endpoint, () => from(advert({ addresses: [...ADDRS, '10.99.1.101'] })), 'addresses'],
    ['the right count, another address', endpoint, () => from(advert({ addresses: ['10.99.1.100', '10.99.2.9'] })), 'addresses'],
    ['unicast where multicast is configured', endpoint, () => from(advert(), { dst: ME.address }), 'cast'],
    ['multicast where unicast peers are configured', () => endpoint({ unicastPeers: [PEER] }), () => from(advert()), 'cast'],
    ['unicast from an address that is no peer', () => endpoint({ unicastPeers: [PEER] }), () => from(advert(), { dst: ME.address, src: '10.99.1.66' }), 'unicast_source'],
    ['v2: no authentication where pass is configured', () => endpoint({ version: 2, auth: 'pass', password: 'secret' }, { intervalMs: 1000 }),
      () => from(advert({ version: 2, interval: 1 })), 'auth_type'],
    ['v2: a wrong password', () => endpoint({ version: 2, auth: 'pass', password: 'secret' }, { intervalMs: 1000 }),
      () => from(advert({ version: 2, interval: 1, authType: AUTH_PASS, authData: passwordData('guess') })), 'auth'],
    ['v2: another interval (RFC 3768 §7.1)', () => endpoint({ version: 2 }, { intervalMs: 1000 }), () => from(advert({ version: 2, interval: 2 })), 'interval'],
    ['HMAC configured, none sent (a keepalived peer)', () => endpoint({ auth: 'hmac' }, { auth: new Authenticator(KEY) }), () => from(advert()), 'unauthenticated'],
    ['HMAC configured, a forged trailer', () => endpoint({ auth: 'hmac' }, { auth: new Authenticator(KEY) }),
      () => from(advert(), { tail: new Uint8Array(36) }), 'unauthenticated'],
    ['our own advertisement', endpoint, () => from(advert(), { src: ME.address }), 'own'],
    ['not VRRP', endpoint, () => { const f = from(advert()); f[23] = 17; return f; }, 'malformed'],
  ];
  for (const [name, mk, frame, reason] of cases) {
    it(`ignores ${name} (counted as ${reason}${reason === 'own' ? '' : ', logged'})`, () => {
      const { e, lines } = mk();
      assert.equal(e.receive(frame()), null);
      assert.equal(e.stats.dropped[reason as keyof typeof e.stats.dropped], 1);
      assert.equal(e.stats.received, 0);
      if (reason !== 'own') assert.equal(lines[0]?.reason, reason);
    });
  }

  it('accepts the address list in any order (keepalived checks count and membership)', () => {
    const { e } = endpoint();
    assert.ok(e.receive(from(advert({ addresses: [...ADDRS].reverse() }))));
  });

  it('v2 with the right password and interval passes; TTL is not checked on unicast', () => {
    const { e } = endpoint({ version: 2, auth: 'pass', password: 'secret', unicastPeers: [PEER] }, { intervalMs: 1000 });
    assert.deepEqual(e.receive(from(advert({ version: 2, interval: 1, authType: AUTH_PASS, authData: passwordData('secret') }), { dst: ME.address, ttl: 3 })),
      { priority: 100, intervalMs: 1000, from: PEER });
  });

  it('logs a repeated drop once a minute, counting the rest', () => {
    const { e, lines } = endpoint();
    for (let i = 0; i < 5; i++) e.receive(from(advert({ vrid: 9 })));
    assert.equal(e.stats.dropped.vrid, 5);
    assert.equal(lines.length, 1);
  });
});

describe('VRRP endpoint: sending', () => {
  const parse = (f: Uint8Array, mode: 'pseudo-header' | 'no-pseudo-header' = 'pseudo-header') => {
    const p = parseIpv4Frame(f)!;
    const d = decodeAdvert(p.payload, { src: p.src, dst: p.dst }, mode);
    assert.ok(!('error' in d));
    return { p, ...d };
  };

  it('multicasts from the device address, TTL 255, the interval in centiseconds, our addresses', () => {
    const { e, sent } = endpoint();
    e.advertise(150);
    const { p, advert: a } = parse(sent[0]);
    assert.deepEqual([p.src, p.dst, p.ttl, p.dstMac, p.srcMac], [ME.address, VRRP_GROUP, 255, VRRP_GROUP_MAC, ME.mac]);
    assert.deepEqual([a.version, a.vrid, a.priority, a.interval, a.addresses], [3, 51, 150, 30, ADDRS]);
  });

  it('unicasts to each resolved peer; an unresolved one is counted', () => {
    const { e, sent } = endpoint({ unicastPeers: [PEER, '10.99.1.5'] });
    e.advertise(100);
    assert.equal(sent.length, 1);
    assert.deepEqual([parse(sent[0]).p.dst, parse(sent[0]).p.dstMac], [PEER, PEER_MAC]);
    assert.equal(e.stats.unsent, 1);
  });

  it('sends from the virtual MAC when configured, v2 with the password and seconds, the other checksum', () => {
    const a = endpoint({ virtualMac: true });
    a.e.advertise(100);
    assert.equal(parse(a.sent[0]).p.srcMac, virtualMac(51));
    const b = endpoint({ version: 2, auth: 'pass', password: 'secret' }, { intervalMs: 2000 });
    b.e.advertise(100);
    const v2 = parse(b.sent[0]).advert;
    assert.deepEqual([v2.version, v2.interval, v2.authType, Buffer.from(v2.authData).toString()], [2, 2, AUTH_PASS, 'secret\0\0']);
    const c = endpoint({ checksum: 'no-pseudo-header' });
    c.e.advertise(100);
    assert.ok(parse(c.sent[0], 'no-pseudo-header'));
  });

  it('two wlvs peers with the same key accept each other\'s HMAC adverts, once each', () => {
    const tx = endpoint({ auth: 'hmac' }, { auth: new Authenticator(KEY) });
    const rx = endpoint({ auth: 'hmac' }, { auth: new Authenticator(KEY) });
    tx.e.advertise(120);
    const f = tx.sent[0].slice();
    // the sender is "the peer" for the receiver: rewrite nothing but who the receiver is
    const heard = new VrrpEndpoint({ ...rxSpec() }, 51, 300, new Authenticator(KEY), rxIo());
    assert.deepEqual(heard.receive(f), { priority: 120, intervalMs: 300, from: ME.address });
    assert.equal(heard.receive(f), null, 'the same advertisement again is a replay');
    assert.equal(heard.stats.dropped.replayed, 1);
    // a plain receiver (no HMAC configured) sees bytes after the advertisement: keepalived drops those too
    assert.equal(rx.e.receive(f), null);
    const other = new VrrpEndpoint(rxSpec(), 51, 300, new Authenticator(Buffer.from('another key of at least 16 B')), rxIo());
    tx.e.advertise(120);
    assert.equal(other.receive(tx.sent[1]), null);
    assert.equal(other.stats.dropped.unauthenticated, 1);
  });
});

function rxSpec(): VrrpSpec {
  return { version: 3, device: 'x', checksum: 'pseudo-header', unicastPeers: [], virtualMac: false, auth: 'hmac', password: null };
}
function rxIo() {
  const log = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;
  return {
    log, self: () => ({ mac: PEER_MAC, address: PEER }), addresses: () => ADDRS, peerMac: () => null,
    send() {}, now: () => 0,
  };
}
