// Failover controllers with fake directors behind them: their VRRP advertisements cross a fake
// segment, their session sync runs over real UDP sockets on loopback with HMAC trailers. The
// incremental session stream, the bulk transfer a starting backup asks for, the table a master
// demoted by a higher priority hands over, and what the sync link refuses: datagrams from
// anyone but the peer, forged ones that claim to be it, and replays of genuine ones.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import * as abi from '../../src/dataplane/abi.js';
import type { HaSpec } from '../../src/model/spec.js';
import type { Logger } from '../../src/log.js';
import { Authenticator } from '../../src/ha/auth.js';
import { HaController, type HaHost } from '../../src/ha/controller.js';
import { encodeSessions } from '../../src/ha/protocol.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY = Buffer.from('a key both directors read from a file');

/** record k: a fake event record whose bytes say which one it is */
function record(k: number, type = abi.EVT_CREATED): Uint8Array {
  const r = new Uint8Array(abi.EVT_SIZE);
  r[abi.EVT_TYPE] = type;
  new DataView(r.buffer).setUint32(abi.EVT_CIP, k, true);
  return r;
}
const idOf = (r: Uint8Array) => new DataView(r.buffer, r.byteOffset).getUint32(abi.EVT_CIP, true);

/** a segment delivers every VRRP frame sent on it to the other controllers attached */
class Segment {
  #members: { c: HaController; host: HaHost }[] = [];
  attach(c: HaController, host: HaHost): void {
    this.#members.push({ c, host });
  }
  deliver(fromHost: HaHost, frame: Uint8Array): void {
    for (const m of this.#members) if (m.host !== fromHost) setImmediate(() => m.c.onVrrpFrame(frame.slice()));
  }
}

interface Fake { host: HaHost; table: Uint8Array[]; imported: number[]; emit(e: Uint8Array): void; roles: boolean[] }

function fake(tableSize: number, me: number, segment: Segment): Fake {
  const table = Array.from({ length: tableSize }, (_, k) => record(1000 + k));
  const imported: number[] = [];
  const roles: boolean[] = [];
  let listener: ((raw: Uint8Array) => void) | null = null;
  const host: HaHost = {
    log: quiet,
    onEvent: (fn) => { listener = fn; },
    importSynced: (r) => {
      imported.push(idOf(r));
      return abi.SYNC_CREATED;
    },
    roleChanged: (m) => roles.push(m),
    exportSessions: (start, max) => {
      const records = table.slice(start, start + max);
      const next = start + records.length < table.length ? start + records.length : null;
      return { records, next };
    },
    vrrpSelf: () => ({ mac: `02:00:00:00:0c:0${me}`, address: `10.99.1.${me}` }),
    movingAddresses: () => ['10.99.1.100'],
    peerMac: () => null,
    sendVrrp: (f) => segment.deliver(host, f),
  };
  return { host, table, imported, roles, emit: (raw) => listener?.(raw) };
}

function spec(me: number, peer: number, o: Partial<HaSpec>): HaSpec {
  return {
    group: 9, priority: 100, initialState: 'backup', preempt: true, preemptDelayMs: 0, advertIntervalMs: 50,
    vrrp: { version: 3, device: 'd', checksum: 'pseudo-header', unicastPeers: [], virtualMac: false, auth: 'hmac', password: null },
    authKeyFile: null, listen: { host: '127.0.0.1', port: me }, peer: { host: '127.0.0.1', port: peer },
    virtualAddresses: [], syncSessions: true, ...o,
  };
}

function controller(seg: Segment, f: Fake, s: HaSpec, key = KEY): HaController {
  const c = new HaController(s, f.host, { key });
  seg.attach(c, f.host);
  return c;
}

describe('failover controller over loopback', () => {
  it('streams new sessions to the backup, and a starting backup gets the whole table', async () => {
    const base = 20000 + (process.pid % 2000) * 4;
    const seg = new Segment();
    const fm = fake(500, 2, seg);
    const fb = fake(0, 3, seg);
    const m = controller(seg, fm, spec(base, base + 1, { priority: 150, initialState: 'master' }));
    const b = controller(seg, fb, spec(base + 1, base, { priority: 100 }));
    try {
      await m.start();
      await b.start();
      await sleep(400);
      assert.equal(m.state, 'master');
      assert.equal(b.state, 'backup');
      assert.ok(b.stats.syncRequestsSent >= 1);
      // the bulk transfer: every record of the master's table, once
      assert.deepEqual([...fb.imported].sort((x, y) => x - y), fm.table.map(idOf));
      // then the stream: creations and state changes, not expirations
      fm.emit(record(1, abi.EVT_CREATED));
      fm.emit(record(2, abi.EVT_STATE_CHANGED));
      fm.emit(record(3, abi.EVT_EXPIRED));
      await sleep(200);
      assert.deepEqual(fb.imported.slice(500), [1, 2]);
      assert.equal(b.stats.sessionsRefused, 0);
    } finally {
      await m.stop();
      await b.stop();
    }
  });

  it('a master demoted by a higher priority hands its table to the new master', async () => {
    const base = 20002 + (process.pid % 2000) * 4;
    const seg = new Segment();
    const low = fake(300, 2, seg);
    const high = fake(0, 3, seg);
    const a = controller(seg, low, spec(base, base + 1, { priority: 100, initialState: 'master' }));
    try {
      await a.start();
      await sleep(200);
      // the higher priority director comes up (as a backup) and preempts
      const h = controller(seg, high, spec(base + 1, base, { priority: 200 }));
      try {
        await h.start();
        await sleep(800);
        assert.equal(h.state, 'master');
        assert.equal(a.state, 'backup');
        assert.deepEqual(low.roles, [false, true, false], 'starts as backup, master, demoted');
        assert.ok(a.stats.bulkSyncsSent >= 1);
        const got = new Set(high.imported);
        assert.ok(low.table.every((r) => got.has(idOf(r))), `the new master imported ${got.size} of 300`);
      } finally {
        await h.stop();
      }
    } finally {
      await a.stop();
    }
  });

  it('drops datagrams from anything but the peer, forged ones and replays; counts each', async () => {
    const base = 24000 + (process.pid % 2000);
    const seg = new Segment();
    const f = fake(0, 2, seg);
    // no peer runs: the test's socket on the peer's address:port plays it
    const c = controller(seg, f, spec(base, base + 50, { priority: 150, initialState: 'master' }));
    const peer = createSocket('udp4');
    const stranger = createSocket('udp4');
    const send = (s: ReturnType<typeof createSocket>, d: Uint8Array) => new Promise<void>((r) => s.send(d, base, '127.0.0.1', () => r()));
    try {
      await c.start();
      await new Promise<void>((r) => peer.bind(base + 50, '127.0.0.1', () => r()));
      const body = encodeSessions(9, 100, [record(7)])[0];
      const genuine = Buffer.concat([body, new Authenticator(KEY).seal('sync', new Uint8Array(0), body)]);
      // a stranger, even with a genuine datagram
      await send(stranger, genuine);
      // the peer's address and port (what a spoofer on the segment can put in a datagram) without the key
      const forged = Buffer.concat([body, new Authenticator(Buffer.from('a guess at the key, 32 bytes....')).seal('sync', new Uint8Array(0), body)]);
      await send(peer, forged);
      await send(peer, body);
      // the genuine one, once imported, then replayed
      await send(peer, genuine);
      await send(peer, genuine);
      await sleep(150);
      assert.deepEqual(c.stats.syncDropped, { foreign: 1, malformed: 0, unauthenticated: 2, replayed: 1, stale: 0 });
      assert.equal(c.stats.datagramsRejected, 4);
      assert.deepEqual(f.imported, [7]);
    } finally {
      peer.close();
      stranger.close();
      await c.stop();
    }
  });

  it('a backup with another key never hears the master: both end up master (and say why)', async () => {
    const base = 26000 + (process.pid % 2000) * 2;
    const seg = new Segment();
    const fa = fake(0, 2, seg);
    const fb = fake(0, 3, seg);
    const a = controller(seg, fa, spec(base, base + 1, { priority: 150, initialState: 'master' }));
    const b = controller(seg, fb, spec(base + 1, base, { priority: 100 }), Buffer.from('not the key the master has....'));
    try {
      await a.start();
      await b.start();
      await sleep(500);
      assert.deepEqual([a.state, b.state], ['master', 'master']);
      assert.ok(b.vrrpStats!.dropped.unauthenticated > 3);
      assert.equal(b.stats.advertsReceived, 0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('a clean stop resigns: the backup takes over after its skew, not Master_Down_Interval', async () => {
    const base = 28000 + (process.pid % 2000) * 2;
    const seg = new Segment();
    const fa = fake(0, 2, seg);
    const fb = fake(0, 3, seg);
    const a = controller(seg, fa, spec(base, base + 1, { priority: 150, initialState: 'master', advertIntervalMs: 1000 }));
    const b = controller(seg, fb, spec(base + 1, base, { priority: 100, advertIntervalMs: 1000 }));
    try {
      await a.start();
      await b.start();
      await sleep(1400);
      assert.deepEqual([a.state, b.state], ['master', 'backup']);
      const t0 = performance.now();
      await a.stop();
      while (b.state !== 'master' && performance.now() - t0 < 3000) await sleep(10);
      const took = performance.now() - t0;
      // skew (256-100)/256 × 1 s = 609 ms; Master_Down_Interval would be 3.6 s
      assert.ok(b.state === 'master' && took < 1500, `took over after ${Math.round(took)} ms`);
    } finally {
      await b.stop();
    }
  });
});
