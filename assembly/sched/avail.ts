// avail.ts — what every scheduler asks of a real server, and how it walks a service's
// destination list. A server takes new connections when it is in use, not removed, its next hop
// is resolved, its weight is above 0 (0 = quiescent) and it is under its upper threshold
// (ipvsadm -x; IPVS marks such a server overloaded).
import {
  HDR_DEST_BASE, HDR_RS_BASE, RSF_READY, RSF_REMOVED, RSF_USED, RS_ACTIVE, RS_FLAGS, RS_INACTIVE, RS_SIZE,
  RS_UPPER, RS_WEIGHT, SVC_DEST_COUNT, SVC_DEST_FIRST,
} from '../abi';
import { hdr } from '../mem';

// @ts-ignore: decorator
@inline export function rsAt(rs: u32): usize {
  return <usize>(hdr(HDR_RS_BASE) + rs * RS_SIZE);
}

/** destCount: how many destinations service `svc` (record address) lists */
// @ts-ignore: decorator
@inline export function destCount(svc: usize): u32 {
  return <u32>load<u16>(svc + SVC_DEST_COUNT);
}

/** destAt: the real-server index at position `k` of the service's destination list */
// @ts-ignore: decorator
@inline export function destAt(svc: usize, k: u32): u32 {
  return <u32>load<u16>(<usize>(hdr(HDR_DEST_BASE) + ((load<u32>(svc + SVC_DEST_FIRST) + k) << 1)));
}

// @ts-ignore: decorator
@inline export function weightOf(r: usize): u32 {
  return load<u32>(r + RS_WEIGHT);
}

/** usableNow: may take a new connection (ready, weighted, not overloaded) */
// @ts-ignore: decorator
@inline export function usableNow(r: usize): bool {
  const f = load<u8>(r + RS_FLAGS);
  if ((f & (RSF_USED | RSF_REMOVED | RSF_READY)) != (RSF_USED | RSF_READY)) return false;
  if (load<u32>(r + RS_WEIGHT) == 0) return false;
  const upper = load<u32>(r + RS_UPPER);
  return upper == 0 || load<u32>(r + RS_ACTIVE) + load<u32>(r + RS_INACTIVE) < upper;
}

/** eligible: belongs in a rebuilt lookup table (usable, overload aside: that changes per packet) */
// @ts-ignore: decorator
@inline export function eligible(r: usize): bool {
  const f = load<u8>(r + RS_FLAGS);
  return (f & (RSF_USED | RSF_REMOVED | RSF_READY)) == (RSF_USED | RSF_READY) && load<u32>(r + RS_WEIGHT) > 0;
}

/** IPVS connection overhead: active connections weigh 256 inactive ones (ip_vs_dest_conn_overhead) */
// @ts-ignore: decorator
@inline export function overhead(r: usize): u64 {
  return (<u64>load<u32>(r + RS_ACTIVE) << 8) + <u64>load<u32>(r + RS_INACTIVE);
}
