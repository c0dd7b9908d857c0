// The session-sync datagrams: records round-trip, split so header, records and the HMAC trailer
// fit a 1500-byte MTU, and anything else is refused with a reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { TRAILER_SIZE } from '../../src/ha/auth.js';
import { SESSIONS_PER_DATAGRAM, TYPE_SESSIONS, TYPE_SYNC_REQUEST, decode, encodeSessions, encodeSyncRequest } from '../../src/ha/protocol.js';

describe('sync datagrams', () => {
  it('round-trip sync requests and session records, split to fit a datagram with its trailer', () => {
    const request = { type: TYPE_SYNC_REQUEST, group: 7, priority: 150, records: [] };
    assert.deepEqual(decode(encodeSyncRequest(7, 150)), request);
    const records = Array.from({ length: SESSIONS_PER_DATAGRAM + 3 }, (_, i) => new Uint8Array(abi.EVT_SIZE).fill(i));
    const grams = encodeSessions(7, 150, records);
    assert.equal(grams.length, 2);
    assert.ok(grams.every((g) => g.length + TRAILER_SIZE <= 1400));
    const back = grams.flatMap((g) => {
      const m = decode(g);
      assert.ok(!('error' in m));
      assert.equal(m.type, TYPE_SESSIONS);
      return m.records;
    });
    assert.deepEqual(back, records);
  });

  it('rejects what is not a well-formed datagram of ours, version 1 included', () => {
    const good = encodeSessions(1, 100, [new Uint8Array(abi.EVT_SIZE)])[0];
    const v1advert = Buffer.from('WLVS\x01\x01\x09\xff\x00\x00\x00\x00', 'latin1');
    const cases: Uint8Array[] = [
      new Uint8Array(3), Buffer.from('GET / HTTP/1.1\r\n\r\n'), good.subarray(0, good.length - 1), v1advert,
      Buffer.concat([good, Buffer.alloc(1)]), Buffer.from(good).fill(9, 4, 5), Buffer.from(good).fill(0, 8, 10),
    ];
    for (const c of cases) assert.ok('error' in decode(c), `accepted ${Buffer.from(c).toString('hex').slice(0, 40)}`);
  });

  it('refuses a version 3 peer (records without the SYN-proxy deltas) and says which version it speaks', () => {
    const v3 = Buffer.from(encodeSessions(1, 100, [new Uint8Array(abi.EVT_SIZE)])[0]).fill(3, 4, 5);
    const m = decode(v3);
    assert.ok('error' in m);
    assert.match(m.error, /protocol version 3, this director speaks 4/);
  });
});
