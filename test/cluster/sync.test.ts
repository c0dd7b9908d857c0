// Session sync among three cluster members on loopback, with fake directors: the stream reaches
// every other member, records carry their owner (by local address), a member that starts late
// gets the others' tables in bulk and is ready only then, and datagrams sealed with another key
// or sent from an address that is no member are dropped and counted.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import * as abi from '../../src/dataplane/abi.js';
import { ClusterSync } from '../../src/cluster/sync.js';
import { Authenticator } from '../../src/ha/auth.js';
import { TYPE_HELLO, encodeControl } from '../../src/ha/protocol.js';
import { createLogger } from '../../src/log.js';
import type { ClusterSpec } from '../../src/model/spec.js';

const KEY = Buffer.alloc(32, 7);
const log = createLogger({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BASE = 20000 + (process.pid % 20000);
const members = ['a', 'b', 'c'].map((name, i) => ({
  name, sync: { host: '127.0.0.1', port: BASE + i }, localAddresses: [`10.99.3.${i + 1}`],
}));

function spec(name: string): ClusterSpec {
  return {
    name,
    bgp: { localAs: 65001, localAddress: '127.0.0.1', localAddress6: null, routerId: '127.0.0.1', neighbors: [], holdTime: 3, keepaliveTime: 1, bfd: null, backupPrepend: 3 },
    bird: { binary: 'bird', stateDir: null }, watchdogMs: 500, withdrawGraceMs: 0, drainDeadlineS: 1, drainQuietMs: 1000,
    members, sync: { authKeyFile: '/nonexistent' },
  };
}

/** a Full-NAT session record as a core writes it, using local address `lip` */
function record(cport: number, lip: string, type: number = abi.EVT_CREATED): Uint8Array {
  const r = new Uint8Array(abi.EVT_SIZE);
  const v = new DataView(r.buffer);
  r[abi.EVT_TYPE] = type;
  r[abi.EVT_PROTO] = abi.IPPROTO_TCP;
  r[abi.EVT_FWD] = abi.FWD_FNAT;
  v.setUint32(abi.EVT_CIP, 0x0a63010a, false);
  v.setUint16(abi.EVT_CPORT, cport, false);
  v.setUint32(abi.EVT_LIP, lip.split('.').reduce((n, x) => n * 256 + Number(x), 0) >>> 0, false);
  return r;
}

class FakeDirector {
  imported: Uint8Array[] = [];
  table: Uint8Array[] = [];
  emit: (raw: Uint8Array) => void = () => undefined;
  readonly sync: ClusterSync;
  constructor(name: string, key = KEY) {
    this.sync = new ClusterSync(spec(name), {
      log,
      onEvent: (fn) => { this.emit = fn; },
      importSynced: (r) => { this.imported.push(r); return abi.SYNC_CREATED; },
      exportSessions: (start, max) => ({
        records: this.table.slice(start, start + max), next: start + max < this.table.length ? start + max : null,
      }),
    }, { key });
  }
}

const running: ClusterSync[] = [];
after(async () => { for (const s of running) await s.stop(); });

async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('cluster session sync', { timeout: 30_000 }, () => {
  const a = new FakeDirector('a');
  const b = new FakeDirector('b');
  const c = new FakeDirector('c');

  it('streams each new session to every other member, stamped with its owner', async () => {
    a.table = [record(1000, '10.99.3.1')];
    for (const d of [a, b]) {
      await d.sync.start();
      running.push(d.sync);
    }
    await until('a and b to hear each other', () => a.sync.members().find((m) => m.name === 'b')!.up &&
      b.sync.members().find((m) => m.name === 'a')!.up);
    // b asked a for its table when it first heard it
    await until('the bulk transfer', () => b.imported.some((r) => new DataView(r.buffer).getUint16(abi.EVT_CPORT, false) === 1000));
    a.emit(record(2000, '10.99.3.1'));
    // a session on b's local address, as a forwards it after b's death: owned by b
    a.emit(record(2001, '10.99.3.2', abi.EVT_STATE_CHANGED));
    // TUN and DR sessions need no sync
    const tun = record(2002, '10.99.3.1');
    tun[abi.EVT_FWD] = abi.FWD_TUN;
    a.emit(tun);
    await until('the stream', () => b.imported.length >= 3);
    await sleep(100);
    const cport = (r: Uint8Array) => new DataView(r.buffer).getUint16(abi.EVT_CPORT, false);
    const got = new Map(b.imported.map((r) => [cport(r), r[abi.EVT_OWNER]]));
    assert.equal(got.get(2000), 1, 'owner a (member 1)');
    assert.equal(got.get(2001), 2, 'owner b (member 2): its local address');
    assert.equal(got.has(2002), false, 'TUN sessions are not synced');
  });

  it('a member that starts late gets both tables in bulk and is ready only then', async () => {
    b.table = Array.from({ length: 3000 }, (_, i) => record(10_000 + i, '10.99.3.2'));
    assert.equal(c.sync.ready, false);
    await c.sync.start();
    running.push(c.sync);
    assert.equal(c.sync.ready, false, 'not before the others answered');
    await until('c ready', () => c.sync.ready, 2500);
    const ports = new Set(c.imported.map((r) => new DataView(r.buffer).getUint16(abi.EVT_CPORT, false)));
    assert.ok(ports.has(1000) && ports.has(10_000) && ports.has(12_999), `${ports.size} sessions imported`);
    assert.deepEqual(c.sync.members().map((m) => [m.name, m.up, m.table_received]), [['a', true, true], ['b', true, true]]);
  });

  it('drops datagrams from outside the cluster or sealed with another key', async () => {
    const before = c.sync.stats.dropped;
    const { unauthenticated, foreign } = { ...before };
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(members[0].sync.port + 10, '127.0.0.1', () => r()));
    const hello = encodeControl(TYPE_HELLO, 0, 1);
    const forged = Buffer.concat([hello, new Authenticator(Buffer.alloc(32, 9)).seal('sync', Buffer.from(`127.0.0.1:${members[2].sync.port}`), hello)]);
    await new Promise<void>((r) => sock.send(forged, members[2].sync.port, '127.0.0.1', () => r()));
    await until('a foreign datagram counted', () => c.sync.stats.dropped.foreign > foreign);
    sock.close();
    // a member with the wrong key: every datagram it sends is refused
    await a.sync.stop();
    const impostor = new FakeDirector('a', Buffer.alloc(32, 9));
    await impostor.sync.start();
    running.push(impostor.sync);
    await until('unauthenticated datagrams counted', () => c.sync.stats.dropped.unauthenticated > unauthenticated);
    const n = c.imported.length;
    impostor.emit(record(3000, '10.99.3.1'));
    await sleep(200);
    assert.equal(c.imported.length, n, 'nothing imported from a wrong key');
  });
});
