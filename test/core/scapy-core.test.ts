// The core against scapy alone: scapy builds the frames (IPv6 extension headers, fragments of
// both families out of order and overlapping, bad lengths), the core forwards them, and scapy
// reassembles what came out and recomputes every checksum. No byte of either side comes from
// the project's own oracle.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as abi from '../../src/dataplane/abi.js';
import { CoreHarness, FLAVOURS, realServerEntry, realServerEntry6 } from './harness.js';

const GENERATE = String.raw`
import json, random
from scapy.all import Ether, IP, UDP, TCP, Raw, raw, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, IPv6ExtHdrFragment, fragment6
E = lambda p: Ether(dst="02:00:00:00:d0:00", src="02:00:00:00:0c:01")/p
C6, V6, C4, V4 = "2001:db8:1::10", "2001:db8:1::100", "10.0.1.10", "10.0.1.100"
random.seed(7)
cases = {}
cases["ext6"] = [E(IPv6(src=C6, dst=V6)/IPv6ExtHdrHopByHop()/IPv6ExtHdrRouting(addresses=["2001:db8:9::1"], segleft=0)/IPv6ExtHdrDestOpt()/TCP(sport=4000, dport=80, flags="S")/Raw(b"abc"))]
big6 = IPv6(src=C6, dst=V6)/IPv6ExtHdrFragment(id=0x1234)/UDP(sport=5000, dport=53)/Raw(bytes(random.getrandbits(8) for _ in range(3000)))
f6 = fragment6(big6, 1400)
cases["frag6_reversed"] = [E(f) for f in reversed(f6)]
dup = f6[1].copy()
dup[IPv6ExtHdrFragment].offset -= 8
cases["frag6_overlap"] = [E(f6[0]), E(dup), E(f6[1]), E(f6[2])]
big4 = IP(src=C4, dst=V4, id=0x4321)/UDP(sport=6000, dport=53)/Raw(bytes(random.getrandbits(8) for _ in range(3000)))
f4 = fragment(big4, fragsize=1200)
cases["frag4_shuffled"] = [E(f4[1]), E(f4[2]), E(f4[0])]
bad = raw(E(IPv6(src=C6, dst=V6)/UDP(sport=1, dport=53)/Raw(b"x" * 20)))
cases["bad_plen"] = [bad[:18] + b"\x05\xdc" + bad[20:]]
bad = raw(E(IPv6(src=C6, dst=V6)/UDP(sport=1, dport=53)/Raw(b"x" * 20)))
cases["bad_udp_len"] = [bad[:58] + b"\x03\x00" + bad[60:]]
# the payload length agrees with the frame, but the chain ends inside its destination options
cut = raw(E(IPv6(src=C6, dst=V6)/IPv6ExtHdrDestOpt()/TCP(sport=1, dport=80, flags="S")))[:14 + 40 + 4]
cases["ext_cut_short"] = [cut[:18] + b"\x00\x04" + cut[20:]]
print(json.dumps({k: [raw(f).hex() if not isinstance(f, bytes) else f.hex() for f in v] for k, v in cases.items()}))
`;

const VERIFY = String.raw`
import json, sys
from scapy.all import Ether, IP, UDP, TCP, raw, defrag
from scapy.layers.inet6 import IPv6, defragment6, IPv6ExtHdrFragment
outs = json.loads(sys.stdin.read())
def l4ok(pkt):
    # the checksum that came out against the one scapy computes for the same packet
    cls = TCP if pkt.getlayer(TCP) else UDP
    got = pkt[cls].chksum
    again = pkt.__class__(raw(pkt))
    del again[cls].chksum
    return got == pkt.__class__(raw(again))[cls].chksum
res = {}
for name, frames in outs.items():
    pk = [Ether(bytes.fromhex(h)) for h in frames]
    r = {"macs": sorted(set(p.dst for p in pk))}
    if name == "ext6":
        ip = pk[0][IPv6]
        r.update(dst=ip.dst, dport=ip[TCP].dport, ok=l4ok(pk[0][IPv6].copy()))
    elif name.startswith("frag6"):
        ips = [p[IPv6] for p in pk]
        r["dsts"] = sorted(set(i.dst for i in ips))
        if name == "frag6_reversed":
            # this scapy's defragment6 wants the fragments in offset order; they came out first first
            whole = IPv6(raw(defragment6(sorted(ips, key=lambda i: i[IPv6ExtHdrFragment].offset))))
            r.update(dst=whole.dst, dport=whole[UDP].dport, len=len(whole[UDP].payload), ok=l4ok(whole))
    elif name.startswith("frag4"):
        ips = [p[IP] for p in pk]
        q = [i.copy() for i in ips]
        for i in q: del i.chksum
        r["hdr_ok"] = all(IP(raw(a)).chksum == b.chksum for a, b in zip(q, ips))
        whole = defrag(ips)[1][0]  # (unfragmented, reassembled, incomplete)
        r.update(dst=whole.dst, dport=whole[UDP].dport, len=len(whole[UDP].payload), ok=l4ok(IP(raw(whole))))
    res[name] = r
print(json.dumps(res))
`;

for (const flavour of FLAVOURS) {
  describe(`core against scapy (${flavour})`, () => {
    it('forwards scapy\'s extension headers and fragments; scapy reassembles and verifies what came out', () => {
      const cases = JSON.parse(execFileSync('/usr/bin/python3', ['-c', GENERATE], { encoding: 'utf8', timeout: 60_000 })) as Record<string, string[]>;
      const outs: Record<string, string[]> = {};
      const reasons: Record<string, number[]> = {};
      for (const [name, frames] of Object.entries(cases)) {
        const h = new CoreHarness(flavour).standard();
        h.service(0, { vip: '2001:db8:1::100', forwarding: 'nat' }, [realServerEntry6(0)]);
        h.service(1, { vip: '2001:db8:1::100', forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry6(1, { port: 5353 })], 1);
        h.service(2, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(2, { port: 5353 })], 2);
        const rs = h.run(frames.map((x) => Uint8Array.from(Buffer.from(x, 'hex'))), 1);
        reasons[name] = rs.map((r) => (r.verdict === abi.VERDICT_DROP ? r.reason : -r.verdict));
        const out = rs.filter((r) => r.verdict === abi.VERDICT_FORWARD).map((r) => Buffer.from(r.out).toString('hex'));
        h.tables.drainHeld((_d, f) => out.push(Buffer.from(f).toString('hex')));
        if (out.length) outs[name] = out;
      }
      const F = -abi.VERDICT_FORWARD;
      const H = -abi.VERDICT_HELD;
      assert.deepEqual(reasons.ext6, [F]);
      assert.deepEqual(reasons.frag6_reversed, [H, H, F], 'the later fragments wait for the first');
      assert.deepEqual(reasons.frag6_overlap, [F, F, F, F]);
      assert.deepEqual(reasons.frag4_shuffled, [H, H, F]);
      assert.deepEqual(reasons.bad_plen, [abi.DROP_MALFORMED]);
      assert.deepEqual(reasons.bad_udp_len, [abi.DROP_MALFORMED]);
      assert.deepEqual(reasons.ext_cut_short, [abi.DROP_NO_TRANSPORT]);
      const v = JSON.parse(execFileSync('/usr/bin/python3', ['-c', VERIFY], { input: JSON.stringify(outs), encoding: 'utf8', timeout: 60_000 }));
      assert.deepEqual(v.ext6, { macs: ['02:00:00:00:a0:0b'], dst: '2001:db8:2::11', dport: 8080, ok: true });
      assert.deepEqual(v.frag6_reversed, { macs: ['02:00:00:00:a0:0c'], dsts: ['2001:db8:2::12'], dst: '2001:db8:2::12', dport: 5353, len: 3000, ok: true });
      assert.deepEqual(v.frag6_overlap, { macs: ['02:00:00:00:a0:0c'], dsts: ['2001:db8:2::12'] }, 'one server for every fragment');
      assert.deepEqual(v.frag4_shuffled, { macs: ['02:00:00:00:a0:0d'], hdr_ok: true, dst: '10.0.2.13', dport: 5353, len: 3000, ok: true });
    });
  });
}
