// The bench:core references (bench/core/ref/) do the work they are timed for: their DNAT'ed
// frames equal, byte for byte, frames the oracle builds from scratch for the real server (every
// checksum recomputed in full), frames they must not forward come out untouched, and the C
// reference's bench mode forwards every frame of a batch of hits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRefs, makeWorkload, RefC, refCOnce, RefWasm, type RefSession } from '../../bench/core/ref/ref.js';
import {
  allChecksumsOk, arpRequest, decodeFrame, ethernet, fragment4, ipv4Packet, tcpPacket, tcpSegment, udpPacket,
} from '../oracle/packet.js';

const DIR_MAC = '02:00:00:00:d0:00';
const CLIENT_MAC = '02:00:00:00:0c:01';
const VIP = '10.0.1.100';
const RS = [
  { rip: '10.0.2.10', rport: 8080, mac: '02:00:00:00:a0:0a' },
  { rip: '10.0.2.11', rport: 80, mac: '02:00:00:00:a0:0b' },
];

const sessions: RefSession[] = [
  { src: '192.0.2.1', dst: VIP, sport: 40000, dport: 80, proto: 6, ...RS[0] },
  { src: '192.0.2.2', dst: VIP, sport: 65535, dport: 80, proto: 6, ...RS[1] },
  { src: '198.51.100.7', dst: VIP, sport: 1024, dport: 53, proto: 17, ...RS[0] },
  { src: '198.51.100.8', dst: VIP, sport: 5353, dport: 53, proto: 17, ...RS[1] },
  { src: '203.0.113.250', dst: VIP, sport: 443, dport: 80, proto: 6, ...RS[1] },
];

interface Case { name: string; frame: Uint8Array; expect: Uint8Array | null }

const odd = Uint8Array.from({ length: 33 }, (_, i) => (i * 37 + 11) & 255);
type TcpExtra = { flags?: string; payload?: Uint8Array };
const tcp = (src: string, dst: string, sport: number, dport: number, extra: TcpExtra = {}) =>
  tcpPacket({ src, dst, ttl: 61, id: 0xbeef }, { sport, dport, seq: 0xfedcba98, ack: 0x01234567, flags: extra.flags ?? 'PA', payload: extra.payload });
const udp = (src: string, dst: string, sport: number, dport: number, noChecksum = false) =>
  udpPacket({ src, dst, id: 7 }, { sport, dport, payload: odd.subarray(0, 17), noChecksum });
// a TCP packet with 4 bytes of IP options (NOP NOP NOP EOL): the L4 header is found past them
const withOptions = (dst: string, dport: number) => {
  const ip = { src: '203.0.113.250', dst, options: [1, 1, 1, 0] };
  return ipv4Packet(ip, 6, tcpSegment(ip, { sport: 443, dport, flags: 'A', payload: odd }));
};

const hit = (name: string, s: RefSession, frame: Uint8Array, expected: Uint8Array): Case =>
  ({ name, frame: ethernet(DIR_MAC, CLIENT_MAC, frame), expect: ethernet(s.mac, DIR_MAC, expected) });
const untouched = (name: string, frame: Uint8Array): Case => ({ name, frame, expect: null });

const cases: Case[] = [
  hit('TCP with an odd-length payload', sessions[0], tcp(sessions[0].src, VIP, 40000, 80, { payload: odd }),
    tcp(sessions[0].src, RS[0].rip, 40000, 8080, { payload: odd })),
  hit('TCP SYN, same port on the real server', sessions[1], tcp(sessions[1].src, VIP, 65535, 80, { flags: 'S' }),
    tcp(sessions[1].src, RS[1].rip, 65535, 80, { flags: 'S' })),
  hit('UDP with a checksum', sessions[2], udp(sessions[2].src, VIP, 1024, 53), udp(sessions[2].src, RS[0].rip, 1024, 8080)),
  hit('UDP without a checksum (stays zero)', sessions[3], udp(sessions[3].src, VIP, 5353, 53, true),
    udp(sessions[3].src, RS[1].rip, 5353, 80, true)),
  hit('TCP behind IP options', sessions[4], withOptions(VIP, 80), withOptions(RS[1].rip, 80)),
  untouched('TCP of no session', ethernet(DIR_MAC, CLIENT_MAC, tcp('192.0.2.1', VIP, 40001, 80))),
  untouched('UDP of a TCP session\'s tuple', ethernet(DIR_MAC, CLIENT_MAC, udp('192.0.2.1', VIP, 40000, 80))),
  untouched('a first fragment of a session\'s flow',
    ethernet(DIR_MAC, CLIENT_MAC, fragment4(tcp(sessions[0].src, VIP, 40000, 80, { payload: odd }), 24)[0])),
  untouched('ARP', arpRequest(CLIENT_MAC, '10.0.1.9', VIP)),
  untouched('a frame cut short', ethernet(DIR_MAC, CLIENT_MAC, tcp(sessions[0].src, VIP, 40000, 80)).subarray(0, 50)),
];

function check(impl: string, got: { verdict: number; frame: Uint8Array }[]): void {
  assert.equal(got.length, cases.length);
  for (const [i, c] of cases.entries()) {
    if (c.expect) {
      assert.equal(got[i].verdict, 1, `${impl}: ${c.name}: forwarded`);
      assert.deepEqual(got[i].frame, c.expect, `${impl}: ${c.name}: the oracle's frame`);
      assert.ok(allChecksumsOk(decodeFrame(got[i].frame, true).ip!), `${impl}: ${c.name}: checksums`);
    } else {
      assert.equal(got[i].verdict, 0, `${impl}: ${c.name}: not forwarded`);
      assert.deepEqual(got[i].frame, c.frame, `${impl}: ${c.name}: untouched`);
    }
  }
}

describe('bench:core references (NAT hit path)', () => {
  let built: ReturnType<typeof buildRefs>;
  let dir: string;
  before(() => {
    built = buildRefs();
    dir = mkdtempSync(join(tmpdir(), 'wlvs-ref-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const workload = () => makeWorkload(sessions, [cases.map((c) => c.frame)]);

  it('the AssemblyScript reference rewrites as the oracle does', () => {
    const ref = new RefWasm(new WebAssembly.Module(readFileSync(built.wasm)), workload());
    ref.load(cases.map((c) => c.frame));
    assert.equal(ref.process(cases.length), cases.filter((c) => c.expect).length);
    check('ref-wasm', ref.result(cases.length));
  });

  it('the C reference rewrites as the oracle does', () => {
    const file = join(dir, 'once.bin');
    writeFileSync(file, workload().bytes);
    check('ref-c', refCOnce(built.c, file));
  });

  it('the C reference\'s bench mode forwards every hit and reports Mpps', async () => {
    const hits = Array.from({ length: 8 }, (_, b) => Array.from({ length: 16 }, (_, k) => {
      const s = sessions[(b + k) % sessions.length];
      const p = s.proto === 6 ? tcp(s.src, VIP, s.sport, s.dport) : udp(s.src, VIP, s.sport, s.dport);
      return ethernet(DIR_MAC, CLIENT_MAC, p);
    }));
    const file = join(dir, 'bench.bin');
    writeFileSync(file, makeWorkload(sessions, hits).bytes);
    const c = new RefC(built.c, file);
    try {
      for (let r = 0; r < 2; r++) {
        const x = await c.round(20, 3);
        assert.equal(x.frames, 20 * 16);
        assert.equal(x.forwarded, x.frames);
        assert.ok(x.mpps > 0 && Number.isFinite(x.mpps), `mpps ${x.mpps}`);
      }
    } finally {
      await c.close();
    }
  });
});
