// The authentication of the links between wlvs directors: a trailer that verifies only under the
// key, for the same bytes, stream and context; replays refused within an incarnation (with some
// reordering allowed), across incarnations, and for a receiver that just started (clock window).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Authenticator, TRAILER_SIZE, loadKey } from '../../src/ha/auth.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const CTX = new Uint8Array([10, 0, 0, 1, 224, 0, 0, 18]);
const body = (s: string) => Buffer.from(s);

describe('HMAC trailer', () => {
  it('verifies under the same key only, for the same bytes, stream and context', () => {
    const clock = () => 1_700_000_000_000;
    const tx = new Authenticator(KEY, { clock });
    const rx = () => new Authenticator(KEY, { clock });
    const d = body('sessions');
    const tr = tx.seal('sync', CTX, d);
    assert.equal(tr.length, TRAILER_SIZE);
    assert.equal(rx().open('sync', 'p', CTX, d, tr), 'ok');
    assert.equal(new Authenticator(Buffer.from('another key of 32 bytes.........'), { clock }).open('sync', 'p', CTX, d, tr), 'unauthenticated');
    assert.equal(rx().open('sync', 'p', CTX, body('sessionz'), tr), 'unauthenticated');
    assert.equal(rx().open('vrrp', 'p', CTX, d, tr), 'unauthenticated', 'a sync trailer does not pass as a VRRP one');
    assert.equal(rx().open('sync', 'p', new Uint8Array(8), d, tr), 'unauthenticated', 'bound to the addresses');
    for (let i = 0; i < TRAILER_SIZE; i++) {
      const bad = Buffer.from(tr);
      bad[i] ^= 1;
      assert.equal(rx().open('sync', 'p', CTX, d, bad), 'unauthenticated', `flipped byte ${i}`);
    }
    assert.equal(rx().open('sync', 'p', CTX, d, tr.subarray(0, 35)), 'unauthenticated');
  });

  it('refuses a replay; accepts reordering inside the window, not beyond it', () => {
    const clock = () => 1_700_000_000_000;
    const tx = new Authenticator(KEY, { clock });
    const rx = new Authenticator(KEY, { clock });
    const grams = Array.from({ length: 100 }, (_, i) => {
      const d = body(`d${i}`);
      return { d, t: tx.seal('sync', CTX, d) };
    });
    const open = (i: number) => rx.open('sync', 'peer', CTX, grams[i].d, grams[i].t);
    assert.equal(open(0), 'ok');
    assert.equal(open(0), 'replayed');
    assert.equal(open(5), 'ok');
    assert.equal(open(3), 'ok', 'late but inside the window');
    assert.equal(open(3), 'replayed');
    assert.equal(open(99), 'ok');
    assert.equal(open(40), 'ok', '59 behind: inside the 64-datagram window');
    assert.equal(open(30), 'replayed', '69 behind: outside the window');
    assert.equal(open(99), 'replayed');
    // per peer and per stream: the same datagram from another peer slot is judged on its own
    assert.equal(rx.open('sync', 'other', CTX, grams[0].d, grams[0].t), 'ok');
  });

  it('a restarted sender (newer incarnation) is accepted; its old datagrams are replays', () => {
    let t = 1_700_000_000_000;
    const clock = () => t;
    const old = new Authenticator(KEY, { clock });
    const rx = new Authenticator(KEY, { clock });
    const d = body('advert');
    const captured = old.seal('vrrp', CTX, d);
    assert.equal(rx.open('vrrp', '10.0.0.1', CTX, d, captured), 'ok');
    t += 5000;
    const restarted = new Authenticator(KEY, { clock });
    assert.equal(rx.open('vrrp', '10.0.0.1', CTX, d, restarted.seal('vrrp', CTX, d)), 'ok');
    assert.equal(rx.open('vrrp', '10.0.0.1', CTX, d, captured), 'replayed');
  });

  it('a receiver without state accepts only a datagram stamped within its window', () => {
    let t = 1_700_000_000_000;
    const clock = () => t;
    const tx = new Authenticator(KEY, { clock });
    const d = body('advert');
    const captured = tx.seal('vrrp', CTX, d);
    t += 31_000;
    // the receiver restarted and forgot the peer: a 31 s old capture does not open a window
    assert.equal(new Authenticator(KEY, { clock }).open('vrrp', 'p', CTX, d, captured), 'stale');
    assert.equal(new Authenticator(KEY, { clock, windowS: 60 }).open('vrrp', 'p', CTX, d, captured), 'ok');
    assert.equal(new Authenticator(KEY, { clock }).open('vrrp', 'p', CTX, d, tx.seal('vrrp', CTX, d)), 'ok');
  });
});

describe('auth key file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wlvs-key-'));
  const file = (name: string, content: string | Buffer, mode = 0o600) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    chmodSync(p, mode);
    return p;
  };
  it('reads the bytes, without one trailing newline', () => {
    assert.deepEqual(loadKey(file('a', 'k'.repeat(20) + '\n')), Buffer.from('k'.repeat(20)));
    assert.deepEqual(loadKey(file('b', 'k'.repeat(20))), Buffer.from('k'.repeat(20)));
  });
  it('refuses a short key, a missing file and one others can read', () => {
    assert.throws(() => loadKey(file('c', 'short\n')), /at least 16 are needed/);
    assert.throws(() => loadKey(join(dir, 'missing')), /cannot read auth key/);
    assert.throws(() => loadKey(file('d', 'k'.repeat(32), 0o644)), /chmod 600/);
  });
  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
