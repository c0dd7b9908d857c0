// service.ts — finds the service of a (VIP, port, protocol) and the kind of an owned address.
// Both tables are small open-addressing arrays; the host clears them between batches and fills
// them through addLocal / indexService, so the hashes and probing live here only.
import {
  HDR_LOCAL_BASE, HDR_LOCAL_MASK, HDR_SVC6_BASE, HDR_SVC_BASE, HDR_SVCIDX_BASE, HDR_SVCIDX_MASK, LOCAL_ADDR,
  LOCAL_KIND, LOCAL_SIZE, PROTO_V6, SVC6_SIZE, SVC6_VIP, SVCF2_V6, SVC_FLAGS2, SVCIDX_PROTO, SVCIDX_SIZE, SVCIDX_SVC, SVCIDX_VIP,
  SVCIDX_VPORT, SVC_FLAGS, SVC_PROTO, SVC_SIZE, SVC_VIP, SVC_VPORT,
} from './abi';
import { fold6, hdr } from './mem';

// @ts-ignore: decorator
@inline export const NO_SERVICE: u32 = 0xffffffff;

// @ts-ignore: decorator
@inline function hashAddress(a: u32): u32 {
  return ((a ^ (a >>> 16)) * 0x45d9f3b) >>> 16;
}

// @ts-ignore: decorator
@inline export function serviceHash(vip: u32, port: u32, proto: u32): u32 {
  const x: u32 = vip ^ ((port | (proto << 16)) * 0x9e3779b1);
  return ((x ^ (x >>> 15)) * 0x2c1b3c6d) >>> 13;
}

/** localKind returns the LOCAL_* bits of an owned address, 0 when the director does not own it. */
export function localKind(addr: u32): u32 {
  const base = hdr(HDR_LOCAL_BASE);
  const mask = hdr(HDR_LOCAL_MASK);
  let i = hashAddress(addr) & mask;
  // the table is at most half full, so a probe always ends on an empty slot
  while (true) {
    const e = <usize>(base + i * LOCAL_SIZE);
    const a = load<u32>(e + LOCAL_ADDR);
    if (a == addr) return load<u32>(e + LOCAL_KIND);
    if (a == 0) return 0;
    i = (i + 1) & mask;
  }
  return 0;
}

/**
 * addLocal records that the director owns `addr` (wire order) as `kind` (LOCAL_* bits, OR-ed
 * into an existing entry). Returns 0, or 1 when the table has no room left for a half-full
 * probe guarantee (the host sizes it at twice the addresses it writes).
 */
export function addLocal(addr: u32, kind: u32): u32 {
  const base = hdr(HDR_LOCAL_BASE);
  const mask = hdr(HDR_LOCAL_MASK);
  let i = hashAddress(addr) & mask;
  for (let n: u32 = 0; n <= mask; n++) {
    const e = <usize>(base + i * LOCAL_SIZE);
    const a = load<u32>(e + LOCAL_ADDR);
    if (a == addr || a == 0) {
      store<u32>(e + LOCAL_ADDR, addr);
      store<u32>(e + LOCAL_KIND, load<u32>(e + LOCAL_KIND) | kind);
      return 0;
    }
    i = (i + 1) & mask;
  }
  return 1;
}

/** indexService adds service `svc` (its record filled) to the service index; 0, or 1 when full */
export function indexService(svc: u32): u32 {
  const s = serviceAddress(svc);
  const base = hdr(HDR_SVCIDX_BASE);
  const mask = hdr(HDR_SVCIDX_MASK);
  let vip = load<u32>(s + SVC_VIP);
  const port = <u32>load<u16>(s + SVC_VPORT);
  let proto = <u32>load<u8>(s + SVC_PROTO);
  if (load<u8>(s + SVC_FLAGS2) & SVCF2_V6) {
    // IPv6 services live in the same index, apart by protocol byte (service6.ts)
    vip = fold6(<usize>(hdr(HDR_SVC6_BASE) + svc * SVC6_SIZE + SVC6_VIP));
    proto |= PROTO_V6;
  }
  let i = serviceHash(vip, port, proto) & mask;
  for (let n: u32 = 0; n <= mask; n++) {
    const e = <usize>(base + i * SVCIDX_SIZE);
    if (load<u32>(e + SVCIDX_VIP) == 0) {
      store<u32>(e + SVCIDX_VIP, vip);
      store<u16>(e + SVCIDX_VPORT, <u16>port);
      store<u8>(e + SVCIDX_PROTO, <u8>proto);
      store<u32>(e + SVCIDX_SVC, svc);
      return 0;
    }
    i = (i + 1) & mask;
  }
  return 1;
}

function findService(vip: u32, port: u32, proto: u32): u32 {
  const base = hdr(HDR_SVCIDX_BASE);
  const mask = hdr(HDR_SVCIDX_MASK);
  let i = serviceHash(vip, port, proto) & mask;
  while (true) {
    const e = <usize>(base + i * SVCIDX_SIZE);
    const v = load<u32>(e + SVCIDX_VIP);
    if (v == 0) return NO_SERVICE;
    if (v == vip && <u32>load<u16>(e + SVCIDX_VPORT) == port && <u32>load<u8>(e + SVCIDX_PROTO) == proto) {
      return load<u32>(e + SVCIDX_SVC);
    }
    i = (i + 1) & mask;
  }
  return NO_SERVICE;
}

/** lookupService: the exact port first, then the VIP's port-0 ("all ports") service. */
export function lookupService(vip: u32, port: u32, proto: u32): u32 {
  const s = findService(vip, port, proto);
  if (s != NO_SERVICE || port == 0) return s;
  return findService(vip, 0, proto);
}

// @ts-ignore: decorator
@inline export function serviceAddress(svc: u32): usize {
  return <usize>(hdr(HDR_SVC_BASE) + svc * SVC_SIZE);
}
