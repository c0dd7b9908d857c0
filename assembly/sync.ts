// sync.ts — the backup director's side of session sync (as IPVS's sync daemon): a session or
// persistence template the master created, or a session it moved to another TCP state, arrives
// as an event record, and importConn makes the same here, so packets that reach this director
// after a takeover find their session and a persistent client's next connection its server.
// The host has already mapped the master's service, real-server and LIP indices to this one's.
import {
  CONNF_ACTIVE, CONNF_OUT, CONNF_POOL, CONNF_TEMPLATE, CONNF_USED, CONNF_FWD_SHIFT, CONN_CDEV,
  CONN_CIP, CONN_CMAC, CONN_CPORT, CONN_EXPIRES, CONN_FLAGS, CONN_LIP, CONN_LIPIDX, CONN_LPORT,
  CONN_PROTO, CONN_RIP, CONN_RPORT, CONN_RS, CONN_STATE, CONN_SVC, CONN_TMPL_CONTROLS, CONN_VIP, EVT_CDEV, EVT_CIP,
  EVT_CMAC, EVT_CPORT, EVT_FWD, EVT_LIP, EVT_LIPIDX, EVT_LPORT, EVT_PROTO, EVT_RIP, EVT_RPORT,
  EVT_CREATED, EVT_TEMPLATE_CREATED, EVT_TYPE, CONN_LINK, RS_PERSIST, SVCF_PERSIST, SVC_PERSIST_MASK,
  SVC_PERSIST_TIMEOUT, SVC_VPORT, EVT_RS, EVT_STATE, EVT_SVC, EVT_VIP, EVT_VPORT, CONNF_DETACHED, HDR_CONN_HIGH, FWD_DR, FWD_FNAT, FWD_NAT, FWD_TUN, HDR_DEV_COUNT,
  HDR_LIP_CAP, HDR_RS_CAP, HDR_SVC_CAP, IPPROTO_TCP, IPPROTO_UDP, LIP_USED,
  RSF_REMOVED, RSF_USED, RS_ACTIVE, RS_FLAGS, RS_INACTIVE, RS_SVC, SVCF_USED,
  SVC_FLAGS, SYNC_BAD, SYNC_CONFLICT, SYNC_CREATED, SYNC_TABLE_FULL, SYNC_UPDATED, TCP_S_COUNT,
  TCP_S_ESTABLISHED, TCP_S_NONE, TO_UDP, PROTO_V6, SVCF2_V6, SVC_FLAGS2, CONNXF_PROXY, CONNXF_TOA, CONNX_FLAGS,
  CONNX_SIZE, EVT_CONNX, EVT_CONNX_FLAGS, EVT_PROXY_MARK, EVT_SEQ_DELTA_IN, HDR_CONNX_BASE, HDR_PROXY_BASE, SVCF_PROXY_V1,
  SVCF_PROXY_V2, SYNC_NO_CONNX,
} from './abi';
import { clientAddrFlags, proxyLengthOf, proxyMark } from './clientaddr';
import { embryonicChange } from './embryonic';
import { writeEvent } from './events';
import { holdTuple, lipAddress, tupleFree } from './fnat_pool';
import { flowHash } from './flow';
import { bswap16, copy6, hdr, timeReached } from './mem';
import { serviceAddress } from './service';
import {
  NO_CONN, allocConn, connAddress, freeConn, indexInsert, keyHash, lookupConn, newTemplate, recOf, rsAddress, setTuple,
  timeoutMs,
} from './session';
import { connxAddress } from './seqadj';
import { importConn6 } from './sync6';
import { applyTcpState } from './tcp_state';

/** importConn creates or updates the session described by the event record at `e`. */
export function importConn(e: usize, now: u32): u32 {
  const rawProto = <u32>load<u8>(e + EVT_PROTO);
  const proto = rawProto & ~(<u32>PROTO_V6);
  const fwd = <u32>load<u8>(e + EVT_FWD);
  const svcIdx = <u32>load<u16>(e + EVT_SVC);
  const rs = <u32>load<u16>(e + EVT_RS);
  const state = <u32>load<u8>(e + EVT_STATE);
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return SYNC_BAD;
  if (fwd != FWD_NAT && fwd != FWD_DR && fwd != FWD_TUN && fwd != FWD_FNAT) return SYNC_BAD;
  if (svcIdx >= hdr(HDR_SVC_CAP) || rs >= hdr(HDR_RS_CAP) || state >= TCP_S_COUNT) return SYNC_BAD;
  if ((load<u8>(serviceAddress(svcIdx) + SVC_FLAGS) & SVCF_USED) == 0) return SYNC_BAD;
  const r = rsAddress(rs);
  if ((load<u8>(r + RS_FLAGS) & (RSF_USED | RSF_REMOVED)) != RSF_USED || load<u32>(r + RS_SVC) != svcIdx) return SYNC_BAD;
  if (<u32>load<u8>(e + EVT_CDEV) >= hdr(HDR_DEV_COUNT)) return SYNC_BAD;
  // an IPv6 client side: the record's CONN6 part travels in the event's IPv6 part (sync6.ts)
  const v6 = (rawProto & PROTO_V6) != 0;
  if (v6 != ((load<u8>(serviceAddress(svcIdx) + SVC_FLAGS2) & SVCF2_V6) != 0)) return SYNC_BAD;
  const template = load<u8>(e + EVT_TYPE) == EVT_TEMPLATE_CREATED;
  if (!template) {
    const x = connxCheck(e, svcIdx, v6);
    if (x != 0) return x;
  }
  if (v6) return importConn6(e, svcIdx, rs, proto, fwd, state, now);
  if (template) return importTemplate(e, svcIdx, rs, proto, now);

  const cip = load<u32>(e + EVT_CIP);
  const vip = load<u32>(e + EVT_VIP);
  const ports = <u32>load<u16>(e + EVT_CPORT) | (<u32>load<u16>(e + EVT_VPORT) << 16);
  const timeout = timeoutMs(proto == IPPROTO_TCP ? state : TO_UDP);
  const v = lookupConn(flowHash(cip, vip, ports, proto), cip, vip, ports, proto, false);
  if (v != 0) return refreshImported(v, e, r, rs, proto, state, now + timeout);

  const rip = load<u32>(e + EVT_RIP);
  const rport = <u32>load<u16>(e + EVT_RPORT);
  let flags: u8 = CONNF_USED | <u8>(fwd << CONNF_FWD_SHIFT);
  let lipIdx: u32 = 0;
  if (fwd == FWD_FNAT) {
    lipIdx = <u32>load<u16>(e + EVT_LIPIDX);
    if (lipIdx >= hdr(HDR_LIP_CAP) || load<u32>(lipAddress(lipIdx)) != load<u32>(e + EVT_LIP)) return SYNC_BAD;
    flags |= CONNF_POOL | CONNF_OUT;
  } else if (fwd == FWD_NAT) {
    const outPorts = rport | ((ports & 0xffff) << 16);
    if (lookupConn(flowHash(rip, cip, outPorts, proto), rip, cip, outPorts, proto, false) != 0) return SYNC_CONFLICT;
    flags |= CONNF_OUT;
  }
  const rec = allocConn();
  if (rec == NO_CONN) return SYNC_TABLE_FULL;
  const c = connAddress(rec);
  if (fwd == FWD_FNAT && !claimSyncedTuple(c, e, lipIdx, r, rip, 0, rport, proto, e + EVT_CIP, false, ports, now)) {
    freeConn(rec);
    return SYNC_CONFLICT;
  }
  setTuple(c, cip, vip, ports, rip, rport, rs, svcIdx, proto);
  settleImported(c, rec, e, r, proto, state, flags, now + timeout);
  restoreConnx(rec, e);
  linkTemplate(rec, c, svcIdx, rs, proto, now);
  return SYNC_CREATED;
}

/**
 * refreshImported: the session at index slot value `v` is known already (an earlier sync, or
 * traffic seen here): it follows the master's state, timer and stream translation (the SYN
 * proxy's deltas arrive with the state change its server's SYN-ACK caused), unless it went to
 * another server.
 */
export function refreshImported(v: u32, e: usize, r: usize, rs: u32, proto: u32, state: u32, expires: u32): u32 {
  const rec = recOf(v);
  const c = connAddress(rec);
  if (<u32>load<u16>(c + CONN_RS) != rs) return SYNC_CONFLICT;
  if (proto == IPPROTO_TCP && <u32>load<u8>(c + CONN_STATE) != state) applyTcpState(c, r, state);
  store<u32>(c + CONN_EXPIRES, expires);
  restoreConnx(rec, e);
  return SYNC_UPDATED;
}

/**
 * connxCheck: 0 when this director can keep the stream translation the event at `e` carries for
 * service `svc`, else why not. A session whose segments are translated (SYN proxy, PROXY header)
 * needs extension records, and one whose header the server has not acknowledged yet needs the
 * PROXY marks too; without them it would be forwarded with the wrong sequence numbers, which
 * breaks it as surely as no session (SYNC_NO_CONNX). TOA alone only matters during the
 * handshake. A pending header's length (the delta in) is what clientaddr.ts will copy and
 * checksum: it must be the header this session's service sends (SYNC_BAD otherwise). For an
 * IPv6 client that check is not written yet, so an IPv6 session synced in the one round trip
 * before the server acknowledged its header is refused (SYNC_BAD); once acknowledged it syncs.
 */
export function connxCheck(e: usize, svc: u32, v6: bool): u32 {
  const f = <u32>load<u16>(e + EVT_CONNX_FLAGS);
  if ((f & ~(<u32>CONNXF_TOA)) == 0) return 0;
  if (hdr(HDR_CONNX_BASE) == 0) return SYNC_NO_CONNX;
  if ((f & CONNXF_PROXY) == 0) return 0;
  if (hdr(HDR_PROXY_BASE) == 0) return SYNC_NO_CONNX;
  const pf = clientAddrFlags(svc) & (SVCF_PROXY_V1 | SVCF_PROXY_V2);
  if (v6 || pf == 0) return SYNC_BAD;
  const h = proxyLengthOf(load<u32>(e + EVT_CIP), load<u32>(e + EVT_VIP), <u32>load<u16>(e + EVT_CPORT),
    <u32>load<u16>(e + EVT_VPORT), (pf & SVCF_PROXY_V2) != 0);
  return load<u32>(e + EVT_SEQ_DELTA_IN) == h ? 0 : SYNC_BAD;
}

/**
 * restoreConnx gives record `rec` the extension record (and PROXY mark) the event at `e` carries,
 * exactly as the sending director had them (events.ts writeEvent), or zeroes when it had none.
 */
export function restoreConnx(rec: u32, e: usize): void {
  const x = connxAddress(rec);
  if (x == 0) return;
  memory.copy(x, e + EVT_CONNX, CONNX_SIZE);
  const mark = proxyMark(rec);
  if (mark != 0 && (load<u16>(x + CONNX_FLAGS) & CONNXF_PROXY) != 0) store<u32>(mark, load<u32>(e + EVT_PROXY_MARK));
}

/**
 * claimSyncedTuple takes the event's LIP:lport for session `c` toward server `r` (rip, or rip6
 * when not 0): the tuple must be free here too, or a quarantined one of this client (tupleFree,
 * client addresses at `cli`). False: another session holds it here.
 */
export function claimSyncedTuple(c: usize, e: usize, lipIdx: u32, r: usize, rip: u32, rip6: usize, rport: u32, proto: u32,
  cli: usize, cliV6: bool, ports: u32, now: u32): bool {
  const lport = <u32>load<u16>(e + EVT_LPORT);
  if (!tupleFree(rip, rip6, lipIdx, rport | (lport << 16), proto, cli, cliV6, ports, now)) return false;
  // an IPv6 LIP's LIP_ADDR is its fold, as the event's EVT_LIP and the record's CONN_LIP
  holdTuple(c, lipIdx, lport, r);
  return true;
}

/**
 * settleImported finishes an imported connection whose tuple is written: client device and MAC,
 * TCP state and the server's active/inactive count, flags, timer, and both index keys.
 */
export function settleImported(c: usize, rec: u32, e: usize, r: usize, proto: u32, state: u32, flags: u8, expires: u32): void {
  store<u8>(c + CONN_CDEV, load<u8>(e + EVT_CDEV));
  copy6(c + CONN_CMAC, e + EVT_CMAC);
  store<u8>(c + CONN_STATE, <u8>state);
  if (proto == IPPROTO_TCP) embryonicChange(TCP_S_NONE, state);
  if (proto == IPPROTO_TCP && state == TCP_S_ESTABLISHED) {
    flags |= CONNF_ACTIVE;
    store<u32>(r + RS_ACTIVE, load<u32>(r + RS_ACTIVE) + 1);
  } else {
    store<u32>(r + RS_INACTIVE, load<u32>(r + RS_INACTIVE) + 1);
  }
  store<u8>(c + CONN_FLAGS, flags & ~CONNF_TEMPLATE);
  store<u32>(c + CONN_EXPIRES, expires);
  indexInsert(keyHash(c, false), rec, false);
  if (flags & CONNF_OUT) indexInsert(keyHash(c, true), rec, true);
}

/**
 * linkTemplate attaches an imported connection of a persistent service to its client's template,
 * as newConn does: the template counts it and lives at least as long as it.
 */
function linkTemplate(rec: u32, c: usize, svcIdx: u32, rs: u32, proto: u32, now: u32): void {
  const s = serviceAddress(svcIdx);
  if ((load<u8>(s + SVC_FLAGS) & SVCF_PERSIST) == 0) return;
  const tcip = load<u32>(c + CONN_CIP) & load<u32>(s + SVC_PERSIST_MASK);
  const vip = load<u32>(c + CONN_VIP);
  const tport = <u32>load<u16>(s + SVC_VPORT) << 16;
  const v = lookupConn(flowHash(tcip, vip, tport, proto), tcip, vip, tport, proto, true);
  if (v == 0) return;
  const t = recOf(v);
  const tc = connAddress(t);
  if (<u32>load<u16>(tc + CONN_RS) != rs) return;
  store<u32>(c + CONN_LINK, t + 1);
  store<u32>(tc + CONN_TMPL_CONTROLS, load<u32>(tc + CONN_TMPL_CONTROLS) + 1);
  store<u32>(tc + CONN_EXPIRES, now + load<u32>(s + SVC_PERSIST_TIMEOUT));
}

/** importTemplate creates or refreshes a persistence template (client network -> server). */
function importTemplate(e: usize, svcIdx: u32, rs: u32, proto: u32, now: u32): u32 {
  const s = serviceAddress(svcIdx);
  if ((load<u8>(s + SVC_FLAGS) & SVCF_PERSIST) == 0) return SYNC_BAD;
  const tcip = load<u32>(e + EVT_CIP);
  const vip = load<u32>(e + EVT_VIP);
  const tport = <u32>load<u16>(e + EVT_VPORT) << 16;
  // a template's key is the client network: the record must already be masked
  if (tcip != (tcip & load<u32>(s + SVC_PERSIST_MASK)) || load<u16>(e + EVT_CPORT) != 0) return SYNC_BAD;
  const expires = now + load<u32>(s + SVC_PERSIST_TIMEOUT);
  const hash = flowHash(tcip, vip, tport, proto);
  const v = lookupConn(hash, tcip, vip, tport, proto, true);
  if (v != 0) {
    const tc = connAddress(recOf(v));
    if (<u32>load<u16>(tc + CONN_RS) != rs) return SYNC_CONFLICT;
    store<u32>(tc + CONN_EXPIRES, expires);
    return SYNC_UPDATED;
  }
  const t = newTemplate(hash, tcip, vip, tport, proto, load<u32>(e + EVT_RIP), <u32>load<u16>(e + EVT_RPORT), rs, svcIdx);
  if (t == NO_CONN) return SYNC_TABLE_FULL;
  store<u32>(connAddress(t) + CONN_EXPIRES, expires);
  return SYNC_CREATED;
}

/**
 * exportConn writes record `rec` at `e` as an EVT_CREATED (connection) or EVT_TEMPLATE_CREATED
 * (template) record when it is live: the bulk sync a backup asks for when it starts, and the
 * table a demoted master hands to the new one. Returns 1 if written, 0 otherwise.
 */
export function exportConn(rec: u32, e: usize, now: u32): u32 {
  if (rec >= hdr(HDR_CONN_HIGH)) return 0;
  const c = connAddress(rec);
  const flags = load<u8>(c + CONN_FLAGS);
  if ((flags & CONNF_USED) == 0 || (flags & CONNF_DETACHED) != 0) return 0;
  const template = (flags & CONNF_TEMPLATE) != 0;
  // a template that still controls connections lives on whatever its timer says
  if (timeReached(load<u32>(c + CONN_EXPIRES), now) && !(template && load<u32>(c + CONN_TMPL_CONTROLS) != 0)) return 0;
  writeEvent(e, template ? EVT_TEMPLATE_CREATED : EVT_CREATED, c);
  return 1;
}
