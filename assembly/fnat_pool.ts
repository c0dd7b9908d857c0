// fnat_pool.ts — Full-NAT LIP:lport allocation over bitmaps the host lays out (one PORTMAP_SIZE
// bitmap per LIP, bit p = port p in use). A port is unique per LIP across all real servers, so
// the out key (RS -> LIP:lport) of a session is unique by construction. Released when the
// session expires. Allocation scans 32 ports per load from a per-LIP cursor, so a nearly full
// pool costs a few hundred loads at worst, and only on the new-session path.
import {
  HDR_LIP_BASE, HDR_POOL_BASE, HDR_PORTMAP_BASE, LIP_CURSOR, LIP_PORT_MAX, LIP_PORT_MIN, LIP_SIZE,
  LIP_USED, PORTMAP_SIZE, SVC_POOL_COUNT, SVC_POOL_CURSOR, SVC_POOL_FIRST,
} from './abi';
import { hdr } from './mem';

// @ts-ignore: decorator
@inline export const NO_PORT: u32 = 0xffffffff;

// @ts-ignore: decorator
@inline export function lipAddress(lip: u32): usize {
  return <usize>(hdr(HDR_LIP_BASE) + lip * LIP_SIZE);
}

function allocFromLip(lip: u32): u32 {
  const l = lipAddress(lip);
  let min = <u32>load<u16>(l + LIP_PORT_MIN);
  const max = <u32>load<u16>(l + LIP_PORT_MAX);
  if (min == 0) min = 1;
  if (max < min) return 0;
  const size = max - min + 1;
  if (load<u32>(l + LIP_USED) >= size) return 0;
  const map = <usize>(hdr(HDR_PORTMAP_BASE) + lip * PORTMAP_SIZE);
  let p = load<u32>(l + LIP_CURSOR);
  if (p < min || p > max) p = min;
  let remaining: i32 = <i32>size + 32;
  while (remaining > 0) {
    const word = p >> 5;
    const wordEnd = (word << 5) + 31;
    let free = ~load<u32>(map + (word << 2)) & (<u32>0xffffffff << (p & 31));
    if (wordEnd > max) free &= <u32>0xffffffff >>> (wordEnd - max);
    if (free != 0) {
      const port = (word << 5) + ctz<u32>(free);
      store<u32>(map + (word << 2), load<u32>(map + (word << 2)) | (<u32>1 << (port & 31)));
      store<u32>(l + LIP_USED, load<u32>(l + LIP_USED) + 1);
      store<u32>(l + LIP_CURSOR, port + 1 > max ? min : port + 1);
      return port;
    }
    const last = wordEnd < max ? wordEnd : max;
    remaining -= <i32>(last - p + 1);
    p = last + 1 > max ? min : last + 1;
  }
  return 0;
}

/**
 * allocPort takes a free LIP:lport from the service's pool, trying its LIPs round robin.
 * Returns lipIndex << 16 | port, or NO_PORT when every LIP of the pool is exhausted.
 */
export function allocPort(svc: usize): u32 {
  const n = <u32>load<u16>(svc + SVC_POOL_COUNT);
  if (n == 0) return NO_PORT;
  const first = load<u32>(svc + SVC_POOL_FIRST);
  let k = <u32>load<u16>(svc + SVC_POOL_CURSOR);
  if (k >= n) k = 0;
  const list = <usize>hdr(HDR_POOL_BASE);
  for (let tries: u32 = 0; tries < n; tries++) {
    const lip = <u32>load<u16>(list + ((first + k) << 1));
    k = k + 1 == n ? 0 : k + 1;
    const port = allocFromLip(lip);
    if (port != 0) {
      store<u16>(svc + SVC_POOL_CURSOR, <u16>k);
      return (lip << 16) | port;
    }
  }
  return NO_PORT;
}

/** releasePort frees a port taken by allocPort (port as a value, not wire order). */
export function releasePortValue(lip: u32, port: u32): void {
  const l = lipAddress(lip);
  const map = <usize>(hdr(HDR_PORTMAP_BASE) + lip * PORTMAP_SIZE);
  const w = map + ((port >> 5) << 2);
  const bit = <u32>1 << (port & 31);
  if (load<u32>(w) & bit) {
    store<u32>(w, load<u32>(w) & ~bit);
    store<u32>(l + LIP_USED, load<u32>(l + LIP_USED) - 1);
  }
}

/** releasePort frees the port of a session record (CONN_LPORT is wire order). */
// @ts-ignore: decorator
@inline export function releasePort(lip: u32, lportWire: u32): void {
  releasePortValue(lip, ((lportWire & 0xff) << 8) | (lportWire >> 8));
}
