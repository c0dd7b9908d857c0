// service6.ts — the IPv6 counterpart of service.ts: the kind of an owned IPv6 address (its own
// small open-addressing table, LOCAL6_SIZE entries, cleared by the host and filled through
// addLocal6) and the service of an (IPv6 VIP, port, protocol). IPv6 services share the service
// index with IPv4 ones: indexed under the fold of the VIP and proto | PROTO_V6 (so an IPv4
// lookup never meets them), the full VIP compared in the service's SVC6 record.
import {
  HDR_LOCAL6_BASE, HDR_LOCAL6_MASK, HDR_SVC6_BASE, HDR_SVCIDX_BASE, HDR_SVCIDX_MASK, LOCAL6_ADDR, LOCAL6_KIND,
  LOCAL6_SIZE, PROTO_V6, SVC6_SIZE, SVC6_VIP, SVCIDX_PROTO, SVCIDX_SIZE, SVCIDX_SVC, SVCIDX_VIP, SVCIDX_VPORT,
} from './abi';
import { copy16, eq16, fold6, hdr, zero16 } from './mem';
import { NO_SERVICE, serviceHash } from './service';

// @ts-ignore: decorator
@inline function hashAddress6(a: usize): u32 {
  const x = load<u32>(a + 8) ^ load<u32>(a + 12) ^ (load<u32>(a) * 0x9e3779b1);
  return ((x ^ (x >>> 16)) * 0x45d9f3b) >>> 16;
}

// @ts-ignore: decorator
@inline export function svc6Address(svc: u32): usize {
  return <usize>(hdr(HDR_SVC6_BASE) + svc * SVC6_SIZE);
}

/** localKind6 returns the LOCAL_* bits of an owned IPv6 address, 0 when the director does not own it. */
export function localKind6(addr: usize): u32 {
  const base = hdr(HDR_LOCAL6_BASE);
  if (base == 0) return 0;
  const mask = hdr(HDR_LOCAL6_MASK);
  let i = hashAddress6(addr) & mask;
  // the table is at most half full, so a probe always ends on an empty slot
  while (true) {
    const e = <usize>(base + i * LOCAL6_SIZE);
    if (eq16(e + LOCAL6_ADDR, addr)) return load<u32>(e + LOCAL6_KIND);
    if (zero16(e + LOCAL6_ADDR)) return 0;
    i = (i + 1) & mask;
  }
  return 0;
}

/** addLocal6: addLocal for the IPv6 address at `addr`; 0, or 1 when the table is full or absent */
export function addLocal6(addr: usize, kind: u32): u32 {
  const base = hdr(HDR_LOCAL6_BASE);
  if (base == 0 || zero16(addr)) return 1;
  const mask = hdr(HDR_LOCAL6_MASK);
  let i = hashAddress6(addr) & mask;
  for (let n: u32 = 0; n <= mask; n++) {
    const e = <usize>(base + i * LOCAL6_SIZE);
    if (eq16(e + LOCAL6_ADDR, addr) || zero16(e + LOCAL6_ADDR)) {
      copy16(e + LOCAL6_ADDR, addr);
      store<u32>(e + LOCAL6_KIND, load<u32>(e + LOCAL6_KIND) | kind);
      return 0;
    }
    i = (i + 1) & mask;
  }
  return 1;
}

function findService6(vip: usize, port: u32, proto: u32): u32 {
  const base = hdr(HDR_SVCIDX_BASE);
  const mask = hdr(HDR_SVCIDX_MASK);
  const key = fold6(vip);
  const p6 = proto | PROTO_V6;
  let i = serviceHash(key, port, p6) & mask;
  while (true) {
    const e = <usize>(base + i * SVCIDX_SIZE);
    const v = load<u32>(e + SVCIDX_VIP);
    if (v == 0) return NO_SERVICE;
    if (v == key && <u32>load<u16>(e + SVCIDX_VPORT) == port && <u32>load<u8>(e + SVCIDX_PROTO) == p6) {
      const svc = load<u32>(e + SVCIDX_SVC);
      // two VIPs may fold alike: the full address decides
      if (eq16(svc6Address(svc) + SVC6_VIP, vip)) return svc;
    }
    i = (i + 1) & mask;
  }
  return NO_SERVICE;
}

/** lookupService6: the exact port first, then the VIP's port-0 ("all ports") service. */
export function lookupService6(vip: usize, port: u32, proto: u32): u32 {
  const s = findService6(vip, port, proto);
  if (s != NO_SERVICE || port == 0) return s;
  return findService6(vip, 0, proto);
}
