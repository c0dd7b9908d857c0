// A running Director on fake devices: real frames in, rewritten frames out, for NAT and DR over
// TAP and Full-NAT and NAT over TUN (with the kernel routes it asks for), the host stack, and
// start-up and shutdown. No root: the devices are io/fake-io.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WlvsError } from '../../src/errors.js';
import { allChecksumsOk, arpRequest, decodeFrame, decodeIp, icmpPacket, tcpPacket } from '../oracle/packet.js';
import {
  CIP, CLIENT_MAC, DIP, EXT_MAC, INT_MAC, LIPS, RIPS, RS_MACS, TAP_DIRECTOR, TUN_DIRECTOR, VIP, decoded, fromClient,
  fromServer, startDirector,
} from './fixture.js';

const web = (forwarding: string, extra = '') => `
services:
  - name: web
    vip: ${VIP}
    port: 80
    scheduler: rr
    forwarding: ${forwarding}
    health_check: { type: none }
    ${extra}
    real_servers:
      - { address: ${RIPS[0]}, port: 8080 }
`;

describe('director on fake devices', () => {
  it('NAT over TAP: a SYN goes out DNATed to the real server, its SYN-ACK comes back SNATed to the client', async () => {
    const f = await startDirector(TAP_DIRECTOR + web('nat'));
    try {
      const [out] = f.send(0, [fromClient({ sport: 40000, dport: 80, flags: 'S', seq: 7 })]);
      assert.equal(out.device, 1, 'out of the server-side device');
      const d = decoded(out);
      assert.equal(d.dstMac, RS_MACS[0]);
      assert.equal(d.srcMac, INT_MAC);
      assert.equal(d.ip!.src, CIP);
      assert.equal(d.ip!.dst, RIPS[0]);
      assert.equal(d.ip!.tcp!.sport, 40000);
      assert.equal(d.ip!.tcp!.dport, 8080);
      assert.ok(allChecksumsOk(d.ip!), 'checksums verify from scratch');

      const [back] = f.send(1, [fromServer(0, { sport: 8080, dport: 40000, flags: 'SA', seq: 99, ack: 8 })]);
      assert.equal(back.device, 0);
      const b = decoded(back);
      assert.equal(b.dstMac, CLIENT_MAC, 'to the MAC the SYN came from');
      assert.equal(b.srcMac, EXT_MAC);
      assert.equal(b.ip!.src, VIP);
      assert.equal(b.ip!.dst, CIP);
      assert.equal(b.ip!.tcp!.sport, 80);
      assert.equal(b.ip!.tcp!.dport, 40000);
      assert.ok(allChecksumsOk(b.ip!));
      const c = f.dir.tables.serviceCounters(0);
      assert.deepEqual([c.conns, c.inPackets, c.outPackets], [1n, 1n, 1n]);
      assert.equal(f.port.stats().txFrames, 2);
    } finally {
      await f.stop();
    }
  });
});
