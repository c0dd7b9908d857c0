// The director's own host stack: ARP, ICMP echo, routes and neighbour resolution.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ARP_REPLY, ARP_REQUEST, arpReply, arpRequest, gratuitousArp, parseArp } from '../../src/net/arp.js';
import { echoReply } from '../../src/net/icmp-echo.js';
import { RouteTable } from '../../src/net/routes.js';
import { Neighbours } from '../../src/net/neighbours.js';
import { arpRequest as oracleArp, decodeFrame, ethernet, icmpPacket, allChecksumsOk } from '../oracle/packet.js';

describe('ARP', () => {
  it('parses a request built by the oracle and answers it', () => {
    const req = parseArp(oracleArp('02:00:00:00:00:01', '10.0.0.5', '10.0.0.100'))!;
    assert.deepEqual(req, { op: ARP_REQUEST, senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.5', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.100' });
    const rep = parseArp(arpReply('02:77:00:00:00:09', req))!;
    assert.equal(rep.op, ARP_REPLY);
    assert.equal(rep.senderIp, '10.0.0.100');
    assert.equal(rep.senderMac, '02:77:00:00:00:09');
    assert.equal(rep.targetIp, '10.0.0.5');
    assert.equal(rep.targetMac, '02:00:00:00:00:01');
  });

  it('builds requests and gratuitous announcements to broadcast', () => {
    const r = arpRequest('02:77:00:00:00:09', '10.0.2.1', '10.0.2.11');
    assert.equal(decodeFrame(r, true).dstMac, 'ff:ff:ff:ff:ff:ff');
    const g = parseArp(gratuitousArp('02:77:00:00:00:09', '10.0.1.100'))!;
    assert.equal(g.senderIp, '10.0.1.100');
    assert.equal(g.targetIp, '10.0.1.100');
  });

  it('rejects what is not Ethernet/IPv4 ARP', () => {
    assert.equal(parseArp(new Uint8Array(20)), null);
    assert.equal(parseArp(ethernet('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:01', new Uint8Array(28), 0x0800)), null);
  });
});

describe('ICMP echo', () => {
  it('answers a request with valid checksums, addresses swapped', () => {
    const req = ethernet('02:77:00:00:00:09', '02:00:00:00:00:01',
      icmpPacket({ src: '10.0.0.5', dst: '10.0.0.100' }, { type: 8, code: 0, rest: 0x12340001, payload: new Uint8Array(56).fill(9) }));
    const rep = decodeFrame(echoReply(req, true)!, true);
    assert.equal(rep.dstMac, '02:00:00:00:00:01');
    assert.equal(rep.ip!.src, '10.0.0.100');
    assert.equal(rep.ip!.dst, '10.0.0.5');
    assert.equal(rep.ip!.icmp!.type, 0);
    assert.equal(rep.ip!.icmp!.rest, 0x12340001);
    assert.ok(allChecksumsOk(rep.ip!));
    const l3 = icmpPacket({ src: '10.0.0.5', dst: '10.0.0.100' }, { type: 8, code: 0 });
    assert.ok(allChecksumsOk(decodeFrame(echoReply(l3, false)!, false).ip!));
  });

  it('ignores replies and truncated requests', () => {
    assert.equal(echoReply(icmpPacket({ src: '1.1.1.1', dst: '2.2.2.2' }, { type: 0, code: 0 }), false), null);
    assert.equal(echoReply(new Uint8Array(30), false), null);
  });
});

describe('routes', () => {
  it('prefers the longest prefix and resolves via gateways', () => {
    const t = new RouteTable();
    t.addConnected('10.0.2.1/24', 1);
    t.addConnected('10.0.1.1/24', 0);
    t.add({ network: '0.0.0.0', prefix: 0, device: 0, via: '10.0.1.254' });
    t.add({ network: '172.16.0.0', prefix: 12, device: 1, via: '10.0.2.254' });
    assert.deepEqual(t.lookup('10.0.2.11'), { device: 1, address: '10.0.2.11' });
    assert.deepEqual(t.lookup('172.20.1.1'), { device: 1, address: '10.0.2.254' });
    assert.deepEqual(t.lookup('8.8.8.8'), { device: 0, address: '10.0.1.254' });
  });

  it('has no answer without a default route', () => {
    const t = new RouteTable();
    t.addConnected('10.0.2.1/24', 1);
    assert.equal(t.lookup('8.8.8.8'), null);
  });
});

describe('neighbours', () => {
  it('asks, retries, slows down, learns from a reply and reports once', () => {
    let now = 0;
    const sent: string[] = [];
    const n = new Neighbours({
      send: (dev, f) => sent.push(`${dev}:${parseArp(f)!.targetIp}`),
      identity: () => ({ mac: '02:77:00:00:00:09', address: '10.0.2.1' }),
      now: () => now,
    }, { retryMs: 100, fastTries: 2, slowRetryMs: 1000, refreshMs: 5000 });
    const seen: string[] = [];
    n.onResolved((dev, ip, mac) => seen.push(`${dev}/${ip}=${mac}`));
    n.want(1, '10.0.2.11');
    n.want(1, '10.0.2.11');
    assert.deepEqual(sent, ['1:10.0.2.11']);
    now = 100; n.tick();
    now = 200; assert.equal(n.tick(), 0, 'slowed down after two tries');
    now = 1100; assert.equal(n.tick(), 1);
    n.learn(1, { op: ARP_REPLY, senderMac: '02:aa:00:00:00:0b', senderIp: '10.0.2.11', targetMac: '02:77:00:00:00:09', targetIp: '10.0.2.1' });
    n.learn(1, { op: ARP_REPLY, senderMac: '02:aa:00:00:00:0b', senderIp: '10.0.2.11', targetMac: '02:77:00:00:00:09', targetIp: '10.0.2.1' });
    assert.deepEqual(seen, ['1/10.0.2.11=02:aa:00:00:00:0b']);
    assert.equal(n.lookup(1, '10.0.2.11'), '02:aa:00:00:00:0b');
    now = 2000; assert.equal(n.tick(), 0);
    now = 6200; assert.equal(n.tick(), 1, 'refresh');
    n.learn(1, { op: ARP_REQUEST, senderMac: '02:aa:00:00:00:0c', senderIp: '10.0.2.11', targetMac: '00:00:00:00:00:00', targetIp: '10.0.2.1' });
    assert.equal(seen.length, 2, 'a changed MAC is reported');
  });
});
