// mh.ts — Maglev hashing (Eisenbud et al., NSDI 2016, §3.4; IPVS ip_vs_mh.c): every eligible
// server walks its own permutation of the M table entries (offset and skip from two hashes of its
// address:port) and claims its next free preferred entry, weight/gcd entries per turn, until the
// table is full. Removing one of N servers remaps about 1/N of the keys; the others stay put.
// Lookup: table[hash(client[, port]) % M]. M must be prime (default 65537) so every skip
// generates a full permutation.
import { HDR_SCHED_SIZE, NO_RS, RS_RIP, RS_RPORT, RS_SCHED_SCRATCH, SVCF_FALLBACK, SVC_FLAGS } from '../abi';
import { hdr } from '../mem';
import { destAt, destCount, eligible, rsAt, usableNow, weightOf } from './avail';
import { gcd32, mix32, tableOf } from './hash';

// @ts-ignore: decorator
@inline const OFFSET: u32 = RS_SCHED_SCRATCH;
// @ts-ignore: decorator
@inline const SKIP: u32 = RS_SCHED_SCRATCH + 4;
// @ts-ignore: decorator
@inline const NEXT: u32 = RS_SCHED_SCRATCH + 8;

export function isPrime(m: u32): bool {
  if (m < 2) return false;
  for (let d: u32 = 2; d * d <= m; d++) if (m % d == 0) return false;
  return true;
}

/** rebuildMaglev fills the service's M-entry table; returns 1 if M is not prime (table emptied) */
export function rebuildMaglev(svc: usize): u32 {
  const t = tableOf(svc);
  const m = hdr(HDR_SCHED_SIZE);
  for (let i: u32 = 0; i < m; i++) store<u16>(t + (i << 1), <u16>NO_RS);
  if (!isPrime(m)) return 1;
  const n = destCount(svc);
  let g: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const r = rsAt(destAt(svc, k));
    if (!eligible(r)) continue;
    g = gcd32(weightOf(r), g);
    const id = load<u32>(r + RS_RIP) ^ (<u32>load<u16>(r + RS_RPORT) * 0x9e3779b1);
    store<u32>(r + OFFSET, mix32(id ^ 0x2545f491) % m);
    store<u32>(r + SKIP, mix32(id ^ 0x6a09e667) % (m - 1) + 1);
    store<u32>(r + NEXT, 0);
  }
  if (g == 0) return 0;
  let filled: u32 = 0;
  while (true) {
    for (let k: u32 = 0; k < n; k++) {
      const rs = destAt(svc, k);
      const r = rsAt(rs);
      if (!eligible(r)) continue;
      const turns = weightOf(r) / g;
      const offset = <u64>load<u32>(r + OFFSET);
      const skip = <u64>load<u32>(r + SKIP);
      let next = load<u32>(r + NEXT);
      for (let turn: u32 = 0; turn < turns; turn++) {
        let c = <u32>((offset + <u64>next * skip) % <u64>m);
        while (load<u16>(t + (c << 1)) != <u16>NO_RS) {
          next++;
          c = <u32>((offset + <u64>next * skip) % <u64>m);
        }
        store<u16>(t + (c << 1), <u16>rs);
        next++;
        if (++filled == m) {
          store<u32>(r + NEXT, next);
          return 0;
        }
      }
      store<u32>(r + NEXT, next);
    }
  }
  return 0;
}

/** lookupMaglev: the entry of hash(key); with fallback, the next usable server along the table */
export function lookupMaglev(svc: usize, key: u32): u32 {
  const t = tableOf(svc);
  const m = hdr(HDR_SCHED_SIZE);
  const at = mix32(key) % m;
  const rs = <u32>load<u16>(t + (at << 1));
  if (rs == NO_RS) return NO_RS;
  if (usableNow(rsAt(rs))) return rs;
  if ((load<u8>(svc + SVC_FLAGS) & SVCF_FALLBACK) == 0) return NO_RS;
  for (let i: u32 = 1; i < m; i++) {
    const alt = <u32>load<u16>(t + (((at + i) % m) << 1));
    if (alt != rs && usableNow(rsAt(alt))) return alt;
  }
  return NO_RS;
}
