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
  LAB_LIPS6_TAP, LAB_LIPS_TAP, LAB_LIPS_TUN, LAB_VIP_TAP, LAB_VIP_TUN, labConfig, labDualStackDirector, rsGatewayFor,
  startDirector,
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

/** sniffToa starts `script` on every real server, watching `port`; resolves once all listen */
async function sniffToa(topo: Topology, script: string, port: number): Promise<{ result: Promise<string> }[]> {
  const sniffers = topo.realServers.map((r) => {
    const p = topo.lab.spawn(r.role, '/usr/bin/python3', ['-c', script, String(port)]);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    return {
      listening: waitForLine(p, /^listening/, 30_000),
      result: new Promise<string>((res) => p.once('exit', () => res(out.replace('listening', '').trim()))),
    };
  });
  await Promise.all(sniffers.map((s) => s.listening));
  return sniffers;
}

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
          const sniffers = await sniffToa(topo, TOA_SNIFFER, 81);
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

// IPv6 clients: Full-NAT 6->6 (PROXY v2 and TOA) and NAT64 (an IPv6 VIP in front of the IPv4
// servers, PROXY v1 and TOA): nginx reads the IPv6 client from the header; the TOA sniffer reads
// the 20-byte option (kind 254: port and the 16-byte address, DPVS kmod/toa's IPv6 layout).
const VIP6 = '2001:db8:1::100';
const LIPS6 = LAB_LIPS6_TAP;
const LIP4 = LAB_LIPS_TAP[0];
const TOA6_SNIFFER = TOA_SNIFFER
  .replace('".".join(str(b) for b in v[2:6])', 'ipaddress.IPv6Address(bytes(v[2:18])), len(v) + 2')
  .replace('p["IP"].src', '(p["IPv6"].src if "IPv6" in p else p["IP"].src)')
  .replace('import sys', 'import sys, ipaddress');

if (!only || only.includes('tap/ipv6-client')) {
  describe('client address at the server: IPv6 clients, Full-NAT 6->6 (PROXY v2, TOA) and NAT64 (PROXY v1, TOA)',
    { timeout: 240_000 }, () => {
      let topo: Topology;
      let nginx: NginxServers;
      const big = content(BIG);
      const url = (port: number, path = '/') => `http://[${VIP6}]:${port}${path}`;

      before(async () => {
        topo = await buildTopology({ ipv6: true, rsGateway: '10.99.2.1', rsGateway6: '2001:db8:2::1', rsTxOff: true,
          tag: 'wps' });
        nginx = await startNginx(topo,
          { proxyProtocol: true, accessLog: true, files: { big }, plainPort: 81, digestPort: 8099, ipv6: true });
        await startDirector(topo, (token) => {
          const svc = (name: string, port: number, family: 4 | 6, rsPort: number, extra: Record<string, unknown>) => ({
            name, vip: VIP6, port, protocol: 'tcp', scheduler: 'rr', forwarding: 'fullnat', health_check: { type: 'none' },
            real_servers: topo.realServers.map((r) => ({
              address: family === 6 ? r.address6! : r.address, port: rsPort,
            })),
            ...extra,
          });
          return {
            director: labDualStackDirector(topo, token),
            services: [
              svc('web6', 80, 6, 80, { proxy_protocol: 'v2' }),
              svc('toa6', 81, 6, 81, { toa: true }),
              svc('nat64', 82, 4, 80, { proxy_protocol: 'v1' }),
              svc('toa64', 83, 4, 81, { toa: true }),
            ],
          };
        });
      });
      after(async () => {
        await topo?.lab.destroy();
      });

      it('nginx reads the IPv6 client from the PROXY header: v2 over IPv6 (Full-NAT 6->6), v1 "TCP6" over IPv4 (NAT64)', async () => {
        const client = topo.client.address6!;
        for (const port of [80, 82]) {
          for (let i = 0; i < 4; i++) {
            const out = await topo.lab.exec(topo.client.role, 'curl', ['-g', '-6', '-sS', '--max-time', '5', url(port)]);
            assert.equal(out, 'ok\n');
          }
        }
        // the servers' logs are read one after another: tell the two services apart by the peer
        const lines = nginx.accessLines().filter((l) => l.includes('"GET / '));
        assert.equal(lines.length, 8, lines.join('\n'));
        for (const l of lines) assert.equal(l.split(' ')[0], client, l);
        const peers = lines.map((l) => l.split(' ')[2]);
        assert.equal(peers.filter((x) => LIPS6.includes(x)).length, 4, `Full-NAT 6->6 from IPv6 LIPs: ${peers.join(' ')}`);
        assert.equal(peers.filter((x) => x === LIP4).length, 4, `NAT64 from the IPv4 LIP: ${peers.join(' ')}`);
      });

      it('a 32 MiB download and a 16 MiB upload arrive byte for byte through both (sequence numbers moved the whole way)', async () => {
        const digest = createHash('sha256').update(big).digest('hex');
        const file = `/tmp/${topo.lab.id}-upload6`;
        writeFileSync(file, big.subarray(0, UPLOAD));
        try {
          for (const port of [80, 82]) {
            const out = await topo.lab.exec(topo.client.role, 'sh', ['-c',
              `curl -g -6 -sS --fail --max-time 60 ${url(port, '/files/big')} | sha256sum`], 90_000);
            assert.equal(out.split(' ')[0], digest, `download through port ${port}`);
            const up = await topo.lab.exec(topo.client.role, 'curl', ['-g', '-6', '-sS', '--fail', '--max-time', '60',
              '-H', 'Expect:', '--data-binary', `@${file}`, url(port, '/digest')], 90_000);
            const got = JSON.parse(up) as { bytes: number; sha256: string };
            assert.equal(got.bytes, UPLOAD, `upload through port ${port}`);
            assert.equal(got.sha256, createHash('sha256').update(big.subarray(0, UPLOAD)).digest('hex'));
          }
        } finally {
          rmSync(file, { force: true });
        }
      });

      for (const [port, v6] of [[81, true], [83, false]] as const) {
        it(`TOA (${v6 ? 'Full-NAT 6->6' : 'NAT64'}): the handshake's last ACK carries the 20-byte option ` +
          'with the IPv6 client (scapy)', async () => {
          const sniffers = await sniffToa(topo, TOA6_SNIFFER, 81);
          const sport = 45679 + port;
          const out = await topo.lab.exec(topo.client.role, 'curl',
            ['-g', '-6', '-sS', '--max-time', '5', '--local-port', String(sport), url(port)]);
          assert.equal(out, 'ok\n');
          const seen = (await Promise.all(sniffers.map((s) => s.result))).filter((s) => s !== 'none');
          assert.equal(seen.length, 1, seen.join(' | '));
          const [flags, sp, addr, len, src] = seen[0].split(' ');
          assert.equal(flags, 'A', 'the first segment with TOA is the ACK that completes the handshake');
          assert.equal(Number(sp), sport);
          assert.equal(addr, topo.client.address6);
          assert.equal(Number(len), 20);
          assert.ok((v6 ? LIPS6 : [LIP4]).includes(src), `from a LIP: ${src}`);
        });
      }
    });
}
