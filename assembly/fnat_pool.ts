// fnat_pool.ts — Full-NAT LIP:lport choice. A tuple LIP:lport -> RIP:rport is unique per real
// server address and port, not per LIP (as the kernel's NAT, nf_nat_used_tuple): the session
// index's out key (RIP:rport -> LIP:lport) is the one record of what is in use, so the pool's
// capacity is (ports per LIP) x LIPs x servers, and no bitmap has to agree with the table.
//
// Why tuples are held past their connection: a real server that closed first keeps the tuple in
// TIME_WAIT (Linux: 60 s). A SYN from ANOTHER client on that tuple carries an unrelated sequence
// number and timestamp clock, so the server answers it with an ACK instead of a SYN-ACK
// (tcp_timewait_state_process), the client resets and retries a second later: under short
// connections the rate collapsed from 25k/s to 300/s with nothing counted (issue 8). So:
//   - a client that reuses its own tuple keeps its LIP:lport (the server sees the same 4-tuple
//     again, with this client's monotonic ISN and timestamps, and accepts the SYN, as it does
//     behind the kernel's NAT);
//   - a tuple is handed to another client only HDR_FNAT_QUARANTINE ms after its last packet: a
//     Full-NAT TCP session ends at its state's own timeout (a closed one is logged and gone from
//     the connection table within the fin_wait/time_wait/close timeouts), and leaves its record
//     behind, detached, holding the out key until its last packet + the quarantine
//     (session.ts endExpired); so does one that ends early because its client moved on (reuse
//     towards another server, batch.ts retirePrevious).
// IPv6: the same pool holds IPv6 LIPs (LIP_ADDR their fold, the address in the LIP6 extension);
// the host gives a service only the LIPs of its real servers' family (apply.ts). A 6->6 tuple is an
// IPv6 out key; a NAT64 one (IPv6 client, IPv4 server) an IPv4 out key in an IPv6 record, so an
// IPv4 tuple is free only when neither kind of record holds it.
// Never allocates; the probe budget bounds the work of one new connection.
import {
  CONNF_DETACHED, CONN6_CIP, CONN6_VIP, CONN_CIP, CONN_CPORT, CONN_EXPIRES, CONN_FLAGS, CONN_LIP, CONN_LIPIDX,
  CONN_LPORT, CONN_PROTO, CONN_RS, CONN_VIP, DROP_FNAT_BUSY, DROP_POOL_EXHAUSTED, FNAT_PROBES, HDR_CONN6_BASE,
  HDR_LIP_BASE, HDR_LIP_CAP, HDR_POOL_BASE, LIP6_ADDR, LIP_ADDR, LIP_CURSOR, LIP_PORT_MAX, LIP_PORT_MIN, LIP_SIZE,
  LIP_USED, PROTO_V6, RS_FNAT_HELD, STAT_FNAT_PROBE_BUSY, STAT_FNAT_REUSED, SVC_POOL_COUNT, SVC_POOL_CURSOR,
  SVC_POOL_FIRST,
} from './abi';
import { flowHash, flowHash6 } from './flow';
import { bswap16, eq16, hdr, timeReached } from './mem';
import { connAddress, connGone, endExpired, expireConn, lookupConn, recOf, rsAddress } from './session';
import { conn6Address, lip6Address, lookupConn6 } from './session6';
import { count } from './stats';

/** no LIP hint: the connection is new, not a client reusing its tuple */
// @ts-ignore: decorator
@inline export const NO_LIP: u32 = 0xffffffff;

// @ts-ignore: decorator
@inline export function lipAddress(lip: u32): usize {
  return <usize>(hdr(HDR_LIP_BASE) + lip * LIP_SIZE);
}

/**
 * tupleHolder: the index slot value of the session holding the out key rip:rport -> lip:lport
 * (`ports` = rport | lport << 16, raw) with LIP index `lip`, or 0. `rip6` != 0: an IPv6 server
 * and the LIP's IPv6 address; else an IPv4 server, whose tuple an IPv4 session or a NAT64 one
 * may hold (the second look only on a director laid out for IPv6).
 */
function tupleHolder(rip: u32, rip6: usize, lip: u32, ports: u32, proto: u32): u32 {
  const p = proto & ~(<u32>PROTO_V6);
  if (rip6 != 0) {
    const lip6 = lip6Address(lip) + LIP6_ADDR;
    const p6 = p | PROTO_V6;
    return lookupConn6(flowHash6(rip6, lip6, ports, p6), rip6, lip6, ports, p6, false);
  }
  const lipAddr = load<u32>(lipAddress(lip) + LIP_ADDR);
  const h = flowHash(rip, lipAddr, ports, p);
  const v = lookupConn(h, rip, lipAddr, ports, p, false);
  if (v != 0 || hdr(HDR_CONN6_BASE) == 0) return v;
  return lookupConn(h, rip, lipAddr, ports, p | PROTO_V6, false);
}

/**
 * quarantinedFor: record `rec` (at `o`) is a detached tuple of the client tuple at `cli` (client
 * then VIP address, 4 bytes each, or 16 with `cliV6`) and `cports` = cport | vport << 16.
 */
function quarantinedFor(rec: u32, o: usize, cli: usize, cliV6: bool, cports: u32): bool {
  if ((load<u8>(o + CONN_FLAGS) & CONNF_DETACHED) == 0 || load<u32>(o + CONN_CPORT) != cports) return false;
  if (((load<u8>(o + CONN_PROTO) & PROTO_V6) != 0) != cliV6) return false;
  if (!cliV6) return load<u32>(o + CONN_CIP) == load<u32>(cli) && load<u32>(o + CONN_VIP) == load<u32>(cli + 4);
  const x = conn6Address(rec);
  return eq16(x + CONN6_CIP, cli) && eq16(x + CONN6_VIP, cli + 16);
}

/**
 * tupleFree: no session holds the out key rip:rport -> lip:lport (see tupleHolder for rip6). A
 * record found there that is stale (its time has come, or its server is gone) is ended now; a
 * quarantined tuple of this same client tuple (quarantinedFor) is released to it, since whatever
 * TIME_WAIT the server keeps on it belongs to this client. Anything else is busy.
 */
export function tupleFree(rip: u32, rip6: usize, lip: u32, ports: u32, proto: u32, cli: usize, cliV6: bool, cports: u32,
  now: u32): bool {
  const v = tupleHolder(rip, rip6, lip, ports, proto);
  if (v == 0) return true;
  const rec = recOf(v);
  const o = connAddress(rec);
  if (quarantinedFor(rec, o, cli, cliV6, cports) || connGone(o)) {
    expireConn(rec);
    return true;
  }
  if (timeReached(load<u32>(o + CONN_EXPIRES), now)) {
    // its connection is over; its tuple may stay held in quarantine, for this client too
    if (endExpired(rec, now)) return true;
    if (quarantinedFor(rec, o, cli, cliV6, cports)) {
      expireConn(rec);
      return true;
    }
  }
  count(STAT_FNAT_PROBE_BUSY, 1);
  return false;
}

/**
 * tupleHint: the LIP index of the session record `c` for its client's next connection, or
 * NO_LIP when its LIP has left the configuration (or changed its range) since it was taken.
 */
export function tupleHint(c: usize): u32 {
  const lip = <u32>load<u16>(c + CONN_LIPIDX);
  if (lip >= hdr(HDR_LIP_CAP)) return NO_LIP;
  const l = lipAddress(lip);
  const p = bswap16(<u32>load<u16>(c + CONN_LPORT));
  const valid = load<u32>(l + LIP_ADDR) == load<u32>(c + CONN_LIP) &&
    p >= <u32>load<u16>(l + LIP_PORT_MIN) && p <= <u32>load<u16>(l + LIP_PORT_MAX);
  return valid ? lip : NO_LIP;
}

/** holdTuple writes LIP:lport into the new session record `c` and counts the hold. */
export function holdTuple(c: usize, lip: u32, lportWire: u32, r: usize): void {
  store<u32>(c + CONN_LIP, load<u32>(lipAddress(lip) + LIP_ADDR));
  store<u16>(c + CONN_LPORT, <u16>lportWire);
  store<u16>(c + CONN_LIPIDX, <u16>lip);
  // multi-core: these counters and the cursors are shared; workers would need atomics or their
  // own LIP ranges (DPVS gives each lcore its own ports)
  store<u32>(lipAddress(lip) + LIP_USED, load<u32>(lipAddress(lip) + LIP_USED) + 1);
  store<u32>(r + RS_FNAT_HELD, load<u32>(r + RS_FNAT_HELD) + 1);
}

/** releaseTuple undoes holdTuple when the record holding the tuple (`c`) goes away. */
export function releaseTuple(c: usize): void {
  const l = lipAddress(<u32>load<u16>(c + CONN_LIPIDX));
  const r = rsAddress(<u32>load<u16>(c + CONN_RS));
  store<u32>(l + LIP_USED, load<u32>(l + LIP_USED) - 1);
  store<u32>(r + RS_FNAT_HELD, load<u32>(r + RS_FNAT_HELD) - 1);
}

/**
 * chooseTuple finds a LIP:lport for the new Full-NAT session `c` of client tuple (addresses at
 * `cli`, IPv6 with `cliV6`; cports = cport | vport << 16) toward real server `rs` (rip, or the
 * IPv6 address at rip6 when not 0; rportRaw wire order) of service `svc`, and holds it. First the client's previous LIP:lport (hintLip, hintPortWire) when it
 * reuses its tuple, then the pool's LIPs round robin, FNAT_PROBES ports each from the LIP's
 * cursor, so ports are handed out in least-recently-tried order. Returns 0, or the drop reason:
 * DROP_POOL_EXHAUSTED when the server's held tuples fill the pool, else DROP_FNAT_BUSY.
 */
export function chooseTuple(svc: usize, c: usize, rs: u32, rip: u32, rip6: usize, rportRaw: u32, proto: u32, cli: usize,
  cliV6: bool, cports: u32, hintLip: u32, hintPortWire: u32, now: u32): u32 {
  const r = rsAddress(rs);
  if (hintLip != NO_LIP && tupleFree(rip, rip6, hintLip, rportRaw | (hintPortWire << 16), proto, cli, cliV6, cports, now)) {
    holdTuple(c, hintLip, hintPortWire, r);
    count(STAT_FNAT_REUSED, 1);
    return 0;
  }
  const n = <u32>load<u16>(svc + SVC_POOL_COUNT);
  const first = load<u32>(svc + SVC_POOL_FIRST);
  const list = <usize>hdr(HDR_POOL_BASE);
  let k = <u32>load<u16>(svc + SVC_POOL_CURSOR);
  if (k >= n) k = 0;
  let capacity: u32 = 0;
  for (let tries: u32 = 0; tries < n; tries++) {
    const lip = <u32>load<u16>(list + ((first + k) << 1));
    k = k + 1 == n ? 0 : k + 1;
    const l = lipAddress(lip);
    const lipAddr = load<u32>(l + LIP_ADDR);
    let min = <u32>load<u16>(l + LIP_PORT_MIN);
    const max = <u32>load<u16>(l + LIP_PORT_MAX);
    if (min == 0) min = 1;
    if (lipAddr == 0 || max < min) continue;
    const size = max - min + 1;
    capacity += size;
    let p = load<u32>(l + LIP_CURSOR);
    if (p < min || p > max) p = min;
    const budget = size < FNAT_PROBES ? size : FNAT_PROBES;
    for (let j: u32 = 0; j < budget; j++) {
      const pw = bswap16(p);
      const next = p == max ? min : p + 1;
      if (tupleFree(rip, rip6, lip, rportRaw | (pw << 16), proto, cli, cliV6, cports, now)) {
        store<u32>(l + LIP_CURSOR, next);
        store<u16>(svc + SVC_POOL_CURSOR, <u16>k);
        holdTuple(c, lip, pw, r);
        return 0;
      }
      p = next;
    }
    // the next search on this LIP starts past the busy run
    store<u32>(l + LIP_CURSOR, p);
  }
  return load<u32>(r + RS_FNAT_HELD) >= capacity ? DROP_POOL_EXHAUSTED : DROP_FNAT_BUSY;
}
