// VRRP advertisements checked against an independent implementation: scapy's VRRP (RFC 3768)
// and VRRPv3 (RFC 5798) layers build the same frames byte for byte, both checksum variants of
// version 3 included, and decode the frames wlvs builds to the same fields with checksums that
// verify. Then what decodeAdvert makes of damaged input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  AUTH_NONE, AUTH_PASS, type Advert, VRRP_GROUP, VRRP_GROUP_MAC, decodeAdvert, encodeAdvert, parseIpv4Frame,
  passwordData, virtualMac, vrrpFrame,
} from '../../src/ha/vrrp-packet.js';
import type { VrrpChecksum } from '../../src/model/spec.js';

const SRC_MAC = '02:00:00:00:0c:01';
const SRC = '10.99.1.2';
const PEER = '10.99.1.4';

interface Case {
  name: string;
  advert: Advert;
  dst: string;
  dstMac: string;
  srcMac?: string;
  checksum: VrrpChecksum;
  id: number;
}

const v3 = (o: Partial<Advert>): Advert => ({
  version: 3, vrid: 51, priority: 150, interval: 30, addresses: ['10.99.1.100', '10.99.2.1'], authType: AUTH_NONE,
  authData: new Uint8Array(8), ...o,
});
const v2 = (o: Partial<Advert>): Advert => ({ ...v3({}), version: 2, interval: 1, ...o });

const CASES: Case[] = [
  { name: 'v3 multicast, pseudo-header checksum', advert: v3({}), dst: VRRP_GROUP, dstMac: VRRP_GROUP_MAC, checksum: 'pseudo-header', id: 1 },
  { name: 'v3 multicast, checksum without pseudo-header', advert: v3({ priority: 100, interval: 100 }), dst: VRRP_GROUP, dstMac: VRRP_GROUP_MAC, checksum: 'no-pseudo-header', id: 2 },
  { name: 'v3 unicast to a peer (pseudo-header with its address)', advert: v3({ vrid: 7, priority: 255, addresses: ['192.0.2.1'] }), dst: PEER, dstMac: '02:00:00:00:0c:04', checksum: 'pseudo-header', id: 3 },
  { name: 'v3 resignation (priority 0), longest interval, from the virtual MAC', advert: v3({ priority: 0, interval: 4095 }), dst: VRRP_GROUP, dstMac: VRRP_GROUP_MAC, srcMac: virtualMac(51), checksum: 'pseudo-header', id: 4 },
  { name: 'v2 without authentication', advert: v2({}), dst: VRRP_GROUP, dstMac: VRRP_GROUP_MAC, checksum: 'pseudo-header', id: 5 },
  { name: 'v2 with a simple password', advert: v2({ authType: AUTH_PASS, authData: passwordData('s3cret'), interval: 3 }), dst: VRRP_GROUP, dstMac: VRRP_GROUP_MAC, checksum: 'pseudo-header', id: 6 },
  { name: 'v3 with no address', advert: v3({ addresses: [] }), dst: VRRP_GROUP, dstMac: VRRP_GROUP_MAC, checksum: 'no-pseudo-header', id: 7 },
];

const build = (c: Case) => vrrpFrame({
  srcMac: c.srcMac ?? SRC_MAC, dstMac: c.dstMac, src: SRC, dst: c.dst, id: c.id,
  payload: encodeAdvert(c.advert, { src: SRC, dst: c.dst }, c.checksum),
});

// scapy builds each case itself (reference bytes), and decodes ours (fields, and whether the
// checksum it finds equals the one it computes: in4_chksum with the pseudo-header, or the plain
// RFC 1071 checksum of the VRRP message for version 2 and the no-pseudo-header variant)
const SCRIPT = String.raw`
import sys, json
from scapy.all import Ether, IP, raw
from scapy.layers.vrrp import VRRP, VRRPv3
from scapy.layers.inet import in4_chksum, checksum
cases = json.load(sys.stdin)
out = []
for c in cases:
    a = c["advert"]
    ip = IP(src=c["src"], dst=c["dst"], ttl=255, tos=0xc0, id=c["id"], proto=112)
    if a["version"] == 3:
        body = VRRPv3(vrid=a["vrid"], priority=a["priority"], adv=a["interval"], addrlist=a["addresses"])
        if c["checksum"] == "no-pseudo-header":
            body.chksum = 0
            body.chksum = checksum(raw(ip / body)[20:])
    else:
        auth = bytes.fromhex(a["authData"])
        body = VRRP(vrid=a["vrid"], priority=a["priority"], adv=a["interval"], authtype=a["authType"], addrlist=a["addresses"],
                    auth1=int.from_bytes(auth[:4], "big"), auth2=int.from_bytes(auth[4:], "big"))
    ref = Ether(dst=c["dstMac"], src=c["srcMac"]) / ip / body
    ours = Ether(bytes.fromhex(c["ours"]))
    v = ours[VRRPv3] if VRRPv3 in ours else ours[VRRP]
    msg = raw(v)
    zero = msg[:6] + b"\0\0" + msg[8:]
    if v.version == 3 and c["checksum"] == "pseudo-header":
        want = in4_chksum(112, ours[IP], zero)
    else:
        want = checksum(zero)
    ipz = ours[IP].copy(); ipz.chksum = None
    out.append({
        "ref": raw(ref).hex(),
        "decoded": {"version": v.version, "type": v.type, "vrid": v.vrid, "priority": v.priority, "count": v.ipcount,
                    "interval": v.adv, "addresses": v.addrlist, "authType": getattr(v, "authtype", 0),
                    "ttl": ours[IP].ttl, "proto": ours[IP].proto, "dst": ours[IP].dst, "srcMac": ours.src, "dstMac": ours.dst},
        "checksumOk": v.chksum == want,
        "ipChecksumOk": ours[IP].chksum == IP(raw(ipz)).chksum,
    })
print(json.dumps(out))
`;

describe('VRRP advertisements vs scapy', () => {
  const input = CASES.map((c) => ({
    ...c, src: SRC, srcMac: c.srcMac ?? SRC_MAC, ours: Buffer.from(build(c)).toString('hex'),
    advert: { ...c.advert, authData: Buffer.from(c.advert.authData).toString('hex') },
  }));
  const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', SCRIPT], { input: JSON.stringify(input), encoding: 'utf8', timeout: 60_000 })) as {
    ref: string; decoded: Record<string, unknown>; checksumOk: boolean; ipChecksumOk: boolean;
  }[];

  CASES.forEach((c, i) => {
    it(`${c.name}: byte-identical to scapy's, and scapy decodes ours`, () => {
      const ours = build(c);
      assert.equal(Buffer.from(ours).toString('hex'), out[i].ref);
      assert.ok(out[i].checksumOk, 'scapy recomputes the same VRRP checksum');
      assert.ok(out[i].ipChecksumOk, 'and the same IP header checksum');
      assert.deepEqual(out[i].decoded, {
        version: c.advert.version, type: 1, vrid: c.advert.vrid, priority: c.advert.priority,
        count: c.advert.addresses.length,
        interval: c.advert.interval, addresses: c.advert.addresses, authType: c.advert.authType,
        ttl: 255, proto: 112, dst: c.dst, srcMac: c.srcMac ?? SRC_MAC, dstMac: c.dstMac,
      });
    });
    it(`${c.name}: scapy's frame decodes to the advertisement`, () => {
      const f = parseIpv4Frame(Buffer.from(out[i].ref, 'hex'))!;
      assert.equal(f.ttl, 255);
      const d = decodeAdvert(f.payload, { src: f.src, dst: f.dst }, c.checksum);
      assert.ok(!('error' in d), JSON.stringify(d));
      const plain = (a: Advert) => ({ ...a, authData: [...a.authData] });
      assert.deepEqual(plain(d.advert), plain(c.advert));
      assert.equal(d.trailer.length, 0);
    });
  });

  it('a version 3 checksum made one way does not verify the other way', () => {
    const c = CASES[0];
    const f = parseIpv4Frame(build(c))!;
    assert.deepEqual(decodeAdvert(f.payload, { src: f.src, dst: f.dst }, 'no-pseudo-header'), { error: 'checksum' });
    // the pseudo-header binds the addresses: the same bytes from another source fail
    assert.deepEqual(decodeAdvert(f.payload, { src: '10.99.1.9', dst: f.dst }, 'pseudo-header'), { error: 'checksum' });
  });
});

describe('decodeAdvert on damaged input', () => {
  const ends = { src: SRC, dst: VRRP_GROUP };
  const good = encodeAdvert(v3({}), ends);
  const flip = (at: number, v: number) => {
    const b = good.slice();
    b[at] = v;
    return b;
  };
  const cases: [string, Uint8Array, string][] = [
    ['shorter than the fixed header', good.subarray(0, 7), 'length'],
    ['shorter than its address count says', good.subarray(0, good.length - 1), 'length'],
    ['version 4', flip(0, 0x41), 'version'],
    ['type 2', flip(0, 0x32), 'type'],
    ['a flipped priority', flip(2, 99), 'checksum'],
    ['a count larger than the addresses', flip(3, 9), 'length'],
  ];
  for (const [name, bytes, error] of cases) {
    it(`reports ${name} as ${error}`, () => assert.deepEqual(decodeAdvert(bytes, ends), { error }));
  }
  it('returns what follows the message as the trailer', () => {
    const d = decodeAdvert(Buffer.concat([good, Buffer.from('tail')]), ends);
    assert.ok(!('error' in d));
    assert.equal(Buffer.from(d.trailer).toString(), 'tail');
  });
  it('keeps Ethernet padding out of the payload and refuses fragments', () => {
    const frame = vrrpFrame({ srcMac: SRC_MAC, dstMac: VRRP_GROUP_MAC, src: SRC, dst: VRRP_GROUP, id: 1,
      payload: good });
    const padded = new Uint8Array(frame.length + 10);
    padded.set(frame);
    assert.equal(parseIpv4Frame(padded)!.payload.length, good.length);
    const frag = frame.slice();
    frag[20] = 0x20;
    assert.equal(parseIpv4Frame(frag), null);
  });
});
