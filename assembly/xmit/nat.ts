// nat.ts — LVS-NAT: DNAT VIP:vport -> RIP:rport on the way in; on the way out (the RS replies
// through the director, its gateway) SNAT RIP:rport -> VIP:vport. The client never sees the RIP.
import { CONN_CIP, CONN_CPORT, CONN_RIP, CONN_RPORT, CONN_VIP, CONN_VPORT } from '../abi';
import { IP_SRC } from '../wire';
import { rewriteTuple } from './rewrite';

// inlined: the per-packet path (hitFast, forward) calls these once a packet; a call each, with
// rewriteTuple's, cost the NAT hit about 10 % in bench:core
// @ts-ignore: decorator
@inline export function natIn(ip: usize, l4: usize, proto: u32, c: usize, partial: bool): void {
  const ports = <u32>load<u16>(l4) | (<u32>load<u16>(c + CONN_RPORT) << 16);
  rewriteTuple(ip, l4, proto, load<u32>(ip + IP_SRC), load<u32>(c + CONN_RIP), ports, partial);
}

/** natOut: a reply of NAT or Full-NAT alike leaves as VIP:vport -> CIP:cport */
// @ts-ignore: decorator
@inline export function natOut(ip: usize, l4: usize, proto: u32, c: usize, partial: bool): void {
  const ports = <u32>load<u16>(c + CONN_VPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16);
  rewriteTuple(ip, l4, proto, load<u32>(c + CONN_VIP), load<u32>(c + CONN_CIP), ports, partial);
}
