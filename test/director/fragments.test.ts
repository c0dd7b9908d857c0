// Fragments through a running director on fake devices: a fragment that arrives before its first
// fragment is held by the core and written by the thread that runs the batches (the port's
// BatchLoop's sender, as the data-path worker does) right after the batch its first fragment
// came in, rewritten like it; a held fragment whose first never comes is dropped and counted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { decodeIp, ethernet, fragment4, udpPacket } from '../oracle/packet.js';
import { CIP, CLIENT_MAC, EXT_MAC, RIPS, RS_MACS, TAP_DIRECTOR, VIP, decoded, startDirector, webService } from './fixture.js';

const UDP = `services:${webService({ port: 53, extra: 'protocol: udp' })}`;
const fromClient = (pkt: Uint8Array) => ethernet(EXT_MAC, CLIENT_MAC, pkt);
// everything the port wrote: released fragments leave beside the batch (as the SYN proxy's frames)
const sendAll = (f: Awaited<ReturnType<typeof startDirector>>, frames: Uint8Array[]) => f.io.port.inject(0, frames)
  .filter((w) => w.frame[12] !== 0x08 || w.frame[13] !== 0x06);

describe('director on fake devices: IP fragments', () => {
  it('a later fragment waits for its first, then leaves right after it, DNATed like it', async () => {
    const f = await startDirector(TAP_DIRECTOR + UDP);
    try {
      const datagram = udpPacket({ src: CIP, dst: VIP, id: 4242 },
        { sport: 5000, dport: 53, payload: new Uint8Array(2400).fill(9) });
      const [first, second, third] = fragment4(datagram, 1000);
      assert.equal(sendAll(f, [fromClient(third)]).length, 0, 'held: nothing leaves yet');
      assert.equal(f.dir.tables.stat(abi.STAT_FRAG_HELD), 1n);
      const out = sendAll(f, [fromClient(first), fromClient(second)]);
      assert.equal(out.length, 3, 'the first, the second and the held third');
      for (const w of out) {
        assert.equal(w.device, 1);
        const d = decoded(w);
        assert.equal(d.dstMac, RS_MACS[0]);
        assert.equal(d.ip!.dst, RIPS[0]);
        assert.equal(d.ip!.src, CIP);
        assert.equal(d.ip!.id, 4242);
        assert.ok(d.ip!.headerChecksumOk);
      }
      // the three rewritten fragments are the datagram's bytes after the IP headers, each once
      const bodies = out.map((w) => decodeIp(w.frame.subarray(14)).bytes.length).sort((a, b) => a - b);
      assert.deepEqual(bodies, [third.length, first.length, second.length].sort((a, b) => a - b));
      assert.equal(f.dir.tables.stat(abi.STAT_FRAG_RELEASED), 1n);
    } finally {
      await f.stop();
    }
  });

  it('a held fragment whose first never comes is dropped after director.fragments.wait and counted', async () => {
    const f = await startDirector(TAP_DIRECTOR + UDP);
    try {
      const lone = fragment4(udpPacket({ src: CIP, dst: VIP, id: 77 }, { sport: 5001, dport: 53,
        payload: new Uint8Array(1800) }), 1000)[1];
      assert.equal(sendAll(f, [fromClient(lone)]).length, 0);
      f.clock.now += 2000;
      // the next batch (and its expiry step) finds it timed out
      const other = udpPacket({ src: CIP, dst: VIP, id: 78 }, { sport: 5002, dport: 53, payload: new Uint8Array(10) });
      assert.equal(sendAll(f, [fromClient(other)]).length, 1);
      f.clock.now += 100;
      sendAll(f, [fromClient(other)]);
      assert.equal(f.dir.tables.drops().fragment_timeout, 1n, JSON.stringify(f.dir.tables.drops(), (_k, v) =>
        (typeof v === 'bigint' ? Number(v) : v)));
      assert.equal(f.dir.tables.header(abi.HDR_HOLD_WAITING), 0);
    } finally {
      await f.stop();
    }
  });
});
