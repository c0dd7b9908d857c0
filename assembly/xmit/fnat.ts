// fnat.ts — Full-NAT: both ends rewritten. In: CIP:cport -> LIP:lport and VIP:vport ->
// RIP:rport, so the RS answers the LIP and the director need not be its gateway (plain routing,
// no shared VLAN). Out: RIP:rport -> VIP:vport and LIP:lport -> CIP:cport, the tuple a NAT reply
// leaves with too (natOut).
import { CONN_LIP, CONN_LPORT, CONN_RIP, CONN_RPORT } from '../abi';
import { rewriteTuple } from './rewrite';

// @ts-ignore: decorator
@inline export function fnatIn(ip: usize, l4: usize, proto: u32, c: usize, partial: bool): void {
  const ports = <u32>load<u16>(c + CONN_LPORT) | (<u32>load<u16>(c + CONN_RPORT) << 16);
  rewriteTuple(ip, l4, proto, load<u32>(c + CONN_LIP), load<u32>(c + CONN_RIP), ports, partial);
}
