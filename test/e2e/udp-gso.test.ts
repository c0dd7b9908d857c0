// End to end, UDP super-packets (TUN_F_USO4/6 on the TAPs, Linux 6.2+): a client that sends with
// UDP_SEGMENT (as QUIC stacks do) hands its kernel one 20-datagram buffer; veth and the bridge
// carry it whole, and the director's TAP passes it to wlvs as one frame, which is translated once
// and written back whole for the kernel to cut on its way to the server. Through NAT and Full-NAT
// over TAP: every datagram reaches a real server's echo with its payload and comes back from the
// VIP, and the service counts one packet in per burst, not one per datagram (the frame wlvs read
// was the super-packet). A namespace's stack trusts a CHECKSUM_PARTIAL packet, so the pseudo-header
// sum wlvs leaves in it is checked by the core's unit test (test/core/vnet.test.ts), not here.
// WLVS_E2E_ONLY=tap/nat,tap/fullnat picks scenarios, as in modes.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ForwardingMode } from '../../src/model/spec.js';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_VIP_TAP, type RunningDirector, labConfig, rsGatewayFor, startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import { api } from './lib.js';

const only = process.env.WLVS_E2E_ONLY?.split(',');
const SEGMENTS = 20;
const SEGMENT = 500;

// runs in the client namespace: one sendmsg of SEGMENTS datagrams with UDP_SEGMENT, then every
// answer for up to 2 s; argv = address, port, burst number
const CLIENT = `
import json, socket, sys, time
addr, port, burst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 103, ${SEGMENT})  # UDP_SEGMENT
buf = b''.join(('b%d s%02d|' % (burst, i)).encode().ljust(${SEGMENT}, b'x') for i in range(${SEGMENTS}))
s.sendto(buf, (addr, port))
s.settimeout(0.2)
got = {}
end = time.time() + 2
while time.time() < end and len(got) < ${SEGMENTS}:
    try:
        m = s.recv(2048).decode()
    except socket.timeout:
        continue
    server, client, payload = m.split('|', 2)
    tag = payload.split('|')[0]
    got[tag] = [server, client, len(payload)]
print(json.dumps(got))
`;

interface ServiceView { name: string; stats: { inpkts: number; outpkts: number } }

for (const forwarding of (['nat', 'fullnat'] as ForwardingMode[]).filter((f) => !only || only.includes(`tap/${f}`))) {
  describe(`UDP super-packets (USO), ${forwarding} over tap`, { timeout: 120_000 }, () => {
    let topo: Topology;
    let dir: RunningDirector;
    const vip = LAB_VIP_TAP;

    before(async () => {
      topo = await buildTopology({ rsGateway: rsGatewayFor(forwarding, 'tap'), tag: 'wg' });
      await startRealServers(topo, { forwarding, vip });
      dir = await startDirector(topo, (token) => labConfig(topo, 'tap', { forwarding, scheduler: 'rr' }, token));
    });
    after(async () => {
      await topo?.lab.destroy();
    });

    const echoIn = async () => ((await api(topo, dir, '/api/v1/services')) as ServiceView[]).find((s) => s.name === 'echo')!.stats.inpkts;

    it(`a ${SEGMENTS}-datagram UDP_SEGMENT burst crosses as one frame and every datagram is answered from the VIP`, async () => {
      // the first burst may meet an unresolved neighbour (the director's ARP for the server)
      let answered: Record<string, [string, string, number]> = {};
      let bursts = 0;
      let before = 0;
      for (let burst = 0; burst < 3; burst++) {
        before = await echoIn();
        const out = await topo.lab.exec(topo.client.role, 'python3', ['-c', CLIENT, vip, '5353', String(burst)], 15_000);
        answered = JSON.parse(out.trim().split('\n').pop()!) as typeof answered;
        bursts = burst;
        if (Object.keys(answered).length === SEGMENTS) break;
      }
      assert.equal(Object.keys(answered).length, SEGMENTS, `answers to burst ${bursts}: ${JSON.stringify(answered)}`);
      for (let i = 0; i < SEGMENTS; i++) {
        const a = answered[`b${bursts} s${String(i).padStart(2, '0')}`];
        assert.ok(a, `datagram ${i} answered`);
        assert.equal(a[2], SEGMENT, `datagram ${i} arrived whole at ${a[0]}`);
        // the echo saw the client (NAT) or a LIP (Full-NAT), never the director's own address
        if (forwarding === 'nat') assert.equal(a[1], topo.client.address);
        else assert.notEqual(a[1], topo.client.address);
      }
      assert.equal(new Set(Object.values(answered).map((a) => a[0])).size, 1, 'one flow, one real server');
      const read = await echoIn() - before;
      assert.equal(read, 1, `the service counted ${read} packets in for one burst of ${SEGMENTS}: ` +
        (read === SEGMENTS ? 'the kernel cut the burst before the TAP (no UDP segmentation offload on it?)' : 'unexpected'));
    });
  });
}
