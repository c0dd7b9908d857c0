// session6.ts — IPv6 sessions, the counterpart of session.ts: the same records, the same index
// and the same expiry, with the addresses of a session whose client side is IPv6 in the record's
// CONN6 extension (HDR_CONN6_BASE + rec * CONN6_SIZE). Such a record has PROTO_V6 in CONN_PROTO,
// so IPv4 lookups, which compare the whole byte, never match it. NAT64 records keep their IPv4
// server side in the base record: their out key is an IPv4 key (found by the IPv4 path's LIP
// lookup, batch6.ts), their in key an IPv6 one.
import {
  CONNF_POOL, CONNF_TEMPLATE, CONN6_CIP, CONN6_LIP, CONN6_RIP, CONN6_SIZE, CONN6_VIP, CONN_CPORT, CONN_FLAGS,
  CONN_LIP, CONN_PROTO, CONN_RIP, CONN_RPORT, CONN_RS, HDR_CONN6_BASE, HDR_IDX_BASE, HDR_IDX_MASK, IDX_DIR_OUT,
  IDX_TAG_SHIFT, PROTO_V6, RSF_V6, RS_FLAGS, HDR_RS6_BASE, RS6_SIZE, HDR_LIP6_BASE, LIP6_SIZE, CONNF_USED,
  RS6_RIP, RS_PERSIST, RS_RIP,
} from './abi';
import { flowHash, flowHash6 } from './flow';
import { copy16, eq16, hdr } from './mem';
import { NO_CONN, allocConn, connAddress, indexInsert, recOf, rsAddress, setTuple } from './session';

// @ts-ignore: decorator
@inline export function conn6Address(rec: u32): usize {
  return <usize>(hdr(HDR_CONN6_BASE) + rec * CONN6_SIZE);
}

// @ts-ignore: decorator
@inline export function rs6Address(rs: u32): usize {
  return <usize>(hdr(HDR_RS6_BASE) + rs * RS6_SIZE);
}

// @ts-ignore: decorator
@inline export function lip6Address(lip: u32): usize {
  return <usize>(hdr(HDR_LIP6_BASE) + lip * LIP6_SIZE);
}

/** rsIsV6: the session's real server is IPv6 (else its server side is IPv4: NAT64) */
// @ts-ignore: decorator
@inline export function rsIsV6(c: usize): bool {
  return (load<u8>(rsAddress(<u32>load<u16>(c + CONN_RS)) + RS_FLAGS) & RSF_V6) != 0;
}

/** keyHash6: keyHash for a record with PROTO_V6 (the out key of NAT64 is an IPv4 one) */
export function keyHash6(c: usize, rec: u32, out: bool): u32 {
  const proto = <u32>load<u8>(c + CONN_PROTO);
  const x = conn6Address(rec);
  if (!out) return flowHash6(x + CONN6_CIP, x + CONN6_VIP, load<u32>(c + CONN_CPORT), proto);
  if (load<u8>(c + CONN_FLAGS) & CONNF_POOL) {
    if (!rsIsV6(c)) return flowHash(load<u32>(c + CONN_RIP), load<u32>(c + CONN_LIP), load<u32>(c + CONN_RPORT), proto & ~PROTO_V6);
    return flowHash6(x + CONN6_RIP, x + CONN6_LIP, load<u32>(c + CONN_RPORT), proto);
  }
  const ports = <u32>load<u16>(c + CONN_RPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16);
  return flowHash6(x + CONN6_RIP, x + CONN6_CIP, ports, proto);
}

/**
 * lookupConn6 finds the record whose IPv6 key in either direction equals the tuple seen in a
 * packet (addresses at `src` and `dst`); `proto` carries PROTO_V6. Returns the index slot value
 * (rec + 1, dir bit) or 0 on a miss. As lookupConn, with 16-byte compares.
 */
export function lookupConn6(hash: u32, src: usize, dst: usize, ports: u32, proto: u32, template: bool): u32 {
  const base = hdr(HDR_IDX_BASE);
  const mask = hdr(HDR_IDX_MASK);
  const tag = hash >>> IDX_TAG_SHIFT;
  const want: u8 = template ? CONNF_TEMPLATE : 0;
  let i = hash & mask;
  while (true) {
    const v = load<u32>(<usize>(base + (i << 2)));
    if (v == 0) return 0;
    if (v >>> IDX_TAG_SHIFT == tag) {
      const rec = recOf(v);
      const c = connAddress(rec);
      if (<u32>load<u8>(c + CONN_PROTO) == proto && (load<u8>(c + CONN_FLAGS) & CONNF_TEMPLATE) == want) {
        const x = conn6Address(rec);
        if ((v & IDX_DIR_OUT) == 0) {
          if (load<u32>(c + CONN_CPORT) == ports && eq16(x + CONN6_CIP, src) && eq16(x + CONN6_VIP, dst)) return v;
        } else if (eq16(x + CONN6_RIP, src)) {
          // a NAT64 record's rip6 is :: and no IPv6 packet comes from :: (parse6.ts)
          if (load<u8>(c + CONN_FLAGS) & CONNF_POOL) {
            if (load<u32>(c + CONN_RPORT) == ports && eq16(x + CONN6_LIP, dst)) return v;
          } else if ((<u32>load<u16>(c + CONN_RPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16)) == ports &&
            eq16(x + CONN6_CIP, dst)) {
            return v;
          }
        }
      }
    }
    i = (i + 1) & mask;
  }
  return 0;
}

/**
 * lookupTemplate6 finds the persistence template of client network (cip & mask), VIP and service
 * port `tport` (as lookupConn6 with `template`, but masking the client address on the fly).
 */
export function lookupTemplate6(hash: u32, cip: usize, mask6: usize, vip: usize, tport: u32, proto: u32): u32 {
  const base = hdr(HDR_IDX_BASE);
  const mask = hdr(HDR_IDX_MASK);
  const tag = hash >>> IDX_TAG_SHIFT;
  let i = hash & mask;
  while (true) {
    const v = load<u32>(<usize>(base + (i << 2)));
    if (v == 0) return 0;
    if (v >>> IDX_TAG_SHIFT == tag && (v & IDX_DIR_OUT) == 0) {
      const rec = recOf(v);
      const c = connAddress(rec);
      if (<u32>load<u8>(c + CONN_PROTO) == proto && (load<u8>(c + CONN_FLAGS) & CONNF_TEMPLATE) != 0 &&
        load<u32>(c + CONN_CPORT) == tport) {
        const x = conn6Address(rec);
        if ((load<u64>(cip) & load<u64>(mask6)) == load<u64>(x + CONN6_CIP) &&
          (load<u64>(cip + 8) & load<u64>(mask6 + 8)) == load<u64>(x + CONN6_CIP + 8) && eq16(x + CONN6_VIP, vip)) {
          return v;
        }
      }
    }
    i = (i + 1) & mask;
  }
  return 0;
}

/** setAddresses6 writes a record's IPv6 addresses (`rip`/`lip` 0: :: in the record) */
export function setAddresses6(rec: u32, cip: usize, vip: usize, rip: usize, lip: usize): void {
  const x = conn6Address(rec);
  copy16(x + CONN6_CIP, cip);
  copy16(x + CONN6_VIP, vip);
  if (rip != 0) copy16(x + CONN6_RIP, rip);
  else memory.fill(x + CONN6_RIP, 0, 16);
  if (lip != 0) copy16(x + CONN6_LIP, lip);
  else memory.fill(x + CONN6_LIP, 0, 16);
}

/** setMaskedCip6 writes cip & mask as a template's client network */
export function setMaskedCip6(rec: u32, cip: usize, mask6: usize): void {
  const x = conn6Address(rec);
  store<u64>(x + CONN6_CIP, load<u64>(cip) & load<u64>(mask6));
  store<u64>(x + CONN6_CIP + 8, load<u64>(cip + 8) & load<u64>(mask6 + 8));
}

/**
 * newTemplate6 creates the persistence template (client network cip & mask6, VIP, service port
 * tport) -> real server `rs`, indexed under `hash`; NO_CONN when the table is full. As
 * newTemplate; the caller sets its timer.
 */
export function newTemplate6(hash: u32, cip: usize, mask6: usize, vip: usize, tport: u32, proto: u32, rport: u32, rs: u32,
  svc: u32): u32 {
  const t = allocConn();
  if (t == NO_CONN) return NO_CONN;
  const r = rsAddress(rs);
  const rsV6 = (load<u8>(r + RS_FLAGS) & RSF_V6) != 0;
  const tc = connAddress(t);
  setTuple(tc, 0, 0, tport, rsV6 ? 0 : load<u32>(r + RS_RIP), rport, rs, svc, proto);
  setAddresses6(t, cip, vip, rsV6 ? rs6Address(rs) + RS6_RIP : 0, 0);
  setMaskedCip6(t, cip, mask6);
  store<u8>(tc + CONN_FLAGS, CONNF_USED | CONNF_TEMPLATE);
  indexInsert(hash, t, false);
  store<u32>(r + RS_PERSIST, load<u32>(r + RS_PERSIST) + 1);
  return t;
}
