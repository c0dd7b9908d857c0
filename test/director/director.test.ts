// A running Director on fake devices: real frames in, rewritten frames out, for NAT and DR over
// TAP and Full-NAT and NAT over TUN (with the kernel routes it asks for), the host stack, and
// start-up and shutdown. No root: the devices are io/fake-io.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WlvsError } from '../../src/errors.js';
import { FakeIo } from '../../src/io/fake-io.js';
import { allChecksumsOk, arpRequest, decodeFrame, decodeIp, ethernet, icmpPacket, tcpPacket } from '../oracle/packet.js';
import {
  CIP, CLIENT_MAC, EXT_MAC, INT_MAC, LIPS, RIPS, RS_MACS, TAP_DIRECTOR, TUN_DIRECTOR, VIP, decoded, fromClient,
  fromServer, startDirector, webService,
} from './fixture.js';

const web = (forwarding: string, extra = '') => `services:${webService({ forwarding, extra })}`;

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

  it('advises its memory for transparent huge pages unless huge_pages: false, and a reload cannot change that', async () => {
    const { thpMode } = await import('../../src/io/huge-pages.js');
    const on = await startDirector(TAP_DIRECTOR + web('nat'));
    try {
      const line = on.lines.find((l) => l.event === 'huge_pages');
      assert.ok(line, 'an event: huge_pages line');
      assert.equal(line.mode, thpMode());
      // a 1024-session director still lays out several MiB: whole huge pages inside it
      if (line.mode === 'madvise' || line.mode === 'always') assert.ok((line.advisedBytes as number) >= 2 << 20);
      else assert.equal(line.advisedBytes, 0);
      const { parseConfig } = await import('../../src/config/load.js');
      const off = parseConfig(TAP_DIRECTOR.replace('director:\n', 'director:\n  huge_pages: false\n') + web('nat'), 'off.yaml');
      await assert.rejects(on.dir.reload(off), /huge_pages/);
    } finally {
      await on.stop();
    }
    const off = await startDirector(TAP_DIRECTOR.replace('director:\n', 'director:\n  huge_pages: false\n') + web('nat'));
    try {
      assert.equal(off.lines.some((l) => l.event === 'huge_pages'), false);
    } finally {
      await off.stop();
    }
  });

  it('with offload (virtio headers): devices open with vnet and TSO, frames go out with a virtio header', async () => {
    const f = await startDirector(TAP_DIRECTOR.replaceAll('offload: false', 'offload: true') + web('nat'));
    try {
      assert.deepEqual(f.io.requested.map((d) => [d.name, d.vnet, d.tso]), [['ext0', true, true], ['int0', true, true]]);
      // each TAP opens with the MAC the director answers with, its own device MAC derived from it
      assert.deepEqual(f.io.requested.map((d) => d.directorMac), f.dir.deviceInfo().map((d) => d.mac));
      const [out] = f.io.port.inject(0, [fromClient({ sport: 40010, dport: 80, flags: 'S' })], [new Uint8Array(10)]);
      assert.equal(out.vnet?.length, 10);
      const d = decoded(out);
      assert.deepEqual([d.ip!.dst, d.ip!.tcp!.dport], [RIPS[0], 8080]);
      assert.ok(allChecksumsOk(d.ip!));
    } finally {
      await f.stop();
    }
  });

  it('a TUN-mode (IP-in-IP) service turns TSO off: super-packets cannot be tunnelled', async () => {
    const offload = TAP_DIRECTOR.replaceAll('offload: false', 'offload: true');
    const f = await startDirector(offload + web('tun').replace('port: 8080', 'port: 80'));
    try {
      assert.deepEqual(f.io.requested.map((d) => [d.vnet, d.tso]), [[true, false], [true, false]]);
    } finally {
      await f.stop();
    }
  });

  it('DR over TAP: only the MACs change, the IP packet leaves byte for byte', async () => {
    const f = await startDirector(TAP_DIRECTOR + web('dr').replace('port: 8080', 'port: 80'));
    try {
      const pkt = tcpPacket({ src: CIP, dst: VIP }, { sport: 40001, dport: 80, flags: 'S', payload: new Uint8Array(32) });
      const [out] = f.send(0, [ethernet(EXT_MAC, CLIENT_MAC, pkt)]);
      assert.equal(out.device, 1);
      const d = decoded(out);
      assert.equal(d.dstMac, RS_MACS[0]);
      assert.equal(d.srcMac, INT_MAC);
      assert.deepEqual(d.ip!.bytes, pkt);
    } finally {
      await f.stop();
    }
  });

  it('Full-NAT over TUN: the source becomes a LIP, the reply to it goes back to the client; the kernel routes VIP and LIPs in', async () => {
    const f = await startDirector(`${TUN_DIRECTOR}  fullnat: { local_addresses: [${LIPS[0]}] }\n${web('fullnat')}`);
    try {
      const [out] = f.send(0, [tcpPacket({ src: CIP, dst: VIP }, { sport: 40002, dport: 80, flags: 'S' })]);
      assert.equal(out.device, 0);
      const ip = decodeIp(out.frame);
      assert.equal(ip.src, LIPS[0]);
      assert.equal(ip.dst, RIPS[0]);
      assert.equal(ip.tcp!.dport, 8080);
      assert.ok(allChecksumsOk(ip));
      const lport = ip.tcp!.sport;
      assert.ok(lport >= 1024, `lport ${lport}`);
      const [back] = f.send(0, [tcpPacket({ src: RIPS[0], dst: LIPS[0] }, { sport: 8080, dport: lport, flags: 'SA' })]);
      const b = decodeIp(back.frame);
      assert.deepEqual([b.src, b.tcp!.sport, b.dst, b.tcp!.dport], [VIP, 80, CIP, 40002]);
      assert.ok(allChecksumsOk(b));
      for (const c of [`ip route replace ${VIP}/32 dev tun0`, `ip route replace ${LIPS[0]}/32 dev tun0`,
        'ip route replace default dev tun0 table 30572', 'sysctl -qw net.ipv4.conf.tun0.rp_filter=0']) {
        assert.ok(f.kernel.includes(c), `${c} in ${JSON.stringify(f.kernel)}`);
      }
      assert.ok(!f.kernel.some((c) => c.startsWith('ip rule')), 'no policy rule without NAT');
      const n = f.kernel.length;
      await f.stop();
      assert.deepEqual(f.kernel.slice(n), ['ip route del default dev tun0 table 30572', `ip route del ${LIPS[0]}/32 dev tun0`,
        `ip route del ${VIP}/32 dev tun0`], 'everything added is removed on stop, newest first');
    } finally {
      await f.stop();
    }
  });

  it('NAT over TUN: one policy rule per real server steers its replies into the device', async () => {
    const f = await startDirector(TUN_DIRECTOR + web('nat'));
    try {
      assert.ok(f.kernel.includes(`ip rule add from ${RIPS[0]}/32 ipproto tcp sport 8080 lookup 30572 priority 30572`), f.kernel.join('\n'));
      const [out] = f.send(0, [tcpPacket({ src: CIP, dst: VIP }, { sport: 40003, dport: 80, flags: 'S' })]);
      const ip = decodeIp(out.frame);
      assert.deepEqual([ip.src, ip.dst, ip.tcp!.dport], [CIP, RIPS[0], 8080]);
      const [back] = f.send(0, [tcpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 40003, flags: 'SA' })]);
      const b = decodeIp(back.frame);
      assert.deepEqual([b.src, b.tcp!.sport, b.dst, b.tcp!.dport], [VIP, 80, CIP, 40003]);
    } finally {
      await f.stop();
    }
  });

  it('answers ARP for the VIP and echo requests to it; resolved its real server by ARP before "ready"', async () => {
    const f = await startDirector(TAP_DIRECTOR + web('nat'));
    try {
      const asked = f.port.written.filter((w) => w.host && w.device === 1 && w.frame[13] === 0x06 && w.frame[21] === 1);
      assert.ok(asked.some((w) => decodeFrame(w.frame, true).etherType === 0x0806), 'asked for the server');
      assert.equal(f.dir.applier.view()[0].realServers[0].resolved, true);
      const arp = f.io.port.inject(0, [arpRequest(CLIENT_MAC, CIP, VIP)]);
      assert.equal(arp.length, 1);
      assert.equal(arp[0].host, true);
      assert.equal(arp[0].frame[21], 2, 'an ARP reply');
      assert.equal(decodeFrame(arp[0].frame, true).dstMac, CLIENT_MAC);
      assert.deepEqual(Array.from(arp[0].frame.subarray(22, 28)), EXT_MAC.split(':').map((h) => parseInt(h, 16)), 'VIP is at our MAC');
      const echo = icmpPacket({ src: CIP, dst: VIP }, { type: 8, code: 0, rest: 0x00010001 });
      const ping = f.io.port.inject(0, [ethernet(EXT_MAC, CLIENT_MAC, echo)]);
      assert.equal(ping.length, 1);
      const r = decodeFrame(ping[0].frame, true).ip!;
      assert.deepEqual([r.src, r.dst, r.icmp!.type], [VIP, CIP, 0]);
      assert.ok(allChecksumsOk(r));
      assert.equal(f.dir.hostStack.stats.echoAnswered, 1);
    } finally {
      await f.stop();
    }
  });

  it('a device that cannot be opened fails the start with WLVS_ERR_DEVICE and closes the ones already open', async () => {
    const io = new FakeIo({ failOpen: ['int0'] });
    await assert.rejects(startDirector(TAP_DIRECTOR + web('nat'), { io }),
      (e: unknown) => WlvsError.is(e) && e.code === 'WLVS_ERR_DEVICE' && /int0/.test(e.message));
    assert.deepEqual(io.requested.map((d) => d.name), ['ext0', 'int0']);
    assert.deepEqual(io.closed, ['ext0']);
    assert.equal(io.ports.length, 0, 'no port was made');
  });

  it('stop closes every device and stops the port; a second stop does nothing', async () => {
    const f = await startDirector(TAP_DIRECTOR + web('nat'));
    await f.stop();
    assert.deepEqual(f.io.closed, ['ext0', 'int0']);
    assert.equal(f.io.open.size, 0);
    assert.equal(f.port.started, false);
    await f.stop();
    assert.deepEqual(f.io.closed, ['ext0', 'int0']);
  });
});
