// Two failover controllers talking over real UDP sockets on loopback, with fake directors behind
// them: the incremental session stream, the bulk transfer a starting backup asks for, and the
// table a master demoted by a higher priority hands over.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import type { HaSpec } from '../../src/model/spec.js';
import type { Logger } from '../../src/log.js';
import { HaController, type HaHost } from '../../src/ha/controller.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** record k: a fake event record whose bytes say which one it is */
function record(k: number, type = abi.EVT_CREATED): Uint8Array {
  const r = new Uint8Array(abi.EVT_SIZE);
  r[abi.EVT_TYPE] = type;
  new DataView(r.buffer).setUint32(abi.EVT_CIP, k, true);
  return r;
}
const idOf = (r: Uint8Array) => new DataView(r.buffer, r.byteOffset).getUint32(abi.EVT_CIP, true);

interface Fake { host: HaHost; table: Uint8Array[]; imported: number[]; emit(e: Uint8Array): void; roles: boolean[] }

function fake(tableSize: number): Fake {
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
  };
  return { host, table, imported, roles, emit: (raw) => listener?.(raw) };
}

function spec(me: number, peer: number, o: Partial<HaSpec>): HaSpec {
  return {
    group: 9, priority: 100, initialState: 'backup', preempt: true, advertIntervalMs: 50,
    listen: { host: '127.0.0.1', port: me }, peer: { host: '127.0.0.1', port: peer },
    virtualAddresses: [], syncSessions: true, ...o,
  };
}

describe('failover controller over loopback', () => {
  it('streams new sessions to the backup, and a starting backup gets the whole table', async () => {
    const base = 20000 + (process.pid % 2000) * 4;
    const fm = fake(500);
    const fb = fake(0);
    const m = new HaController(spec(base, base + 1, { priority: 150, initialState: 'master' }), fm.host);
    const b = new HaController(spec(base + 1, base, { priority: 100 }), fb.host);
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
    const low = fake(300);
    const high = fake(0);
    const a = new HaController(spec(base, base + 1, { priority: 100, initialState: 'master' }), low.host);
    try {
      await a.start();
      await sleep(200);
      // the higher priority director comes up (as a backup) and preempts
      const h = new HaController(spec(base + 1, base, { priority: 200 }), high.host);
      try {
        await h.start();
        await sleep(800);
        assert.equal(h.state, 'master');
        assert.equal(a.state, 'backup');
        assert.deepEqual(low.roles, [true, false]);
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

  it('ignores datagrams from anything but the peer', async () => {
    const base = 24000 + (process.pid % 2000);
    const f = fake(0);
    const c = new HaController(spec(base, base + 50, {}), f.host);
    try {
      await c.start();
      const { createSocket } = await import('node:dgram');
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.send(Buffer.from('WLVS\x01\x01\x09\xff\x00\x00\x00\x00', 'latin1'), base, '127.0.0.1', () => r()));
      s.close();
      await sleep(100);
      assert.equal(c.stats.datagramsRejected, 1);
      assert.equal(c.stats.advertsReceived, 0);
    } finally {
      await c.stop();
    }
  });
});
