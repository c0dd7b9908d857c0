// The host's half of the SYN-flood defence (src/director/syn-guard.ts), stepped tick by tick with
// an injected clock over real tables (the core harness): the data-path settings it writes, the
// cookie-key rotation, the auto mode's rate trigger and hold, the data path's own triggers as it
// reports them, the log lines of every change, and the configuration that feeds it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { parseConfig } from '../../src/config/load.js';
import { toYaml } from '../../src/config/to-yaml.js';
import { WlvsError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { ServiceSpec } from '../../src/model/spec.js';
import { SynGuard, sharedCookieKeys } from '../../src/director/syn-guard.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, RIPS, VIP, realServerEntry } from '../core/harness.js';
import { decodeFrame, ethernet, tcpPacket } from '../oracle/packet.js';

const BASE = `director:
  devices:
    - { name: wlvs0, kind: tap, addresses: [10.99.2.1/24], bridge: br0 }
services:
  - { name: web, vip: 10.99.100.1, port: 80, real_servers: [{ address: 10.99.2.11 }] }
  - { name: dr, vip: 10.99.100.1, port: 81, forwarding: dr, real_servers: [{ address: 10.99.2.11 }] }
  - { name: dns, vip: 10.99.100.1, port: 53, protocol: udp, real_servers: [{ address: 10.99.2.11 }] }
`;

function fakeLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const rec = (o: Record<string, unknown>) => { lines.push(o); };
  const log = { info: rec, warn: rec, error: rec, debug: rec, child: () => log } as unknown as Logger;
  return { log, lines };
}

function counter(): (n: number) => Uint8Array {
  let k = 0;
  return (n) => new Uint8Array(n).fill(++k);
}

function setup(mode: ServiceSpec['synProxy']) {
  const h = new CoreHarness('release', { sessions: 1024, connExt: true }).standard();
  h.service(0, { forwarding: 'nat', synProxy: mode }, [realServerEntry(0)]);
  const spec = parseConfig(BASE, 'lab.yaml');
  const svc = { ...spec.services[0], synProxy: mode };
  const { log, lines } = fakeLog();
  const services = () => [{ service: svc, index: 0 }];
  const guard = new SynGuard({ tables: h.tables, log, services, random: counter() });
  guard.apply({ ...spec.synFlood, synRate: 100, hold: 2, tableFill: 0.5 }, 1460);
  return { h, guard, lines, syn: (sport: number) => ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport, dport: 80, flags: 'S' })) };
}

describe('SYN guard', () => {
  it('writes the budget, the pressure timeout, the fill trigger and the proxy\'s MSS into the data path', () => {
    const { h } = setup('auto');
    assert.deepEqual(h.tables.embryonic(), { count: 0, max: 256 });
    assert.equal(h.tables.header(abi.HDR_SYN_RECV_PRESSURE), 5000);
    assert.equal(h.tables.header(abi.HDR_SYNPROXY_FILL), 512);
    assert.equal(h.tables.header(abi.HDR_SYNPROXY_OPTS), 1460 | (7 << 16));
  });

  it('rotates the cookie keys into the slot of the new period and keeps the previous one', () => {
    const { h, guard } = setup('on');
    const slot = (c: number) => h.bytes[abi.HEADER_BASE + abi.HDR_COOKIE_KEYS + (c & 1) * abi.COOKIE_KEYS_SIZE];
    const c0 = guard.cookiePeriod;
    assert.equal(h.tables.header(abi.HDR_COOKIE_COUNT), c0);
    const [cur, prev] = [slot(c0), slot(c0 - 1)];
    guard.rotate();
    assert.equal(h.tables.header(abi.HDR_COOKIE_COUNT), (c0 + 1) >>> 0);
    assert.equal(slot(c0), cur, 'the period just ended keeps its keys');
    assert.notEqual(slot(c0 + 1), prev, 'the new period overwrote the one before the last');
  });

  it('auto: on above the SYN rate, held, then off; every change logged', () => {
    const { h, guard, lines, syn } = setup('auto');
    guard.tick(0);
    assert.equal(guard.view().services[0].state, 'auto');
    for (let i = 0; i < 30; i++) h.one(syn(1000 + i), 1);
    guard.tick(100); // 300 SYN/s
    const v = guard.view().services[0];
    assert.deepEqual([v.state, v.reason, v.synRate], ['auto-on', 'rate', 300]);
    assert.ok(h.tables.synProxyOn(0));
    assert.equal(h.tables.sessionCount(), 30);
    const answer = decodeFrame(h.one(syn(2000), 2).out, true).ip!;
    assert.deepEqual([answer.src, answer.tcp!.flags], [VIP, 0x12], 'now answered with a cookie');
    assert.equal(h.tables.sessionCount(), 30);
    guard.tick(1500);
    assert.equal(guard.view().services[0].state, 'auto-on', 'held');
    guard.tick(2200);
    assert.equal(guard.view().services[0].state, 'auto');
    assert.ok(!h.tables.synProxyOn(0));
    const changes = lines.filter((l) => l.event === 'syn_protection').map((l) => `${l.from}->${l.to}:${l.reason}`);
    assert.deepEqual(changes, ['off->auto:null', 'auto->auto-on:rate', 'auto-on->auto:null']);
  });

  it('reports the data path\'s own trigger (embryonic budget full) and the counters', () => {
    const { h, guard, syn } = setup('auto');
    h.tables.setSynFlood({ embryonicMax: 4, synRecvPressureS: 0, proxyFillRecords: 0, mss: 1460, wscale: 7 });
    for (let i = 0; i < 6; i++) h.one(syn(3000 + i), 1);
    guard.tick(0);
    const v = guard.view();
    assert.deepEqual([v.services[0].state, v.services[0].reason], ['auto-on', 'embryonic']);
    assert.deepEqual(v.embryonic, { count: 4, max: 4 });
    assert.equal(v.syns, 6);
    assert.equal(v.cookies.sent, 2, 'the core answered the last two itself');
  });

  it('forced and off', () => {
    const on = setup('on');
    on.guard.tick(0);
    assert.equal(on.guard.view().services[0].state, 'forced');
    const off = setup('off');
    off.guard.tick(0);
    assert.equal(off.guard.view().services[0].state, 'off');
  });
});

describe('SYN-cookie keys shared by the directors of a sync link', () => {
  const SECRET = new Uint8Array(32).fill(0x5a);
  const PERIOD = 60;

  function director(secret: Uint8Array | null, wall: { ms: number }, random: (n: number) => Uint8Array) {
    const h = new CoreHarness('release', { sessions: 1024, connExt: true }).standard();
    h.service(0, { forwarding: 'nat', synProxy: 'on' }, [realServerEntry(0)]);
    const spec = parseConfig(BASE, 'lab.yaml');
    const svc = { ...spec.services[0], synProxy: 'on' as const };
    const guard = new SynGuard({
      tables: h.tables, log: fakeLog().log, services: () => [{ service: svc, index: 0 }], random,
      sharedSecret: secret, wallClock: () => wall.ms,
    });
    guard.apply({ ...spec.synFlood, secretPeriod: PERIOD }, 1460);
    return { h, guard };
  }
  const keysOf = (h: CoreHarness, c: number) =>
    Buffer.from(h.bytes.subarray(abi.HEADER_BASE + abi.HDR_COOKIE_KEYS + (c & 1) * abi.COOKIE_KEYS_SIZE,
      abi.HEADER_BASE + abi.HDR_COOKIE_KEYS + ((c & 1) + 1) * abi.COOKIE_KEYS_SIZE)).toString('hex');
  const client = (t: Record<string, unknown>) =>
    ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport: 41000, dport: 80, ...t } as never));

  it('derives the same keys on both directors, numbered by the wall clock, and turns with it', () => {
    const wall = { ms: 1_700_000_000_000 };
    const a = director(SECRET, wall, counter());
    const b = director(SECRET, wall, (n) => new Uint8Array(n).fill(0xee));
    const c = Math.floor(wall.ms / 1000 / PERIOD);
    assert.deepEqual([a.guard.cookiePeriod, b.guard.cookiePeriod], [c, c]);
    assert.equal(a.h.tables.header(abi.HDR_COOKIE_COUNT), c);
    assert.equal(a.guard.view().cookieKeys, 'shared');
    for (const p of [c - 1, c]) {
      assert.equal(keysOf(a.h, p), keysOf(b.h, p));
      assert.equal(keysOf(a.h, p), Buffer.from(sharedCookieKeys(SECRET, p)).toString('hex'));
    }
    assert.notEqual(keysOf(a.h, c), keysOf(a.h, c - 1), 'every period has its own keys');
    // another secret: other keys (HKDF over the key, not a copy of it)
    const other = director(new Uint8Array(32).fill(0x5b), wall, counter());
    assert.notEqual(keysOf(other.h, c), keysOf(a.h, c));
    // within the period nothing turns; at its end both turn together and keep the period before
    const before = keysOf(a.h, c);
    wall.ms = (c + 1) * PERIOD * 1000 - 1;
    a.guard.clock(0);
    assert.equal(a.guard.cookiePeriod, c);
    wall.ms += 1;
    a.guard.clock(0);
    b.guard.clock(0);
    assert.deepEqual([a.guard.cookiePeriod, b.guard.cookiePeriod], [c + 1, c + 1]);
    assert.equal(keysOf(a.h, c), before, 'the period just ended keeps its keys');
    assert.equal(keysOf(a.h, c + 1), keysOf(b.h, c + 1));
    // a director that was asleep for periods catches up to the clock at once
    wall.ms += 10 * PERIOD * 1000;
    a.guard.clock(0);
    assert.equal(a.guard.cookiePeriod, c + 11);
    assert.equal(keysOf(a.h, c + 10), Buffer.from(sharedCookieKeys(SECRET, c + 10)).toString('hex'));
  });

  it('a client whose SYN-ACK came from one director gets in through the other (takeover in the handshake)', () => {
    const wall = { ms: 1_700_000_030_000 };
    const a = director(SECRET, wall, counter());
    const b = director(SECRET, wall, (n) => new Uint8Array(n).fill(0xee));
    const sa = decodeFrame(a.h.one(client({ flags: 'S', seq: 7000, options: [2, 4, 5, 180] }), 10).out, true).ip!;
    assert.equal(sa.tcp!.flags, 0x12);
    // the pair turns a period between the SYN-ACK and the ACK: the cookie is still one period old
    wall.ms += PERIOD * 1000;
    b.guard.clock(0);
    const r = b.h.one(client({ flags: 'A', seq: 7001, ack: (sa.tcp!.seq! + 1) >>> 0 }), 20);
    assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${abi.DROP_REASON_NAMES[r.reason]}`);
    const syn = decodeFrame(r.out, true).ip!;
    assert.deepEqual([syn.dst, syn.tcp!.flags, syn.tcp!.seq], [RIPS[0], 0x02, 7000], 'B opens the server with the client\'s ISN');
    assert.equal(b.h.tables.stat(abi.STAT_COOKIES_OK), 1n);
    // the same ACK at a director with keys of its own is refused: what sharing fixes
    const lone = director(null, wall, counter());
    assert.equal(lone.guard.view().cookieKeys, 'local');
    const refused = lone.h.one(client({ flags: 'A', seq: 7001, ack: (sa.tcp!.seq! + 1) >>> 0 }), 20);
    assert.equal(refused.reason, abi.DROP_BAD_COOKIE);
  });
});

describe('SYN flood configuration', () => {
  it('defaults: auto for TCP over NAT/Full-NAT, off where there is no return path or no TCP', () => {
    const s = parseConfig(BASE, 'lab.yaml');
    assert.deepEqual(s.services.map((x) => x.synProxy), ['auto', 'off', 'off']);
    assert.deepEqual(s.synFlood, {
      embryonicShare: 0.25, pressureTimeout: 5, synRate: 20000, tableFill: 0.5, hold: 10, mss: null, wscale: 7,
      secretPeriod: 60,
    });
  });

  it('refuses a SYN proxy on DR or UDP, with the location', () => {
    for (const [svc, msg] of [['dr', /needs the return path/], ['dns', /for TCP services/]] as const) {
      const text = BASE.replace(`name: ${svc},`, `name: ${svc}, syn_proxy: on,`);
      assert.throws(() => parseConfig(text, 'lab.yaml'), (e: unknown) => WlvsError.is(e) && msg.test(e.message) && /lab\.yaml:\d+:\d+/.test(e.message));
    }
    assert.throws(() => parseConfig(BASE.replace('name: web,', 'name: web, syn_proxy: sometimes,'), 'x'), /expected one of off, auto, on/);
    assert.throws(() => parseConfig(BASE.replace('    - { name: wlvs0', '  syn_flood: { embryonic_share: 0 }\n  devices:\n    - { name: wlvs0').replace('director:\n  devices:\n', 'director:\n'), 'x'), /embryonic_share/);
  });

  it('reads director.syn_flood and round-trips it and syn_proxy through YAML', () => {
    const text = BASE.replace('director:\n', 'director:\n  syn_flood: { embryonic_share: 0.5, syn_rate: 500, hold: 3, mss: 1400, wscale: 9, secret_period: 30, pressure_timeout: 0, table_fill: 0 }\n')
      .replace('name: web,', 'name: web, syn_proxy: on,');
    const s = parseConfig(text, 'x');
    assert.deepEqual(s.synFlood, {
      embryonicShare: 0.5, pressureTimeout: 0, synRate: 500, tableFill: 0, hold: 3, mss: 1400, wscale: 9,
      secretPeriod: 30,
    });
    assert.equal(s.services[0].synProxy, 'on');
    assert.deepEqual(parseConfig(toYaml(s), 'y'), s);
    assert.deepEqual(parseConfig(toYaml(parseConfig(BASE, 'z')), 'y'), parseConfig(BASE, 'z'));
  });
});
