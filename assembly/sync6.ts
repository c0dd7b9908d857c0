// sync6.ts — session sync for sessions whose client side is IPv6, the counterpart of sync.ts's
// importConn: the event's IPv6 part (EVT_CIP6..EVT_LIP6) carries the record's CONN6 part. The
// host has mapped the master's service, real-server and LIP indices to this director's, and
// sync.ts has checked them and that the service is IPv6.
import {
  CONNF_FWD_SHIFT, CONNF_OUT, CONNF_POOL, CONNF_USED, CONN_EXPIRES, CONN_LINK, CONN_RS,
  CONN_TMPL_CONTROLS, EVT_CIP6, EVT_CPORT, EVT_LIP, EVT_LIP6, EVT_LIPIDX, EVT_RIP, EVT_RIP6, EVT_RPORT,
  EVT_TEMPLATE_CREATED, EVT_TYPE, EVT_VIP6, EVT_VPORT, FWD_FNAT, FWD_NAT, HDR_LIP_CAP, IPPROTO_TCP, LIP6_ADDR,
  PROTO_V6, RSF_V6, RS_FLAGS, RS_RIP, SVC6_PERSIST_MASK, SVCF_PERSIST, SVC_FLAGS, SVC_PERSIST_TIMEOUT, SVC_VPORT,
  SYNC_BAD, SYNC_CONFLICT, SYNC_CREATED, SYNC_TABLE_FULL, SYNC_UPDATED, TO_UDP,
} from './abi';
import { lipAddress } from './fnat_pool';
import { flowHash6, flowHash6Masked } from './flow';
import { eq16, hdr } from './mem';
import { serviceAddress } from './service';
import { svc6Address } from './service6';
import { NO_CONN, allocConn, connAddress, freeConn, recOf, rsAddress, setTuple, timeoutMs } from './session';
import { lip6Address, lookupConn6, lookupTemplate6, newTemplate6, rs6Address, setAddresses6 } from './session6';
import { claimSyncedTuple, refreshImported, restoreConnx, settleImported } from './sync';

/** importConn6 creates or updates the IPv6 session (or template) described by the event at `e`. */
export function importConn6(e: usize, svcIdx: u32, rs: u32, proto: u32, fwd: u32, state: u32, now: u32): u32 {
  const p6 = proto | PROTO_V6;
  const r = rsAddress(rs);
  const rsV6 = (load<u8>(r + RS_FLAGS) & RSF_V6) != 0;
  // the server side must be what the event says: an IPv6 server, or an IPv4 one behind Full-NAT
  if (!rsV6 && fwd != FWD_FNAT) return SYNC_BAD;
  if (rsV6 ? !eq16(e + EVT_RIP6, rs6Address(rs)) : load<u32>(e + EVT_RIP) != load<u32>(r + RS_RIP)) return SYNC_BAD;
  const cip = e + EVT_CIP6;
  const vip = e + EVT_VIP6;
  const s = serviceAddress(svcIdx);
  if (load<u8>(e + EVT_TYPE) == EVT_TEMPLATE_CREATED) {
    if ((load<u8>(s + SVC_FLAGS) & SVCF_PERSIST) == 0) return SYNC_BAD;
    const mask = svc6Address(svcIdx) + SVC6_PERSIST_MASK;
    const tport = <u32>load<u16>(e + EVT_VPORT) << 16;
    // a template's key is the client network: the address must already be masked
    if ((load<u64>(cip) & load<u64>(mask)) != load<u64>(cip) || (load<u64>(cip + 8) & load<u64>(mask + 8)) != load<u64>(cip + 8) ||
      load<u16>(e + EVT_CPORT) != 0) return SYNC_BAD;
    const expires = now + load<u32>(s + SVC_PERSIST_TIMEOUT);
    const hash = flowHash6(cip, vip, tport, p6);
    const v = lookupTemplate6(hash, cip, mask, vip, tport, p6);
    if (v != 0) {
      const tc = connAddress(recOf(v));
      if (<u32>load<u16>(tc + CONN_RS) != rs) return SYNC_CONFLICT;
      store<u32>(tc + CONN_EXPIRES, expires);
      return SYNC_UPDATED;
    }
    const t = newTemplate6(hash, cip, mask, vip, tport, p6, <u32>load<u16>(e + EVT_RPORT), rs, svcIdx);
    if (t == NO_CONN) return SYNC_TABLE_FULL;
    store<u32>(connAddress(t) + CONN_EXPIRES, expires);
    return SYNC_CREATED;
  }

  const ports = <u32>load<u16>(e + EVT_CPORT) | (<u32>load<u16>(e + EVT_VPORT) << 16);
  const timeout = timeoutMs(proto == IPPROTO_TCP ? state : TO_UDP);
  const v = lookupConn6(flowHash6(cip, vip, ports, p6), cip, vip, ports, p6, false);
  if (v != 0) return refreshImported(v, e, r, rs, proto, state, now + timeout);
  const rport = <u32>load<u16>(e + EVT_RPORT);
  let flags: u8 = CONNF_USED | <u8>(fwd << CONNF_FWD_SHIFT);
  let lipIdx: u32 = 0;
  if (fwd == FWD_FNAT) {
    lipIdx = <u32>load<u16>(e + EVT_LIPIDX);
    if (lipIdx >= hdr(HDR_LIP_CAP)) return SYNC_BAD;
    // an IPv6 LIP is compared in full, an IPv4 one (NAT64) by its address
    if (rsV6 ? !eq16(lip6Address(lipIdx) + LIP6_ADDR, e + EVT_LIP6) : load<u32>(lipAddress(lipIdx)) != load<u32>(e + EVT_LIP)) return SYNC_BAD;
    flags |= CONNF_POOL | CONNF_OUT;
  } else if (fwd == FWD_NAT) {
    const outPorts = rport | ((ports & 0xffff) << 16);
    const rip6 = e + EVT_RIP6;
    if (lookupConn6(flowHash6(rip6, cip, outPorts, p6), rip6, cip, outPorts, p6, false) != 0) return SYNC_CONFLICT;
    flags |= CONNF_OUT;
  }
  const rec = allocConn();
  if (rec == NO_CONN) return SYNC_TABLE_FULL;
  const c = connAddress(rec);
  if (fwd == FWD_FNAT && !claimSyncedTuple(c, e, lipIdx, r, rsV6 ? 0 : load<u32>(r + RS_RIP), rsV6 ? e + EVT_RIP6 : 0, rport,
    p6, cip, true, ports, now)) {
    freeConn(rec);
    return SYNC_CONFLICT;
  }
  setTuple(c, 0, 0, ports, rsV6 ? 0 : load<u32>(r + RS_RIP), rport, rs, svcIdx, p6);
  // the IPv6 part first: the index keys settleImported inserts are computed from it
  setAddresses6(rec, cip, vip, rsV6 ? e + EVT_RIP6 : 0, rsV6 && fwd == FWD_FNAT ? e + EVT_LIP6 : 0);
  settleImported(c, rec, e, r, proto, state, flags, now + timeout);
  restoreConnx(rec, e);
  // a persistent service's connection joins its client's template, as newConn6 does
  if (load<u8>(s + SVC_FLAGS) & SVCF_PERSIST) {
    const mask = svc6Address(svcIdx) + SVC6_PERSIST_MASK;
    const tport = <u32>load<u16>(s + SVC_VPORT) << 16;
    const masked = e + EVT_CIP6;
    const tv = lookupTemplate6(flowHash6Masked(masked, mask, vip, tport, p6), masked, mask, vip, tport, p6);
    if (tv != 0) {
      const t = recOf(tv);
      const tc = connAddress(t);
      if (<u32>load<u16>(tc + CONN_RS) == rs) {
        store<u32>(c + CONN_LINK, t + 1);
        store<u32>(tc + CONN_TMPL_CONTROLS, load<u32>(tc + CONN_TMPL_CONTROLS) + 1);
        store<u32>(tc + CONN_EXPIRES, now + load<u32>(s + SVC_PERSIST_TIMEOUT));
      }
    }
  }
  return SYNC_CREATED;
}
