// sh.ts — source hashing and destination hashing (ip_vs_sh.c, ip_vs_dh.c): a 256-bucket table
// filled with the eligible servers in turn, each taking weight/gcd consecutive buckets per turn,
// looked up by a hash of the client address (sh, plus its port with sh-port) or of the
// destination address (dh). Deviation from IPVS, on purpose: the table holds only servers that
// can take connections, so a quiesced or failed server's clients move to the others at the
// rebuild instead of being dropped; weights are divided by their gcd so large weights do not
// distort the shares.
import { NO_RS, SH_TABLE_SIZE, SVCF_FALLBACK, SVC_FLAGS } from '../abi';
import { destAt, destCount, eligible, rsAt, usableNow, weightOf } from './avail';
import { gcd32, hash32, tableOf } from './hash';

export function rebuildHashTable(svc: usize): void {
  const t = tableOf(svc);
  const n = destCount(svc);
  let g: u32 = 0;
  let any = false;
  for (let k: u32 = 0; k < n; k++) {
    const r = rsAt(destAt(svc, k));
    if (!eligible(r)) continue;
    g = gcd32(weightOf(r), g);
    any = true;
  }
  if (!any) {
    for (let b: u32 = 0; b < SH_TABLE_SIZE; b++) store<u16>(t + (b << 1), <u16>NO_RS);
    return;
  }
  let k: u32 = 0;
  let taken: u32 = 0;
  for (let b: u32 = 0; b < SH_TABLE_SIZE; b++) {
    // find the next eligible server from position k (there is at least one)
    while (!eligible(rsAt(destAt(svc, k)))) {
      k = k + 1 >= n ? 0 : k + 1;
      taken = 0;
    }
    const rs = destAt(svc, k);
    store<u16>(t + (b << 1), <u16>rs);
    if (++taken >= weightOf(rsAt(rs)) / g) {
      k = k + 1 >= n ? 0 : k + 1;
      taken = 0;
    }
  }
}

/** lookupHashTable: the server of bucket hash(key); with fallback, the next usable one. */
export function lookupHashTable(svc: usize, key: u32): u32 {
  const t = tableOf(svc);
  const b = hash32(key, 8);
  const rs = <u32>load<u16>(t + (b << 1));
  if (rs == NO_RS) return NO_RS;
  if (usableNow(rsAt(rs))) return rs;
  if ((load<u8>(svc + SVC_FLAGS) & SVCF_FALLBACK) == 0) return NO_RS;
  for (let i: u32 = 1; i < SH_TABLE_SIZE; i++) {
    const alt = <u32>load<u16>(t + (((b + i) & (SH_TABLE_SIZE - 1)) << 1));
    if (alt != NO_RS && usableNow(rsAt(alt))) return alt;
  }
  return NO_RS;
}
