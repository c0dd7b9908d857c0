// The client's address at the real server, end to end (issue 8): nginx parses the PROXY protocol
// (`listen 80 proxy_protocol`, a real parser) and logs $proxy_protocol_addr, which must be the
// client's, while the TCP peer it sees is a LIP (Full-NAT) or the client (NAT). A 32 MiB download
// arrives byte for byte (the server's acknowledgements are translated the whole way) and a 16 MiB
// upload is read whole by nginx (every client segment moved by the header's length; over TUN
// with TSO the first data arrives as a GSO super-packet). TOA: the segment that completes the
// handshake reaches the server with option 254 holding the client's port and address, as seen by
// scapy sniffing inside the server's namespace. The servers run with `tx off`, so their kernel
// verifies every checksum the director touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_LIPS_TAP, LAB_LIPS_TUN, LAB_VIP_TAP, LAB_VIP_TUN, labConfig, rsGatewayFor, startDirector,
} from '../../src/lab/lab-director.js';
import { type NginxServers, startNginx } from '../../src/lab/nginx.js';
import type { ForwardingMode } from '../../src/model/spec.js';
import { waitForLine } from '../../src/lab/wait-line.js';

const BIG = 32 << 20;
const UPLOAD = 16 << 20;
const SCENARIOS: { device: 'tap' | 'tun'; forwarding: ForwardingMode; proxy: 'v1' | 'v2'; toa: boolean }[] = [
  { device: 'tap', forwarding: 'fullnat', proxy: 'v2', toa: true },
  { device: 'tun', forwarding: 'fullnat', proxy: 'v1', toa: true },
  { device: 'tap', forwarding: 'nat', proxy: 'v2', toa: false },
];
const only = process.env.WLVS_E2E_ONLY?.split(',');

/** deterministic content: a sum over it catches any byte moved, lost or doubled */
function content(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** a scapy sniffer in a server's namespace: the first client segment with TOA, decoded */
const TOA_SNIFFER = String.raw`
import sys
from scapy.all import AsyncSniffer, TCP
def toa(p):
    return TCP in p and p[TCP].dport == int(sys.argv[1]) and any(o[0] == 254 for o in p[TCP].options)
s = AsyncSniffer(iface="eth0", lfilter=toa, count=1, timeout=8, started_callback=lambda: print("listening", flush=True))
s.start()
s.join()
got = s.results
if not got:
    print("none", flush=True); sys.exit(0)
p = got[0]
v = [o[1] for o in p[TCP].options if o[0] == 254][0]
print(p[TCP].sprintf("%flags%"), int.from_bytes(v[0:2], "big"), ".".join(str(b) for b in v[2:6]), p["IP"].src)
`;

for (const sc of SCENARIOS.filter((s) => !only || only.includes(`${s.device}/${s.forwarding}`))) {
  describe(`client address at the server: ${sc.forwarding} over ${sc.device}, PROXY ${sc.proxy}${sc.toa ? ', TOA' : ''}`,
    { timeout: 240_000 }, () => {
      let topo: Topology;
      let nginx: NginxServers;
      const big = content(BIG);
      const vip = sc.device === 'tap' ? LAB_VIP_TAP : LAB_VIP_TUN;
      const lips = sc.device === 'tap' ? LAB_LIPS_TAP : LAB_LIPS_TUN;

      before(async () => {
        topo = await buildTopology({ rsGateway: rsGatewayFor(sc.forwarding, sc.device), rsTxOff: true, tag: 'wp' });
        nginx = await startNginx(topo,
          { proxyProtocol: true, accessLog: true, files: { big }, plainPort: 81, digestPort: 8099 });
        await startDirector(topo, (token) => {
          const c = labConfig(topo, sc.device, { forwarding: sc.forwarding }, token) as
            { services: Record<string, unknown>[] };
          const svc = (name: string, port: number, extra: Record<string, unknown>) => ({
            name, vip, port, protocol: 'tcp', scheduler: 'rr', forwarding: sc.forwarding, health_check: { type: 'none' },
            real_servers: topo.realServers.map((r) => ({ address: r.address, port })), ...extra,
          });
          c.services = [svc('web', 80, { proxy_protocol: sc.proxy }), ...(sc.toa ? [svc('toa', 81, { toa: true })] : [])];
          return c as unknown as Record<string, unknown>;
        });
      });
      after(async () => {
        await topo?.lab.destroy();
      });

      it('nginx reads the client\'s address from the PROXY header of every connection', async () => {
        for (let i = 0; i < 6; i++) {
          const out = await topo.lab.exec(topo.client.role, 'curl', ['-sS', '--max-time', '5', `http://${vip}/`]);
          assert.equal(out, 'ok\n');
        }
        const lines = nginx.accessLines().filter((l) => l.includes('"GET / '));
        assert.equal(lines.length, 6, lines.join('\n'));
        for (const l of lines) {
          const [ppAddr, , peer] = l.split(' ');
          assert.equal(ppAddr, topo.client.address, l);
          if (sc.forwarding === 'fullnat') assert.ok(lips.includes(peer), `the server's peer is a LIP: ${l}`);
          else assert.equal(peer, topo.client.address, l);
        }
      });

      it('a 32 MiB download arrives byte for byte', async () => {
        const out = await topo.lab.exec(topo.client.role, 'sh', ['-c',
          `curl -sS --fail --max-time 60 http://${vip}/files/big | sha256sum`], 90_000);
        assert.equal(out.split(' ')[0], createHash('sha256').update(big).digest('hex'));
      });

      it('a 16 MiB upload arrives byte for byte (every client segment moved by the header)', async () => {
        const file = `/tmp/${topo.lab.id}-upload`;
        writeFileSync(file, big.subarray(0, UPLOAD));
        try {
          const out = await topo.lab.exec(topo.client.role, 'curl', ['-sS', '--fail', '--max-time', '60', '-H', 'Expect:',
            '--data-binary', `@${file}`, `http://${vip}/digest`], 90_000);
          const got = JSON.parse(out) as { bytes: number; sha256: string };
          assert.equal(got.bytes, UPLOAD);
          assert.equal(got.sha256, createHash('sha256').update(big.subarray(0, UPLOAD)).digest('hex'));
        } finally {
          rmSync(file, { force: true });
        }
        const line = nginx.accessLines().find((l) => l.includes('"POST /digest '));
        assert.equal(line?.split(' ')[0], topo.client.address, `logged with the client's address: ${line}`);
      });

      if (sc.toa) {
        it('TOA: the handshake\'s last ACK reaches the server with the client\'s port and address (scapy)', async () => {
          const sniffers = topo.realServers.map((r) => {
            const p = topo.lab.spawn(r.role, '/usr/bin/python3', ['-c', TOA_SNIFFER, '81']);
            let out = '';
            p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
            return {
              listening: waitForLine(p, /^listening/, 30_000),
              result: new Promise<string>((res) => p.once('exit', () => res(out.replace('listening', '').trim()))),
            };
          });
          await Promise.all(sniffers.map((s) => s.listening));
          const sport = 45678;
          const out = await topo.lab.exec(topo.client.role, 'curl', ['-sS', '--max-time', '5', '--local-port', String(sport),
            `http://${vip}:81/`]);
          assert.equal(out, 'ok\n');
          const seen = (await Promise.all(sniffers.map((s) => s.result))).filter((s) => s !== 'none');
          assert.equal(seen.length, 1, seen.join(' | '));
          const [flags, port, addr, src] = seen[0].split(' ');
          assert.equal(flags, 'A', 'the first segment with TOA is the ACK that completes the handshake');
          assert.equal(Number(port), sport);
          assert.equal(addr, topo.client.address);
          assert.ok(lips.includes(src), `from a LIP: ${src}`);
        });
      }
    });
}
